"""How a merge moves rows, and how an unmerge puts them back: every row that changes hands is
listed in the merge (patient_merges.moves: [table, row id, column, old value]) with the kept
record's fields as they were (`before`), so an unmerge puts each event, contact point, record
number, appointment, consent and conversation back exactly. No events, no audit: the caller says
what happened (a staff merge in hub/patients/merge.py, a web-chat link in hub/webchat/visitors.py).

The merged record keeps the target's fields; a field the target lacks is taken from the source.
A consent the target already recorded for a channel wins: the source's stays with the source.
The source row stays (merged_into_id points at the target) so the trail can be followed; it leaves
the directory (no name terms) until it is unmerged.

An unmerge is refused (409) while a later merge involving either record still stands: that one is
undone first, newest first, since it may have moved the same rows or set the same fields. A field
staff changed on the kept record since the merge keeps its new value; a row deleted since (a contact
point removed) cannot come back and is listed in the answer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from hub.db.models import Base, Consent, Conversation, Patient, PatientMerge, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.i18n import _
from hub.patients.names import reindex_name
from hub.refusals import Refused

FIELDS = ("name", "date_of_birth", "preferred_language", "preferred_channel", "time_zone")
UPDATED = "updated_at"  # kept in `before` too: a record put back as it was was last changed when it was

# Rows that never change patient: history (the audit trail, the merges themselves), access granted to
# one record (a break-glass grant is no grant to another), and the name's search words (rebuilt).
KEEP = frozenset({"patients", "audit_log", "patient_merges", "break_glass", "patient_search_terms"})
_CHUNK = 500

NO_PATIENT = _("No patient {id} that you can see.")
SAME = _("A record cannot be merged with itself.")
ALREADY_MERGED = _("Patient {id} was merged into patient {into}: open that record instead.")
NO_MERGE = _("There is no merge {id}.")
UNDONE_ALREADY = _("Merge {id} was undone already.")
LATER_MERGE = _(
    "Merge {later} came after this one and involves the same records: undo merge {later} first, then this one."
)


def movable_tables() -> list[Table]:
    """Every table whose rows belong to a patient (new tables too) except those that never move."""
    return [t for t in Base.metadata.sorted_tables if t.name not in KEEP and "patient_id" in t.c]


def _key(table: Table) -> Any:
    (key,) = table.primary_key.columns  # a merge lists rows by their one-column key
    return key


def fields_of(p: Patient) -> dict[str, Any]:
    out = {f: getattr(p, f) for f in FIELDS}
    dob = out["date_of_birth"]
    out["date_of_birth"] = dob.isoformat() if isinstance(dob, date) else None
    return out


def merged_fields(target: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The kept record's fields after a merge: its own, and the source's where it has none."""
    return {f: target.get(f) if target.get(f) not in (None, "") else source.get(f) for f in FIELDS}


def _set_fields(p: Patient, values: dict[str, Any]) -> None:
    for f in FIELDS:
        value = values.get(f)
        setattr(p, f, date.fromisoformat(value) if f == "date_of_birth" and value else value)


def _chunks(ids: list[Any]) -> list[list[Any]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def check_pair(s: Session, source_id: int, target_id: int, lock: bool = True) -> tuple[Patient, Patient]:
    """Both records exist and are still records of their own; refuses (before anything is written).
    `lock`: in the writer, both rows are locked, lowest id first (PostgreSQL: two hub processes
    merging the same records take turns, and never wait for each other the other way round)."""
    if source_id == target_id:
        raise Refused(400, SAME)
    found = {}
    for pid in sorted((source_id, target_id)):
        p = s.get(Patient, pid, with_for_update=lock, populate_existing=lock)
        if p is None:
            raise Refused(404, NO_PATIENT, id=pid)
        if p.merged_into_id is not None:
            raise Refused(409, ALREADY_MERGED, id=pid, into=p.merged_into_id)
        found[pid] = p
    return found[source_id], found[target_id]


# --- moving rows ---------------------------------------------------------------------------------


def move_records(tx: Tx, source_id: int, target_id: int, agent_id: int | None, reason: str | None) -> PatientMerge:
    """Everything of `source` becomes `target`'s, each moved row listed; the target's fields
    filled from the source's where empty. Call check_pair first. No events: the caller says what
    happened (a staff merge, a web-chat link)."""
    s = tx.session
    src, dst = s.get(Patient, source_id), s.get(Patient, target_id)
    assert src is not None and dst is not None
    moves: list[list[Any]] = []
    owned = list(s.execute(select(Consent.channel).where(Consent.patient_id == target_id)).scalars())
    for table in movable_tables():
        key = _key(table)
        where = table.c.patient_id == source_id
        if table.name == Consent.__tablename__ and owned:
            where = where & table.c.channel.not_in(owned)
        ids = list(s.execute(select(key).where(where).order_by(key)).scalars())
        for chunk in _chunks(ids):
            s.execute(update(table).where(key.in_(chunk)).values(patient_id=target_id))
        moves.extend([table.name, i, "patient_id", source_id] for i in ids)
    before = fields_of(dst)
    previous = dst.updated_at
    now = utcnow()
    _set_fields(dst, merged_fields(before, fields_of(src)))
    if fields_of(dst) != before:
        dst.updated_at = now
    before[UPDATED] = previous.isoformat() if previous else None
    src.merged_into_id = target_id
    reindex_name(s, target_id, dst.name)
    reindex_name(s, source_id, None)  # a merged-away record leaves the directory
    row = PatientMerge(
        source_id=source_id,
        target_id=target_id,
        agent_id=agent_id,
        reason=reason,
        moves=moves,
        before=before,
        created_at=now,
    )
    s.add(row)
    s.flush()
    s.expire_all()  # relationships loaded before the bulk updates are stale now
    return row


class Restored(msgspec.Struct):
    moved_back: int
    missing: list[list[Any]]  # [table, row id]: deleted since the merge, so not put back
    kept_fields: list[str]  # fields of the kept record changed since the merge: their new value stays
    conversations: list[int]  # the source's conversations, back with it


def later_merge(s: Session, merge: PatientMerge) -> int | None:
    """A merge after this one, still standing, that involves either record."""
    both = (merge.source_id, merge.target_id)
    return s.execute(
        select(PatientMerge.id)
        .where(
            PatientMerge.id > merge.id,
            PatientMerge.undone_at.is_(None),
            PatientMerge.source_id.in_(both) | PatientMerge.target_id.in_(both),
        )
        .order_by(PatientMerge.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_undo(s: Session, merge_id: int) -> PatientMerge:
    merge = s.get(PatientMerge, merge_id, with_for_update=True)
    if merge is None:
        raise Refused(404, NO_MERGE, id=merge_id)
    for pid in sorted((merge.source_id, merge.target_id)):  # as a merge locks them
        s.get(Patient, pid, with_for_update=True)
    if merge.undone_at is not None:
        raise Refused(409, UNDONE_ALREADY, id=merge_id)
    later = later_merge(s, merge)
    if later is not None:
        raise Refused(409, LATER_MERGE, later=later)
    return merge


def restore_records(tx: Tx, merge: PatientMerge, agent_id: int | None) -> Restored:
    """Put every row the merge moved back where it was, and the kept record's fields as they were.
    Call check_undo first."""
    s = tx.session
    source_id, target_id = merge.source_id, merge.target_id
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    by_table: dict[tuple[str, str, Any], list[Any]] = defaultdict(list)
    for table, row_id, column, old in merge.moves:
        by_table[(table, column, old)].append(row_id)
    moved_back, missing = 0, []
    for (name, column, old), ids in by_table.items():
        table = tables[name]
        key = _key(table)
        present: set[Any] = set()
        for chunk in _chunks(ids):
            present.update(s.execute(select(key).where(key.in_(chunk))).scalars())
            result = s.execute(update(table).where(key.in_(chunk), table.c[column] == target_id).values({column: old}))
            moved_back += result.rowcount or 0
        missing.extend([name, i] for i in ids if i not in present)
    gone = {(name, i) for name, i in missing}
    conversations = sorted(
        i for name, i, *_rest in merge.moves if name == Conversation.__tablename__ and (name, i) not in gone
    )
    _follow_conversations(s, conversations, source_id, target_id)
    src, dst = s.get(Patient, source_id), s.get(Patient, target_id)
    assert src is not None and dst is not None
    before = merge.before or {}
    after = merged_fields(before, fields_of(src))
    now_fields, kept = fields_of(dst), []
    restored = dict(now_fields)
    for f in FIELDS:
        if now_fields.get(f) == after.get(f):
            restored[f] = before.get(f)
        else:
            kept.append(f)
    if restored != now_fields:
        _set_fields(dst, restored)
        when = before.get(UPDATED)
        exact = not kept and UPDATED in before
        dst.updated_at = (datetime.fromisoformat(when) if when else None) if exact else utcnow()
    src.merged_into_id = None
    reindex_name(s, target_id, dst.name)
    reindex_name(s, source_id, src.name)
    merge.undone_at, merge.undone_by = utcnow(), agent_id
    s.flush()
    s.expire_all()
    return Restored(moved_back, missing, kept, conversations)


def _follow_conversations(s: Session, conversations: list[int], source_id: int, target_id: int) -> None:
    """What was added to the source's conversations while they were the target's (a message, a
    notice of the merge itself) goes back with them: a conversation's rows are one patient's."""
    if not conversations:
        return
    seqs = select(TimelineEvent.seq).where(TimelineEvent.conversation_id.in_(conversations)).scalar_subquery()
    for table in movable_tables():
        if table.name == Conversation.__tablename__:
            continue
        if "conversation_id" in table.c:
            s.execute(
                update(table)
                .where(table.c.conversation_id.in_(conversations), table.c.patient_id == target_id)
                .values(patient_id=source_id)
            )
        elif "message_seq" in table.c:
            s.execute(
                update(table)
                .where(table.c.message_seq.in_(seqs), table.c.patient_id == target_id)
                .values(patient_id=source_id)
            )

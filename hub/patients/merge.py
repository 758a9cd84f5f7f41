"""Staff merges and unmerges of two records of one person: checked, moved, told (the rows move as
hub/patients/merge_rows.py says, which also says what an unmerge can and cannot put back).

Who: supervisors and admins. A merge pours one record's whole history into another's; done wrong,
one patient reads another's messages (and an agent may reach a record they were not meant to).
It needs someone who sees every conversation, so they can judge both records in full, and it is
audited on both records. Web-chat identity linking (hub/webchat/visitors.py) merges the same way,
with no staff member: a visitor who proved a phone or email joins the record that owns it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.agents.roles import Principal
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import ContactPoint, Conversation
from hub.db.writer import Tx
from hub.events import AuthorType, ConversationStatus, EventKind, VisitorLinkedSignal
from hub.patients.merge_rows import check_pair, check_undo, move_records, restore_records
from hub.refusals import one_by_one
from hub.timeline.append import append_event

VISITOR_KINDS = ("webchat", "portal")  # a web-chat visitor's own contact points: their widget follows


class MergeCommand(msgspec.Struct, frozen=True):
    source_id: int
    target_id: int
    by: Principal
    origin: Origin
    reason: str | None = None


class UnmergeCommand(msgspec.Struct, frozen=True):
    merge_id: int
    by: Principal
    origin: Origin


class MergeDone(msgspec.Struct):
    merge_id: int
    source_id: int
    target_id: int
    moved: dict[str, int]  # rows per table
    signals: list[VisitorLinkedSignal] = []  # for the visitors' widgets, after commit


class UnmergeDone(msgspec.Struct):
    merge_id: int
    source_id: int
    target_id: int
    moved_back: int
    missing: list[list[Any]]
    kept_fields: list[str]
    signals: list[VisitorLinkedSignal] = []


def _visitor_signals(s: Session, point_ids: list[int], patient_id: int) -> list[VisitorLinkedSignal]:
    if not point_ids:
        return []
    rows = s.execute(
        select(ContactPoint.kind, ContactPoint.address).where(
            ContactPoint.id.in_(point_ids), ContactPoint.kind.in_(VISITOR_KINDS)
        )
    ).all()
    return [VisitorLinkedSignal(kind, address, patient_id) for kind, address in rows]


def _latest_conversation(s: Session, patient_id: int, but: list[int]) -> Conversation | None:
    return s.execute(
        select(Conversation)
        .where(Conversation.patient_id == patient_id, Conversation.id.not_in(but or [0]))
        .order_by((Conversation.status != ConversationStatus.RESOLVED).desc(), Conversation.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _tell(tx: Tx, kind: EventKind, by: Principal, conversations: list[int], also: int, data: dict[str, Any]) -> None:
    """A notice in each conversation that changed patient (its frame carries the new patient, so
    open inboxes follow), and in the kept record's latest other conversation."""
    s = tx.session
    convs = [c for c in (s.get(Conversation, i) for i in conversations) if c is not None]
    latest = _latest_conversation(s, also, conversations)
    for conv in [*convs, *([latest] if latest else [])]:
        append_event(
            tx, conv, kind, author_type=AuthorType.AGENT, author_id=by.id, author_name=by.display_name, data=data
        )


def _merge(tx: Tx, cmd: MergeCommand) -> MergeDone:
    check_pair(tx.session, cmd.source_id, cmd.target_id)
    row = move_records(tx, cmd.source_id, cmd.target_id, cmd.by.id, cmd.reason)
    counts: dict[str, int] = defaultdict(int)
    for name, *_rest in row.moves:
        counts[name] += 1
    conversations = [i for name, i, *_rest in row.moves if name == Conversation.__tablename__]
    points = [i for name, i, *_rest in row.moves if name == ContactPoint.__tablename__]
    data = {"merge_id": row.id, "source_id": cmd.source_id, "target_id": cmd.target_id, "moved": len(row.moves)}
    _tell(tx, EventKind.PATIENT_MERGED, cmd.by, conversations, cmd.target_id, data)
    detail = {"merge_id": row.id, "source_id": cmd.source_id, "target_id": cmd.target_id, "moved": dict(counts)}
    for pid in (cmd.target_id, cmd.source_id):
        add_audit(tx, AuditRecord(AuditAction.MERGE, cmd.by.id, cmd.origin, pid, detail=detail))
    signals = _visitor_signals(tx.session, points, cmd.target_id)
    return MergeDone(row.id, cmd.source_id, cmd.target_id, dict(counts), signals)


def _unmerge(tx: Tx, cmd: UnmergeCommand) -> UnmergeDone:
    merge = check_undo(tx.session, cmd.merge_id)
    source_id, target_id = merge.source_id, merge.target_id
    points = [i for name, i, *_rest in merge.moves if name == ContactPoint.__tablename__]
    done = restore_records(tx, merge, cmd.by.id)
    data = {"merge_id": cmd.merge_id, "source_id": source_id, "target_id": target_id, "moved": done.moved_back}
    _tell(tx, EventKind.PATIENT_UNMERGED, cmd.by, done.conversations, target_id, data)
    detail = {**data, "missing": done.missing, "kept_fields": done.kept_fields}
    for pid in (target_id, source_id):
        add_audit(tx, AuditRecord(AuditAction.UNMERGE, cmd.by.id, cmd.origin, pid, detail=detail))
    signals = _visitor_signals(tx.session, points, source_id)
    return UnmergeDone(cmd.merge_id, source_id, target_id, done.moved_back, done.missing, done.kept_fields, signals)


do_merges = one_by_one(_merge)
do_unmerges = one_by_one(_unmerge)

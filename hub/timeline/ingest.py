"""Ingest: a normalised inbound message lands in its patient's timeline exactly once.

check_inbound validates and normalises in the request (no I/O); ingest_batch runs inside
the writer's group commit and handles a whole batch with a fixed number of statements:
known provider ids, contact points, open conversations, one multi-row insert of events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import msgspec
from sqlalchemy import bindparam, insert, select, update

from channels.base import InboundMessage
from hub.csat.inbound import answering
from hub.db.models import Agent, ContactPoint, Conversation, Patient, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, ConversationStatus, EventKind, Published, checked_data
from hub.media.queue import attach_media
from hub.patients.contacts import normalise
from hub.patients.names import index_new_names
from hub.search.fold import searchable
from hub.timeline.views import conversation_out, event_out, preview, stream_frame


class IngestResult(msgspec.Struct):
    seq: int
    patient_id: int
    conversation_id: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class CheckedInbound:
    msg: InboundMessage
    kind: str
    address: str  # normalised
    first_handler: str = "agent"  # who answers a conversation this message opens: "bot" or "agent"

    @property
    def key(self) -> tuple[str, str]:
        return (self.msg.channel, self.msg.provider_message_id)


def check_inbound(msg: InboundMessage, default_region: str, first_handler: str = "agent") -> CheckedInbound:
    """Normalise the sender's address; raises InvalidContact with a clear message. A conversation
    this message opens is answered first by `first_handler` (settings.bot.first_handler)."""
    address = normalise(msg.sender.kind, msg.sender.address, default_region)
    return CheckedInbound(msg, msg.sender.kind, address, first_handler)


def ingest_batch(tx: Tx, items: list[CheckedInbound]) -> list[IngestResult]:
    s = tx.session
    results: dict[int, IngestResult] = {}

    # 1. Messages we already hold (a provider retrying) answer with the stored event.
    known: dict[tuple[str, str], IngestResult] = {}
    ids_by_channel: dict[str, set[str]] = defaultdict(set)
    for it in items:
        ids_by_channel[it.msg.channel].add(it.msg.provider_message_id)
    for channel, ids in ids_by_channel.items():
        rows = s.execute(_KNOWN, {"channel": channel, "ids": list(ids)})
        for pid, seq, patient_id, conv_id in rows:
            known[(channel, pid)] = IngestResult(seq, patient_id, conv_id, True)

    fresh: list[int] = []
    first_of: dict[tuple[str, str], int] = {}
    for i, it in enumerate(items):
        if it.key in known:
            results[i] = known[it.key]
        elif it.key not in first_of:
            first_of[it.key] = i
            fresh.append(i)

    if fresh:
        _store_fresh(tx, items, fresh, results)

    out: list[IngestResult] = []
    for i, it in enumerate(items):
        if i not in results:  # a repeat of an earlier item in this same batch
            first = results[first_of[it.key]]
            results[i] = IngestResult(first.seq, first.patient_id, first.conversation_id, True)
        out.append(results[i])
    return out


def _store_fresh(tx: Tx, items: list[CheckedInbound], fresh: list[int], results: dict[int, IngestResult]) -> None:
    # Core statements, not ORM units of work: this is the hot path, and a batch of any size
    # costs the same handful of round trips.
    s = tx.session
    now = utcnow()

    # 2. Patients by contact point; a new address is a new patient.
    by_kind: dict[str, set[str]] = defaultdict(set)
    for i in fresh:
        by_kind[items[i].kind].add(items[i].address)
    rows = [
        row
        for kind, addresses in by_kind.items()
        for row in s.execute(_CONTACTS, {"kind": kind, "addresses": list(addresses)})
    ]
    # (kind, address) -> (patient id, name to show, contact point id)
    patients: dict[tuple[str, str], tuple[int, str, int]] = {
        (k, a): (pid, name or a, cp) for k, a, pid, name, cp in rows
    }
    new: dict[tuple[str, str], CheckedInbound] = {}
    for i in fresh:
        key = (items[i].kind, items[i].address)
        if key not in patients:
            new.setdefault(key, items[i])
    if new:
        ids = (
            (
                s.execute(
                    insert(PATIENTS).returning(PATIENTS.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "name": it.msg.sender.name,
                            "preferred_language": it.msg.language,
                            "preferred_channel": it.msg.channel,
                            "created_at": now,
                        }
                        for it in new.values()
                    ],
                )
            )
            .scalars()
            .all()
        )
        points = (
            s.execute(
                insert(CP).returning(CP.c.id, sort_by_parameter_order=True),
                [
                    {"patient_id": pid, "kind": k, "address": a, "verified": False, "created_at": now}
                    for (k, a), pid in zip(new, ids, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        for (key, it), pid, cp in zip(new.items(), ids, points, strict=True):
            patients[key] = (pid, it.msg.sender.name or key[1], cp)
        index_new_names(s, [(pid, it.msg.sender.name) for it, pid in zip(new.values(), ids, strict=True)])

    # 3. Each patient's open conversation (the latest unresolved one), else a new one.
    patient_ids = {patients[(items[i].kind, items[i].address)][0] for i in fresh}
    rows = s.execute(_OPEN_CONVERSATIONS, {"patient_ids": list(patient_ids)})
    conversations: dict[int, dict[str, Any]] = {}
    for row in rows:
        conversations[row.patient_id] = dict(row._mapping)  # ordered by id: the latest wins
    # A score answering the satisfaction question joins the resolved conversation that asked it.
    first: dict[int, tuple[str, str | None]] = {}
    for i in fresh:
        pid = patients[(items[i].kind, items[i].address)][0]
        if pid not in conversations:
            first.setdefault(pid, (items[i].msg.channel, items[i].msg.text))
    if first and (asked := answering(s, first, now)):
        for row in s.execute(_ASKED_CONVERSATIONS, {"ids": list(asked.values())}):
            conversations[row.patient_id] = dict(row._mapping)
    opening: dict[int, CheckedInbound] = {}
    for i in fresh:
        pid = patients[(items[i].kind, items[i].address)][0]
        if pid not in conversations:
            opening.setdefault(pid, items[i])
    if opening:
        values = [
            {
                "patient_id": pid,
                "status": ConversationStatus.OPEN,
                "handler": it.first_handler,
                "priority": 0,
                "channel": it.msg.channel,
                "opened_at": now,
                "last_event_seq": 0,
                "assignee_id": None,
                "team_id": None,
                "first_response_at": None,
                "resolved_at": None,
                "queued_at": None,
                "language": it.msg.language,
                "verified_at": None,
                "urgent_since": None,
                "escalation": 0,
                "snoozed_until": None,
            }
            for pid, it in opening.items()
        ]
        ids = (
            (s.execute(insert(CONVERSATIONS).returning(CONVERSATIONS.c.id, sort_by_parameter_order=True), values))
            .scalars()
            .all()
        )
        for v, cid in zip(values, ids, strict=True):
            conversations[v["patient_id"]] = {**v, "id": cid, "assignee_name": None}

    # 4. The events, with sequence numbers handed out in commit order.
    seqs = tx.allocate_seqs(len(fresh))
    events = []
    woken: list[tuple[dict[str, Any], Any]] = []  # snoozed conversations the patient wrote in
    for seq, i in zip(seqs, fresh, strict=True):
        it = items[i]
        pid, _name, point = patients[(it.kind, it.address)]
        conv = conversations[pid]
        attachments = msgspec.to_builtins(it.msg.attachments)
        # `via`: the contact point it came from, where replies on its channel go back to.
        data: dict[str, Any] = {"via": point}
        if it.msg.sent_at:
            data["sent_at"] = it.msg.sent_at.isoformat()
        events.append(
            {
                "seq": seq,
                "conversation_id": conv["id"],
                "patient_id": pid,
                "kind": EventKind.MESSAGE_IN,
                "channel": it.msg.channel,
                "author_type": AuthorType.PATIENT,
                "author_id": None,
                "text": it.msg.text,
                "search_text": searchable(it.msg.text),
                "attachments": attachments,
                "provider_message_id": it.msg.provider_message_id,
                "data": checked_data(EventKind.MESSAGE_IN, data),
                "created_at": now,
            }
        )
        conv.update(
            last_event_seq=seq,
            last_message_at=now,
            last_inbound_at=now,
            last_inbound_channel=it.msg.channel,
            preview=preview(it.msg.text, attachments),
        )
        if conv["status"] == ConversationStatus.PENDING:
            conv["status"] = ConversationStatus.OPEN  # the patient wrote back
        if conv.get("snoozed_until") is not None:  # the patient wrote: it comes back at once
            woken.append((conv, conv["snoozed_until"]))
            conv["snoozed_until"] = None
        results[i] = IngestResult(seq, pid, conv["id"], False)
    for (conv, until), seq in zip(woken, tx.allocate_seqs(len(woken)), strict=True):
        events.append(
            {
                "seq": seq,
                "conversation_id": conv["id"],
                "patient_id": conv["patient_id"],
                "kind": EventKind.SNOOZE_ENDED,
                "channel": None,
                "author_type": AuthorType.SYSTEM,
                "author_id": None,
                "text": None,
                "search_text": None,
                "attachments": [],
                "provider_message_id": None,
                "data": checked_data(EventKind.SNOOZE_ENDED, {"reason": "patient_wrote", "until": until.isoformat()}),
                "created_at": now,
            }
        )
        conv["last_event_seq"] = seq
    s.execute(insert(EVENTS), events)
    attach_media(tx, events)  # media the hub fetches itself: queued with their messages
    touched = {e["patient_id"]: conversations[e["patient_id"]] for e in events}.values()
    s.execute(_TOUCH_CONVERSATION, [{"b_id": c["id"], **{f"b_{k}": c[k] for k in _TOUCHED}} for c in touched])

    # 5. After commit, agents see each event with its conversation's new state.
    names = {pid: name for pid, name, _point in patients.values()}
    for e in events:
        conv = conversations[e["patient_id"]]
        tx.publish_after_commit(
            Published(
                frame=stream_frame(
                    event_out(SimpleNamespace(**e)),
                    conversation_out(SimpleNamespace(**conv), names[e["patient_id"]], conv["assignee_name"]),
                ),
                team_id=conv["team_id"],
                assignee_id=conv["assignee_id"],
            )
        )


CP, PATIENTS = ContactPoint.__table__, Patient.__table__
CONVERSATIONS, EVENTS, AGENTS = Conversation.__table__, TimelineEvent.__table__, Agent.__table__
_TOUCHED = (
    "last_event_seq",
    "last_message_at",
    "last_inbound_at",
    "last_inbound_channel",
    "preview",
    "status",
    "snoozed_until",
)

# Built once: expanding IN parameters keep each statement's compiled form cached, instead of
# coercing every value of every batch into a fresh expression.
_KNOWN = select(EVENTS.c.provider_message_id, EVENTS.c.seq, EVENTS.c.patient_id, EVENTS.c.conversation_id).where(
    EVENTS.c.channel == bindparam("channel"),
    EVENTS.c.kind == EventKind.MESSAGE_IN,
    EVENTS.c.provider_message_id.in_(bindparam("ids", expanding=True)),
)
_CONTACTS = (
    select(CP.c.kind, CP.c.address, PATIENTS.c.id, PATIENTS.c.name, CP.c.id)
    .join(PATIENTS, PATIENTS.c.id == CP.c.patient_id)
    .where(CP.c.kind == bindparam("kind"), CP.c.address.in_(bindparam("addresses", expanding=True)))
)
_OPEN_CONVERSATIONS = (
    select(CONVERSATIONS, AGENTS.c.display_name.label("assignee_name"))
    .outerjoin(AGENTS, AGENTS.c.id == CONVERSATIONS.c.assignee_id)
    .where(
        CONVERSATIONS.c.patient_id.in_(bindparam("patient_ids", expanding=True)),
        CONVERSATIONS.c.status != ConversationStatus.RESOLVED,
    )
    .order_by(CONVERSATIONS.c.id)
)
_ASKED_CONVERSATIONS = (
    select(CONVERSATIONS, AGENTS.c.display_name.label("assignee_name"))
    .outerjoin(AGENTS, AGENTS.c.id == CONVERSATIONS.c.assignee_id)
    .where(CONVERSATIONS.c.id.in_(bindparam("ids", expanding=True)))
)
_TOUCH_CONVERSATION = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in _TOUCHED})
)

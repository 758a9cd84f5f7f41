"""Ingest: a normalised inbound message lands in its patient's timeline exactly once.

check_inbound validates and normalises in the request (no I/O); ingest_batch runs inside
the writer's group commit and handles a whole batch with a fixed number of statements:
known provider ids, contact points, open conversations, one multi-row insert of events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import msgspec
from sqlalchemy import and_, insert, or_, select

from channels.base import InboundMessage
from hub.db.models import Agent, ContactPoint, Conversation, Patient, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, ConversationStatus, EventFrame, EventKind, Published
from hub.patients.contacts import normalise
from hub.timeline.views import conversation_out, event_out, preview


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

    @property
    def key(self) -> tuple[str, str]:
        return (self.msg.channel, self.msg.provider_message_id)


def check_inbound(msg: InboundMessage, default_region: str) -> CheckedInbound:
    """Normalise the sender's address; raises InvalidContact with a clear message."""
    return CheckedInbound(msg, msg.sender.kind, normalise(msg.sender.kind, msg.sender.address, default_region))


async def ingest_batch(tx: Tx, items: list[CheckedInbound]) -> list[IngestResult]:
    s = tx.session
    results: dict[int, IngestResult] = {}

    # 1. Messages we already hold (a provider retrying) answer with the stored event.
    known: dict[tuple[str, str], IngestResult] = {}
    ids_by_channel: dict[str, set[str]] = defaultdict(set)
    for it in items:
        ids_by_channel[it.msg.channel].add(it.msg.provider_message_id)
    for channel, ids in ids_by_channel.items():
        rows = await s.execute(
            select(TimelineEvent.provider_message_id, TimelineEvent.seq, TimelineEvent.patient_id,
                   TimelineEvent.conversation_id).where(
                TimelineEvent.channel == channel, TimelineEvent.provider_message_id.in_(ids)
            )
        )
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
        await _store_fresh(tx, items, fresh, results)

    out: list[IngestResult] = []
    for i, it in enumerate(items):
        if i not in results:  # a repeat of an earlier item in this same batch
            first = results[first_of[it.key]]
            results[i] = IngestResult(first.seq, first.patient_id, first.conversation_id, True)
        out.append(results[i])
    return out


async def _store_fresh(tx: Tx, items: list[CheckedInbound], fresh: list[int], results: dict[int, IngestResult]) -> None:
    s = tx.session
    now = utcnow()

    # 2. Patients by contact point; a new address is a new patient.
    by_kind: dict[str, set[str]] = defaultdict(set)
    for i in fresh:
        by_kind[items[i].kind].add(items[i].address)
    rows = await s.execute(
        select(ContactPoint.kind, ContactPoint.address, Patient)
        .join(Patient, Patient.id == ContactPoint.patient_id)
        .where(or_(*(and_(ContactPoint.kind == k, ContactPoint.address.in_(a)) for k, a in by_kind.items())))
    )
    patients: dict[tuple[str, str], Patient] = {(k, a): p for k, a, p in rows}
    new_contacts: list[tuple[tuple[str, str], Patient]] = []
    for i in fresh:
        it = items[i]
        ck = (it.kind, it.address)
        if ck not in patients:
            patient = Patient(name=it.msg.sender.name, preferred_language=it.msg.language,
                              preferred_channel=it.msg.channel, created_at=now)
            patients[ck] = patient
            new_contacts.append((ck, patient))
    if new_contacts:
        s.add_all([p for _, p in new_contacts])
        await s.flush()
        s.add_all([ContactPoint(patient_id=p.id, kind=k, address=a, created_at=now) for (k, a), p in new_contacts])

    # 3. Each patient's open conversation (the latest unresolved one), else a new one.
    patient_ids = {patients[(items[i].kind, items[i].address)].id for i in fresh}
    rows = await s.execute(
        select(Conversation, Agent.display_name)
        .outerjoin(Agent, Agent.id == Conversation.assignee_id)
        .where(Conversation.patient_id.in_(patient_ids), Conversation.status != ConversationStatus.RESOLVED)
        .order_by(Conversation.id)
    )
    conversations: dict[int, Conversation] = {}
    assignee_names: dict[int, str | None] = {}
    for conv, assignee_name in rows:
        conversations[conv.patient_id] = conv  # ordered by id: the latest wins
        assignee_names[conv.id] = assignee_name
    opened = []
    for i in fresh:
        it = items[i]
        pid = patients[(it.kind, it.address)].id
        if pid not in conversations:
            conv = Conversation(patient_id=pid, status=ConversationStatus.OPEN, handler="agent", priority=0,
                                channel=it.msg.channel, opened_at=now, last_event_seq=0)
            conversations[pid] = conv
            opened.append(conv)
    if opened:
        s.add_all(opened)
        await s.flush()

    # 4. The events, with sequence numbers handed out in commit order.
    seqs = await tx.allocate_seqs(len(fresh))
    rows_out = []
    for seq, i in zip(seqs, fresh, strict=True):
        it = items[i]
        patient = patients[(it.kind, it.address)]
        conv = conversations[patient.id]
        attachments = msgspec.to_builtins(it.msg.attachments)
        event = TimelineEvent(
            seq=seq, conversation_id=conv.id, patient_id=patient.id, kind=EventKind.MESSAGE_IN,
            channel=it.msg.channel, author_type=AuthorType.PATIENT, author_id=None, text=it.msg.text,
            attachments=attachments, provider_message_id=it.msg.provider_message_id,
            data={"sent_at": it.msg.sent_at.isoformat()} if it.msg.sent_at else {}, created_at=now,
        )
        rows_out.append(event)
        conv.last_event_seq = seq
        conv.last_message_at = now
        conv.last_inbound_at = now
        conv.last_inbound_channel = it.msg.channel
        conv.preview = preview(it.msg.text, attachments)
        if conv.status == ConversationStatus.PENDING:
            conv.status = ConversationStatus.OPEN  # the patient wrote back
        results[i] = IngestResult(seq, patient.id, conv.id, False)
    await s.execute(insert(TimelineEvent), [_row(e) for e in rows_out])
    await s.flush()

    # 5. After commit, agents see each event with its conversation's new state.
    names = {p.id: p.name or address for (_, address), p in patients.items()}
    for e in rows_out:
        conv = conversations[e.patient_id]
        tx.publish_after_commit(
            Published(
                frame=EventFrame(
                    seq=e.seq, event=event_out(e),
                    conversation=conversation_out(conv, names[e.patient_id], assignee_names.get(conv.id)),
                ),
                team_id=conv.team_id,
                assignee_id=conv.assignee_id,
            )
        )


_COLUMNS = [c.key for c in TimelineEvent.__table__.columns]


def _row(e: TimelineEvent) -> dict[str, object]:
    return {c: getattr(e, c) for c in _COLUMNS}

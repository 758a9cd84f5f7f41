"""Delivered and read, both ways.

Staff -> visitor: a reply on web chat is `sent` once stored (the widget can fetch it); the
widget reports `delivered` when it has shown it and `read` when the visitor had it in view.
These are delivery reports like any provider's, so they only move forward and each is a
timeline event.

Visitor -> staff: the inbox reports how far staff have read a conversation; the visitor's
widget shows "Read" up to there. Kept per conversation, not per message.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.agents.roles import Principal
from hub.db.models import Agent, Conversation, TimelineEvent
from hub.db.writer import Tx
from hub.events import EventKind, ReadSignal, TimelineEventOut
from hub.i18n import _
from hub.refusals import Refused, one_by_one
from hub.timeline.append import webchat_recipient
from hub.timeline.delivery import DeliveryReport, moves_forward, record_delivery_batch
from hub.timeline.reads import visible
from hub.timeline.views import SHOWN_COLUMNS, event_out

WEBCHAT = "webchat"
RECEIPT_WINDOW = 50  # a receipt covers at most the visitor's latest replies; older ones were settled before


class StaffRead(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    upto: int


def mark_one_read(tx: Tx, item: StaffRead) -> ReadSignal | None:
    """Move a conversation's read position forward; the signal tells the patient's widget."""
    conv = tx.session.execute(
        select(Conversation).where(Conversation.id == item.conversation_id, visible(item.by)).with_for_update()
    ).scalar_one_or_none()
    if conv is None:
        raise Refused(404, _("No conversation {id} that you can see."), id=item.conversation_id)
    upto = min(item.upto, conv.last_event_seq)
    if upto <= conv.agent_read_seq:
        return None
    conv.agent_read_seq = upto
    return ReadSignal(conv.patient_id, upto, webchat_recipient(tx.session, conv.id, conv.patient_id))


mark_read = one_by_one(mark_one_read)


class VisitorReceipt(msgspec.Struct, frozen=True):
    patient_id: int
    point_id: int | None  # an anonymous visitor: only the replies addressed to them
    status: Literal["delivered", "read"]
    upto: int


def record_visitor_receipts(tx: Tx, items: list[VisitorReceipt]) -> list[int]:
    """Replies on web chat up to `upto` reached the visitor (or were read): how many moved."""
    out = []
    for item in items:
        rows = tx.session.execute(
            select(TimelineEvent.seq, TimelineEvent.data)
            .where(
                TimelineEvent.patient_id == item.patient_id,
                TimelineEvent.kind == EventKind.MESSAGE_OUT,
                TimelineEvent.channel == WEBCHAT,
                TimelineEvent.seq <= item.upto,
                *_chat_of(item.point_id),
            )
            .order_by(TimelineEvent.seq.desc())
            .limit(RECEIPT_WINDOW)
        ).all()
        reports = [
            (WEBCHAT, DeliveryReport(status=item.status, message_seq=seq))
            for seq, data in reversed(rows)
            if moves_forward((data or {}).get("status"), item.status)
        ]
        results = record_delivery_batch(tx, reports) if reports else []
        out.append(sum(1 for r in results if not isinstance(r, Exception) and r.applied))
    return out


def _chat_of(point_id: int | None) -> list[ColumnElement[bool]]:
    """In SQL, the rule of hub.webchat.frames.visitor_frame: an anonymous visitor's chat is
    what they wrote from their contact point and the replies addressed to it. None: a portal user,
    all of it."""
    if point_id is None:
        return []
    return [
        or_(
            _point_at("via", EventKind.MESSAGE_IN) == point_id,
            _point_at("to", EventKind.MESSAGE_OUT) == point_id,
        )
    ]


def _point_at(key: str, kind: EventKind) -> ColumnElement[int]:
    """The contact point id under data[key] of events of `kind`. The cast is read only for that kind
    (CASE): other events keep text under the same keys, which PostgreSQL could not cast."""
    return case((TimelineEvent.kind == kind, TimelineEvent.data[key].as_integer()), else_=None)


async def visitor_events(
    s: AsyncSession, patient_id: int, after: int, limit: int, point_id: int | None = None
) -> list[TimelineEventOut]:
    """The patient's web-chat messages after `after`, the newest `limit` of them, oldest first;
    with `point_id`, only that visitor's chat."""
    events = TimelineEvent.__table__
    own = _chat_of(point_id)
    author = Agent.__table__.alias("author")
    rows = (
        await s.execute(
            select(*SHOWN_COLUMNS, author.c.display_name.label("author_name"))
            .outerjoin(author, (author.c.id == events.c.author_id) & (events.c.author_type == "agent"))
            .where(
                events.c.patient_id == patient_id,
                events.c.channel == WEBCHAT,
                events.c.kind.in_((EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT)),
                events.c.seq > after,
                *own,
            )
            .order_by(events.c.seq.desc())
            .limit(limit)
        )
    ).all()
    return [event_out(row, row.author_name) for row in reversed(rows)]


async def read_upto(s: AsyncSession, patient_id: int, point_id: int | None = None) -> int:
    """How far staff have read this patient's conversations (with `point_id`, those that visitor
    wrote in)."""
    where = [Conversation.patient_id == patient_id]
    if point_id is not None:
        wrote_in = select(TimelineEvent.conversation_id).where(
            TimelineEvent.patient_id == patient_id,
            TimelineEvent.kind == EventKind.MESSAGE_IN,
            _point_at("via", EventKind.MESSAGE_IN) == point_id,
        )
        where.append(Conversation.id.in_(wrote_in))
    value = (await s.execute(select(func.max(Conversation.agent_read_seq)).where(*where))).scalar_one_or_none()
    return int(value or 0)

"""Reads: who may see what, conversation lists, timelines, and the stream's backfill."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from hub.agents.roles import Principal
from hub.db.models import (
    Agent,
    ContactPoint,
    Conversation,
    Counter,
    Patient,
    TimelineEvent,
)
from hub.events import Circle, ConversationOut, EventFrame, TimelineEventOut
from hub.timeline.views import SHOWN_COLUMNS, conversation_out, event_out, stream_frame


def visible(principal: Principal) -> ColumnElement[bool]:
    """Conversations a staff member may see: supervisors and admins all; agents those of
    their teams, those with no team yet, those assigned to them, and an urgent one nobody has
    taken once its alert has gone to the whole floor (hub.realtime.fanout.may_see says the same)."""
    if principal.sees_everything:
        return true()
    return or_(
        Conversation.team_id.is_(None),
        Conversation.team_id.in_(principal.team_ids) if principal.team_ids else false(),
        Conversation.assignee_id == principal.id,
        Conversation.escalation >= Circle.FLOOR,
    )


async def last_seq(s: AsyncSession) -> int:
    return (await s.execute(select(Counter.value).where(Counter.name == "seq"))).scalar_one()


def _patient_label() -> Any:
    """A patient's display name: their name, else their first contact address."""
    first_address = (
        select(ContactPoint.address)
        .where(ContactPoint.patient_id == Patient.id)
        .order_by(ContactPoint.id)
        .limit(1)
        .scalar_subquery()
    )
    return Patient.name, first_address


def _conversation_query() -> Any:
    name, address = _patient_label()
    return (
        select(Conversation, name, address, Agent.display_name)
        .join(Patient, Patient.id == Conversation.patient_id)
        .outerjoin(Agent, Agent.id == Conversation.assignee_id)
    )


def _conv_row(row: Any) -> ConversationOut:
    conv, name, address, assignee = row
    return conversation_out(conv, name or address or f"Patient {conv.patient_id}", assignee)


def conversation_summary(s: Session, conv: Conversation) -> ConversationOut:
    """A conversation being changed in this transaction, as the stream shows it."""
    name, address = _patient_label()
    row = (
        s.execute(
            select(name, address, Agent.display_name)
            .select_from(Patient)
            .outerjoin(Agent, Agent.id == conv.assignee_id)
            .where(Patient.id == conv.patient_id)
        )
    ).one()
    return conversation_out(conv, row[0] or row[1] or f"Patient {conv.patient_id}", row[2])


async def list_conversations(
    s: AsyncSession, principal: Principal, statuses: list[str], mine: bool, limit: int
) -> list[ConversationOut]:
    """The newest `limit` conversations, and every urgent one nobody has taken among them however
    old: an inbox must never miss an emergency because it is below the fold."""
    where = [visible(principal), Conversation.status.in_(statuses), Conversation.snoozed_until.is_(None)]
    if mine:
        where.append(Conversation.assignee_id == principal.id)
    q = _conversation_query().where(*where).order_by(Conversation.last_event_seq.desc()).limit(limit)
    out = [_conv_row(r) for r in (await s.execute(q)).all()]
    shown = {c.id for c in out}
    urgent = _conversation_query().where(*where, Conversation.urgent_since.is_not(None)).order_by(Conversation.id)
    out += [c for c in map(_conv_row, (await s.execute(urgent.limit(500))).all()) if c.id not in shown]
    return out


async def get_conversation(s: AsyncSession, principal: Principal, conversation_id: int) -> ConversationOut | None:
    q = _conversation_query().where(Conversation.id == conversation_id, visible(principal))
    row = (await s.execute(q)).first()
    return _conv_row(row) if row else None


async def may_see_patient(s: AsyncSession, principal: Principal, patient_id: int) -> bool:
    if principal.sees_everything:
        q = select(exists().where(Patient.id == patient_id))
    else:
        q = select(exists().where(Conversation.patient_id == patient_id, visible(principal)))
    return bool((await s.execute(q)).scalar())


async def patient_timeline(
    s: AsyncSession, principal: Principal, patient_id: int, before: int | None, limit: int
) -> list[TimelineEventOut]:
    """The patient's last `limit` events (before `before`) across every channel and every
    conversation the principal may see, oldest first: the same events their stream carries."""
    events = TimelineEvent.__table__  # plain rows, not ORM objects: this is the hot read
    author = Agent.__table__.alias("author")
    q = (
        select(*SHOWN_COLUMNS, author.c.display_name.label("author_name"))
        .outerjoin(author, (author.c.id == events.c.author_id) & (events.c.author_type == "agent"))
        .where(events.c.patient_id == patient_id)
    )
    if not principal.sees_everything:
        q = q.join(Conversation, Conversation.id == events.c.conversation_id).where(visible(principal))
    if before is not None:
        q = q.where(events.c.seq < before)
    rows = (await s.execute(q.order_by(events.c.seq.desc()).limit(limit))).all()
    return [event_out(row, row.author_name) for row in reversed(rows)]


async def events_after(
    s: AsyncSession, principal: Principal | None, after: int, limit: int, upto: int | None = None
) -> list[EventFrame]:
    """Events after `after` (and up to `upto`) the principal may see (None: all), oldest
    first, each with its conversation's current state: what a reconnecting socket missed,
    or what a gap in the live feed lacked."""
    author = aliased(Agent)
    name, address = _patient_label()
    q = (
        select(TimelineEvent, author.display_name, Conversation, name, address, Agent.display_name)
        .join(Conversation, Conversation.id == TimelineEvent.conversation_id)
        .join(Patient, Patient.id == Conversation.patient_id)
        .outerjoin(Agent, Agent.id == Conversation.assignee_id)
        .outerjoin(author, (author.id == TimelineEvent.author_id) & (TimelineEvent.author_type == "agent"))
        .where(TimelineEvent.seq > after)
        .order_by(TimelineEvent.seq)
        .limit(limit)
    )
    if principal is not None:
        q = q.where(visible(principal))
    if upto is not None:
        q = q.where(TimelineEvent.seq <= upto)
    frames = []
    for e, author_name, conv, pname, paddress, assignee in (await s.execute(q)).all():
        frames.append(stream_frame(event_out(e, author_name), _conv_row((conv, pname, paddress, assignee))))
    return frames

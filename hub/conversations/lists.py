"""The inbox's views of the conversation list (open, waiting for me, mine, my team's, urgent, snoozed,
resolved, all), its filters (channel, team, language, status), keyset pages and counts per view.

Every query is within the staff member's reach (hub.timeline.reads.visible); the inbox draws the same
membership from each stream frame's conversation state (web/conversation-list.js, inView).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from hub.agents.roles import Principal
from hub.db.models import Conversation
from hub.events import ConversationOut, ConversationStatus
from hub.timeline.reads import _conv_row, _conversation_query, visible


class View(StrEnum):
    OPEN = "open"  # open and pending, not snoozed
    WAITING = "waiting"  # mine, and the patient wrote last: waiting for my reply
    MINE = "mine"  # assigned to me, open or pending, not snoozed
    TEAM = "team"  # my teams', open or pending, not snoozed
    URGENT = "urgent"  # a red flag nobody has taken yet
    SNOOZED = "snoozed"
    RESOLVED = "resolved"
    ALL = "all"


class StatusFilter(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Filters(msgspec.Struct, frozen=True):
    channel: str | None = None
    team_id: int | None = None
    language: str | None = None  # "es" also finds "es-MX"
    status: StatusFilter | None = None


ACTIVE = (ConversationStatus.OPEN, ConversationStatus.PENDING)


def in_view(view: View, me: Principal) -> ColumnElement[bool]:
    awake = Conversation.snoozed_until.is_(None)
    active = and_(Conversation.status.in_(ACTIVE), awake)
    mine = Conversation.assignee_id == me.id
    if view == View.OPEN:
        return active
    if view == View.WAITING:
        return and_(
            active,
            mine,
            Conversation.handler == "agent",
            Conversation.last_inbound_at.is_not(None),
            Conversation.last_inbound_at >= Conversation.last_message_at,
        )
    if view == View.MINE:
        return and_(active, mine)
    if view == View.TEAM:
        return and_(active, Conversation.team_id.in_(me.team_ids)) if me.team_ids else false()
    if view == View.URGENT:
        return and_(Conversation.urgent_since.is_not(None), Conversation.status != ConversationStatus.RESOLVED)
    if view == View.SNOOZED:
        return and_(Conversation.snoozed_until.is_not(None), Conversation.status != ConversationStatus.RESOLVED)
    if view == View.RESOLVED:
        return Conversation.status == ConversationStatus.RESOLVED
    return true()


def matching(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.channel:
        where.append(Conversation.channel == filters.channel)
    if filters.team_id is not None:
        where.append(Conversation.team_id == filters.team_id)
    if filters.language:
        lang, column = filters.language.lower(), func.lower(Conversation.language)
        where.append(or_(column == lang, column.like(f"{lang}-%")))
    if filters.status in (StatusFilter.OPEN, StatusFilter.PENDING):
        where.append(and_(Conversation.status == str(filters.status), Conversation.snoozed_until.is_(None)))
    elif filters.status == StatusFilter.SNOOZED:
        where.append(and_(Conversation.snoozed_until.is_not(None), Conversation.status != ConversationStatus.RESOLVED))
    elif filters.status == StatusFilter.RESOLVED:
        where.append(Conversation.status == ConversationStatus.RESOLVED)
    return where


async def list_view(
    s: AsyncSession, me: Principal, view: View, filters: Filters, before: int | None, limit: int
) -> tuple[list[ConversationOut], int | None]:
    """A page of the view, newest activity first, and the cursor of the next page (None: the last).
    The first page of a view that can hold urgent conversations also has every urgent one nobody has
    taken however old: an inbox must never miss an emergency because it is below the fold."""
    where = [visible(me), in_view(view, me), *matching(filters)]
    q = _conversation_query().where(*where)
    if before is not None:
        q = q.where(Conversation.last_event_seq < before)
    rows = (await s.execute(q.order_by(Conversation.last_event_seq.desc()).limit(limit + 1))).all()
    page = [_conv_row(r) for r in rows[:limit]]
    next_before = page[-1].last_event_seq if len(rows) > limit else None
    if before is None and view not in (View.RESOLVED, View.SNOOZED):
        shown = {c.id for c in page}
        urgent = q.where(Conversation.urgent_since.is_not(None)).order_by(Conversation.id).limit(500)
        page += [c for c in map(_conv_row, (await s.execute(urgent)).all()) if c.id not in shown]
    return page, next_before


async def view_counts(s: AsyncSession, me: Principal, filters: Filters) -> dict[str, int]:
    """How many conversations each view holds for this staff member, under the filters: one scan."""
    cols: list[Any] = [func.coalesce(func.sum(case((in_view(v, me), 1), else_=0)), 0).label(v.value) for v in View]
    row = (await s.execute(select(*cols).where(visible(me), *matching(filters)))).one()
    return {v.value: int(row._mapping[v.value]) for v in View}

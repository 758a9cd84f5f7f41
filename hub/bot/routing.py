"""Routing, inside the writer's transactions: a handed-off conversation joins its team's queue and
goes to an available agent who speaks the patient's language, fewest open conversations first,
within each agent's capacity; otherwise it waits, urgent ones first.

An agent is available when they said so in the inbox and their inbox is open (their live stream
keeps `last_seen_at` fresh). Each hand-off and assignment is a timeline event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select

from hub.db.models import Agent, Conversation, Team, agent_teams
from hub.db.types import utcnow
from hub.db.writer import Tx, takes_lock_first
from hub.events import AuthorType, ConversationStatus, EventKind, TimelineEventOut
from hub.timeline.append import append_event

PRESENCE = timedelta(minutes=3)  # an inbox that has not been seen for longer is closed
URGENT = 10
MINUTES_PER_PATIENT = 4  # for the wait estimate: a rough, honest number is better than none


class Queued(msgspec.Struct):
    """What the patient can be told while they wait."""

    position: int  # patients ahead of them in the team's queue
    wait_minutes: int
    agents_online: int


def team_by_key(tx: Tx, key: str) -> Team | None:
    return tx.session.execute(select(Team).where(Team.key == key)).scalar_one_or_none()


def _base(language: str | None) -> str | None:
    return language.split("-")[0].lower() if language else None


def available_agents(tx: Tx, team_id: int | None, now: datetime) -> list[Agent]:
    q = select(Agent).where(
        Agent.active.is_(True),
        Agent.available.is_(True),
        Agent.last_seen_at >= now - PRESENCE,
        Agent.role.in_(("agent", "supervisor")),
    )
    if team_id is not None:
        q = q.join(agent_teams, agent_teams.c.agent_id == Agent.id).where(agent_teams.c.team_id == team_id)
    return list(tx.session.execute(q.order_by(Agent.id)).scalars())


def open_load(tx: Tx, agent_ids: list[int]) -> dict[int, int]:
    if not agent_ids:
        return {}
    rows = tx.session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.assignee_id.in_(agent_ids), Conversation.status != ConversationStatus.RESOLVED)
        .group_by(Conversation.assignee_id)
    ).all()
    return {agent_id: n for agent_id, n in rows}


# Any constant: the key of the PostgreSQL advisory lock that routing holds to its commit.
ROUTING_LOCK = 0x70756E7465  # "punte"


# Batch functions that may choose an agent are marked with it: their transaction takes the lock
# before anything else (see takes_lock_first), never while holding the sequence counter or a
# conversation that another router, holding the lock, waits for.
routes = takes_lock_first(ROUTING_LOCK)


def _one_router_at_a_time(tx: Tx) -> None:
    """Hub processes sharing PostgreSQL choose agents one transaction at a time: otherwise two
    could count the same agent's load and both fill her last place. (SQLite has one writer.)
    The transaction of a batch function marked @routes holds it already (taking it again is a
    no-op); this is the net for one that is not."""
    if tx.session.get_bind().dialect.name == "postgresql":
        tx.session.execute(select(func.pg_advisory_xact_lock(ROUTING_LOCK)))


def pick_agent(tx: Tx, conv: Conversation, now: datetime) -> Agent | None:
    """An available agent of the conversation's team who speaks its language and has room: the
    one with the fewest open conversations (then the longest-serving id, for a stable order)."""
    _one_router_at_a_time(tx)
    language = _base(conv.language)
    candidates = [
        a
        for a in available_agents(tx, conv.team_id, now)
        if language is None or language in {_base(lang) for lang in (a.languages or [])}
    ]
    load = open_load(tx, [a.id for a in candidates])
    with_room = [a for a in candidates if load.get(a.id, 0) < a.capacity]
    return min(with_room, key=lambda a: (load.get(a.id, 0), a.id), default=None)


def assign_to(tx: Tx, conv: Conversation, agent: Agent, *, automatic: bool) -> TimelineEventOut:
    previous = conv.assignee_id
    conv.assignee_id, conv.handler, conv.queued_at = agent.id, "agent", None
    return append_event(
        tx,
        conv,
        EventKind.ASSIGNMENT,
        author_type=AuthorType.SYSTEM,
        data={
            "assignee_id": agent.id,
            "assignee_name": agent.display_name,
            "previous_assignee_id": previous,
            "automatic": automatic,
        },
    )


def queue_info(tx: Tx, conv: Conversation, now: datetime) -> Queued:
    ahead = tx.session.execute(
        select(func.count()).where(
            Conversation.id != conv.id,
            Conversation.team_id == conv.team_id if conv.team_id is not None else Conversation.team_id.is_(None),
            Conversation.assignee_id.is_(None),
            Conversation.queued_at.is_not(None),
            Conversation.status != ConversationStatus.RESOLVED,
            or_(
                Conversation.priority > conv.priority,
                and_(Conversation.priority == conv.priority, Conversation.queued_at < (conv.queued_at or now)),
            ),
        )
    ).scalar_one()
    online = len(available_agents(tx, conv.team_id, now))
    wait = (ahead + 1) * MINUTES_PER_PATIENT // max(1, online) if online else 0
    return Queued(ahead, max(1, wait), online)


def hand_off(
    tx: Tx,
    conv: Conversation,
    team: Team | None,
    *,
    reason: str,
    urgent: bool = False,
    author_type: AuthorType = AuthorType.BOT,
    author_id: int | None = None,
    author_name: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> Agent | None:
    """The conversation goes to people: its team's queue (urgent ones ahead), then an agent if one
    is free. Returns the agent it went to, or None while it waits."""
    now = utcnow()
    previous_team = conv.team_id
    conv.handler = "agent"
    if team is not None:
        conv.team_id = team.id
    if urgent:
        conv.priority = max(conv.priority, URGENT)
    if conv.assignee_id is None:
        conv.queued_at = conv.queued_at or now
    append_event(
        tx,
        conv,
        EventKind.HANDOFF,
        author_type=author_type,
        author_id=author_id,
        author_name=author_name,
        text=note,
        data={
            "reason": reason,
            "team_id": conv.team_id,
            "team_name": team.name if team else None,
            "urgent": urgent,
            "previous_team_id": previous_team if previous_team != conv.team_id else None,
            **(data or {}),
        },
    )
    if conv.assignee_id is not None:
        return None
    agent = pick_agent(tx, conv, now)
    if agent is not None:
        assign_to(tx, conv, agent, automatic=True)
    return agent


@routes
def assign_waiting(tx: Tx, items: list[None]) -> list[int]:
    """A batch function: hand waiting conversations to agents who have become free (someone
    said they are available, or finished a conversation), urgent and oldest first."""
    now = utcnow()
    waiting = (
        tx.session.execute(
            select(Conversation)
            .where(
                Conversation.assignee_id.is_(None),
                Conversation.queued_at.is_not(None),
                Conversation.handler == "agent",
                Conversation.status != ConversationStatus.RESOLVED,
            )
            .order_by(Conversation.priority.desc(), Conversation.queued_at, Conversation.id)
            .limit(200)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    assigned = 0
    for conv in waiting:
        agent = pick_agent(tx, conv, now)
        if agent is not None:
            assign_to(tx, conv, agent, automatic=True)
            assigned += 1
    return [assigned] * len(items)

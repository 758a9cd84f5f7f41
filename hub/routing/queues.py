"""Routing, inside the writer's transactions: a handed-off conversation joins its team's queue and
goes to an available agent who speaks the patient's language, fewest open conversations first,
within each agent's capacity; otherwise it waits, urgent ones first.

An agent is available when they said so in the inbox and their inbox is open (their live stream
keeps `last_seen_at` fresh). Each hand-off and assignment is a timeline event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hub.db.models import Agent, Conversation, Team, agent_teams
from hub.db.types import utcnow
from hub.db.writer import Tx, takes_lock_first
from hub.events import AuthorType, ConversationStatus, EventKind, TimelineEventOut
from hub.routing.urgent import alert as urgent_alert
from hub.routing.urgent import due
from hub.timeline.append import append_event

PRESENCE = timedelta(minutes=3)  # an inbox that has not been seen for longer is closed
URGENT = 10


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


def signed_in(tx: Tx, now: datetime) -> list[Agent]:
    """Staff whose inbox is open now, whatever their role or availability."""
    return list(
        tx.session.execute(
            select(Agent).where(Agent.active.is_(True), Agent.last_seen_at >= now - PRESENCE).order_by(Agent.id)
        ).scalars()
    )


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


def able_agents(tx: Tx, conv: Conversation, now: datetime) -> list[Agent]:
    """Available agents of the conversation's team who speak its language, room or not."""
    language = _base(conv.language)
    return [
        a
        for a in available_agents(tx, conv.team_id, now)
        if language is None or language in {_base(lang) for lang in (a.languages or [])}
    ]


def pick_agent(tx: Tx, conv: Conversation, now: datetime) -> Agent | None:
    """An available agent of the conversation's team who speaks its language and has room: the
    one with the fewest open conversations (then the longest-serving id, for a stable order)."""
    _one_router_at_a_time(tx)
    candidates = able_agents(tx, conv, now)
    load = open_load(tx, [a.id for a in candidates])
    with_room = [a for a in candidates if load.get(a.id, 0) < a.capacity]
    return min(with_room, key=lambda a: (load.get(a.id, 0), a.id), default=None)


def pick_urgent_agent(tx: Tx, conv: Conversation, now: datetime) -> Agent | None:
    """For an emergency: any available agent of the team, whoever is best placed to act now, ahead
    of capacity: one who speaks the patient's language first, then one with room, then the least
    loaded. Nobody at all available: None (hub.routing.urgent alerts a wider circle)."""
    _one_router_at_a_time(tx)
    language = _base(conv.language)
    candidates = available_agents(tx, conv.team_id, now)
    load = open_load(tx, [a.id for a in candidates])

    def rank(a: Agent) -> tuple[bool, bool, int, int]:
        speaks = language is None or language in {_base(lang) for lang in (a.languages or [])}
        return (not speaks, load.get(a.id, 0) >= a.capacity, load.get(a.id, 0), a.id)

    return min(candidates, key=rank, default=None)


def hold(conv: Conversation, agent_id: int, now: datetime) -> None:
    """The agent holds the conversation from now: out of the queue (how long it waited is kept for
    wait estimates, hub.routing.estimate), and the bot stops."""
    conv.waited_s = max(0, int((now - conv.queued_at).total_seconds())) if conv.queued_at else None
    conv.assignee_id, conv.handler, conv.queued_at, conv.assigned_at = agent_id, "agent", None, now


def assign_to(tx: Tx, conv: Conversation, agent: Agent, *, automatic: bool) -> TimelineEventOut:
    previous = conv.assignee_id
    hold(conv, agent.id, utcnow())
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
    is free. Returns the agent it went to, or None while it waits. An urgent one goes to any
    available agent of the team, and staff are alerted until someone takes it (hub.routing.urgent)."""
    now = utcnow()
    previous_team = conv.team_id
    conv.handler = "agent"
    if team is not None:
        conv.team_id = team.id
    if urgent:
        conv.priority = max(conv.priority, URGENT)
        conv.urgent_since = conv.urgent_since or now
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
    agent = None
    if conv.assignee_id is None:
        agent = pick_urgent_agent(tx, conv, now) if urgent else pick_agent(tx, conv, now)
        if agent is not None:
            assign_to(tx, conv, agent, automatic=True)
    if urgent:
        urgent_alert(tx, conv, signed_in(tx, now), now, "handoff")
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


@routes
def escalate_urgent(tx: Tx, items: list[int]) -> list[int]:
    """A batch function (item: the re-alert interval in seconds): alert again, a circle wider,
    about every urgent conversation nobody has taken whose interval has passed, and about those
    nobody could be alerted to once someone signs in. Under the routing lock, with the rows
    locked and read afresh, so hub processes sweeping at once alert once."""
    now = utcnow()
    realert_s = min(items)
    urgent = (
        tx.session.execute(
            select(Conversation)
            .where(Conversation.urgent_since.is_not(None), Conversation.status != ConversationStatus.RESOLVED)
            .order_by(Conversation.urgent_since, Conversation.id)
            .limit(200)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    staff = signed_in(tx, now) if urgent else []
    alerted = 0
    for conv in urgent:
        reason = due(conv, staff, now, realert_s)
        if reason is not None:
            urgent_alert(tx, conv, staff, now, reason)
            alerted += 1
    return [alerted] * len(items)

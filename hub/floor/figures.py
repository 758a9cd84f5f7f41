"""The live floor's figures, read in a handful of grouped queries (no patient data: ids, channels,
languages and times only, so the floor is not a read of anyone's record).

Per team: conversations waiting (open, with people rather than the assistant, nobody assigned,
not snoozed; waiting since they joined the team's queue, or since they opened), the longest wait,
urgent ones nobody has taken yet, its members online (available or away) with their open load and
capacity, and how many of its open conversations the assistant holds. The clinic's line
adds the assistant's share of every open conversation (those with no team too)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Agent, Conversation, Team, agent_teams
from hub.events import ConversationStatus
from hub.routing.queues import PRESENCE

WAITING_LIST = 50  # the oldest waiting (urgent first) listed for the floor's actions

AgentState = Literal["available", "away", "offline"]


class FloorAgent(msgspec.Struct):
    id: int
    name: str
    role: str
    state: AgentState  # available: said so and inbox open; away: inbox open, not available; offline
    load: int  # open conversations assigned to them
    capacity: int
    team_ids: list[int]


class FloorWaiting(msgspec.Struct):
    """A conversation waiting for a person (or urgent and not yet taken): no patient data."""

    id: int
    team_id: int | None
    channel: str
    language: str | None
    waiting_since: datetime | None  # queued, or urgent, since
    urgent: bool
    assignee_id: int | None


class FloorTeam(msgspec.Struct):
    id: int | None  # None: conversations of no team yet (nobody routed them)
    key: str
    name: str
    name_es: str | None
    waiting: int
    longest_wait_s: int | None
    urgent_waiting: int
    online: int
    available: int
    away: int
    load: int  # open conversations held by the team's members
    capacity: int  # the sum of the available members' capacities
    assistant: int  # open conversations of this team the assistant holds
    open: int  # open conversations of this team
    agent_ids: list[int]


class FloorAssistant(msgspec.Struct):
    holding: int  # open conversations the assistant holds
    open: int  # every open conversation
    share: float | None  # holding / open (None: nothing open)


class FloorOut(msgspec.Struct):
    at: datetime
    teams: list[FloorTeam]
    agents: list[FloorAgent]
    waiting: list[FloorWaiting]
    assistant: FloorAssistant


class _Team(msgspec.Struct):
    id: int | None
    key: str
    name: str
    name_es: str | None


_NO_TEAM = _Team(None, "", "No team", "Sin equipo")


def _seconds(now: datetime, since: datetime | None) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


async def read_floor(s: AsyncSession, now: datetime) -> FloorOut:
    not_resolved = Conversation.status != ConversationStatus.RESOLVED
    in_queue = (
        Conversation.assignee_id.is_(None),
        Conversation.handler == "agent",
        Conversation.snoozed_until.is_(None),
        not_resolved,
    )
    since = func.coalesce(Conversation.queued_at, Conversation.opened_at)
    queue_rows = (
        await s.execute(
            select(Conversation.team_id, func.count(), func.min(since)).where(*in_queue).group_by(Conversation.team_id)
        )
    ).all()
    urgent_rows = (
        await s.execute(
            select(Conversation.team_id, func.count())
            .where(Conversation.urgent_since.is_not(None), not_resolved)
            .group_by(Conversation.team_id)
        )
    ).all()
    open_rows = (
        await s.execute(
            select(
                Conversation.team_id,
                func.count(),
                func.sum(case((Conversation.handler == "bot", 1), else_=0)),
            )
            .where(not_resolved)
            .group_by(Conversation.team_id)
        )
    ).all()
    teams = (await s.execute(select(Team.id, Team.key, Team.name, Team.name_es).order_by(Team.id))).all()
    agents = (
        await s.execute(
            select(Agent.id, Agent.display_name, Agent.role, Agent.available, Agent.last_seen_at, Agent.capacity)
            .where(Agent.active.is_(True))
            .order_by(Agent.display_name, Agent.id)
        )
    ).all()
    memberships = (await s.execute(select(agent_teams.c.agent_id, agent_teams.c.team_id))).all()
    loads = dict(
        (
            await s.execute(
                select(Conversation.assignee_id, func.count())
                .where(Conversation.assignee_id.is_not(None), not_resolved)
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    listed = (
        await s.execute(
            select(
                Conversation.id,
                Conversation.team_id,
                Conversation.channel,
                Conversation.language,
                since.label("queued_at"),
                Conversation.urgent_since,
                Conversation.assignee_id,
            )
            .where(not_resolved, or_(Conversation.urgent_since.is_not(None), and_(*in_queue)))
            .order_by(
                Conversation.urgent_since.is_(None),
                func.coalesce(Conversation.urgent_since, since),
                Conversation.id,
            )
            .limit(WAITING_LIST)
        )
    ).all()
    return _assemble(now, queue_rows, urgent_rows, open_rows, teams, agents, memberships, loads, listed)


def _assemble(now, queue_rows, urgent_rows, open_rows, teams, agents, memberships, loads, listed) -> FloorOut:  # type: ignore[no-untyped-def]
    team_of: dict[int, list[int]] = {}
    for agent_id, team_id in memberships:
        team_of.setdefault(agent_id, []).append(team_id)
    floor_agents = []
    for a in agents:
        online = a.last_seen_at is not None and a.last_seen_at >= now - PRESENCE
        state: AgentState = ("available" if a.available else "away") if online else "offline"
        floor_agents.append(
            FloorAgent(
                a.id, a.display_name, a.role, state, loads.get(a.id, 0), a.capacity, sorted(team_of.get(a.id, []))
            )
        )
    queues = {team_id: (n, oldest) for team_id, n, oldest in queue_rows}
    urgent = dict(urgent_rows)
    opened = {team_id: (n, bot or 0) for team_id, n, bot in open_rows}
    out_teams = []
    if any(None in d for d in (queues, urgent, opened)):
        teams = [*teams, msgspec.structs.replace(_NO_TEAM)]
    for t in teams:
        members = [a for a in floor_agents if t.id in a.team_ids]
        here = [a for a in members if a.state != "offline"]
        free = [a for a in here if a.state == "available"]
        n_waiting, oldest = queues.get(t.id, (0, None))
        n_open, n_bot = opened.get(t.id, (0, 0))
        out_teams.append(
            FloorTeam(
                id=t.id,
                key=t.key,
                name=t.name,
                name_es=t.name_es,
                waiting=n_waiting,
                longest_wait_s=_seconds(now, oldest),
                urgent_waiting=urgent.get(t.id, 0),
                online=len(here),
                available=len(free),
                away=len(here) - len(free),
                load=sum(a.load for a in members),
                capacity=sum(a.capacity for a in free),
                assistant=n_bot,
                open=n_open,
                agent_ids=[a.id for a in members],
            )
        )
    holding = sum(bot for _n, bot in opened.values())
    total = sum(n for n, _bot in opened.values())
    waiting = [
        FloorWaiting(
            r.id,
            r.team_id,
            r.channel,
            r.language,
            r.urgent_since or r.queued_at,
            r.urgent_since is not None,
            r.assignee_id,
        )
        for r in listed
    ]
    assistant = FloorAssistant(holding, total, round(holding / total, 4) if total else None)
    return FloorOut(now, out_teams, floor_agents, waiting, assistant)

"""Urgent conversations nobody has taken yet: staff are alerted in widening circles until someone
takes one. Inside the writer's transactions; hub.routing.queues calls it.

An urgent hand-off (a red flag) goes to an available agent of the emergency team when there is one.
Whether or not, staff are alerted at once, in circles (hub.events.Circle):

    TEAM      the assignee, the emergency team's available agents, supervisors
    FLOOR     supervisors and every available agent, whatever their team (all agents may open it)
    EVERYONE  every staff member signed in, available or not

The first alert goes to the narrowest circle with someone signed in to receive it: with nobody of
the emergency team available (closed, empty, all Away) it goes straight to the floor. Until someone
takes the conversation (assigns it to themselves, or answers the patient), the routing sweep alerts
again every `realert_s`, a circle wider each time; with nobody signed in at all, as soon as someone
is. Every alert is a timeline event (URGENT_ALERT) and the inbox keeps an alert up while
`urgent_since` is set, so nobody depends on having seen the moment it happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hub.agents.roles import Role
from hub.db.models import Agent, Conversation
from hub.db.writer import Tx
from hub.events import AuthorType, Circle, EventKind
from hub.timeline.append import append_event


def in_circle(agent: Agent, conv: Conversation, circle: Circle) -> bool:
    """Whether this signed-in staff member is alerted at `circle` (the inbox decides alike)."""
    if circle >= Circle.EVERYONE or Role(agent.role) != Role.AGENT or agent.id == conv.assignee_id:
        return True
    if circle >= Circle.FLOOR:
        return bool(agent.available)
    return _team_can_act(agent, conv)


def _team_can_act(agent: Agent, conv: Conversation) -> bool:
    return agent.id == conv.assignee_id or (bool(agent.available) and conv.team_id in {t.id for t in agent.teams})


def alert(tx: Tx, conv: Conversation, staff: Sequence[Agent], now: datetime, reason: str) -> int:
    """Alert the conversation's circle (never narrower than before; wider at once while it has
    nobody signed in); returns how many staff that reaches (0: nobody is signed in at all)."""
    circle = max(Circle(conv.escalation or 0), Circle.TEAM)
    if reason == "not_taken":
        circle = Circle(min(circle + 1, Circle.EVERYONE))
    elif circle == Circle.TEAM and not any(_team_can_act(a, conv) for a in staff):
        circle = Circle.FLOOR  # the emergency team is closed, empty or all Away: the floor at once
    reached = [a for a in staff if in_circle(a, conv, circle)]
    while not reached and circle < Circle.EVERYONE:
        circle = Circle(circle + 1)
        reached = [a for a in staff if in_circle(a, conv, circle)]
    conv.escalation = circle
    conv.alerted_at = now if reached else None  # None: alert whoever signs in first
    since = conv.urgent_since or now
    append_event(
        tx,
        conv,
        EventKind.URGENT_ALERT,
        author_type=AuthorType.SYSTEM,
        data={
            "circle": int(circle),
            "reason": reason,
            "alerted": len(reached),
            "waiting_s": max(0, int((now - since).total_seconds())),
        },
    )
    return len(reached)


def due(conv: Conversation, staff: Sequence[Agent], now: datetime, realert_s: int) -> str | None:
    """Why this untaken urgent conversation must be alerted again now, or None."""
    if conv.alerted_at is None:
        return "someone_online" if staff else None
    return "not_taken" if (now - conv.alerted_at).total_seconds() >= realert_s else None


def take(conv: Conversation) -> bool:
    """Someone took it (or it was closed): the alerts stop, and the floor no longer sees it.
    Returns whether it was an untaken urgent conversation."""
    was = conv.urgent_since is not None
    conv.urgent_since, conv.escalation, conv.alerted_at = None, Circle.NONE, None
    return was

"""What a waiting patient can honestly be told: their place in the queue and, only when the team's
own recent history supports one, a wait estimate (docs/routing.md has the formula).

    A  agents of the team available now who speak the patient's language; C the sum of their capacities
    H  median handle time: assignment to resolution, of the team's last 200 conversations resolved
       in the past 14 days (needs at least 5)
    W  median wait in the queue of the team's conversations assigned in the past 4 hours (needs 3)
    k  the patient's place: conversations ahead of them, plus one

    estimate = max(k * H / C, W), from whichever of the two is known; none when neither is.

Each agent works up to their capacity at once and a place frees every H on average, so the queue
moves C places per H; W keeps the figure from promising less than the queue really gave today.
With no agent available there is no estimate at all: the patient is told so (hub.bot.engine).
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import and_, func, or_, select

from hub.db.models import Agent, Conversation
from hub.db.writer import Tx
from hub.events import ConversationStatus

HANDLE_WINDOW = timedelta(days=14)
HANDLE_SAMPLES, HANDLE_MIN = 200, 5
WAIT_WINDOW = timedelta(hours=4)
WAIT_SAMPLES, WAIT_MIN = 200, 3


class Waiting(msgspec.Struct, frozen=True):
    position: int  # patients ahead of them in the team's queue
    agents_available: int  # who could take it (the team's, speaking the patient's language)
    wait_minutes: int | None  # None: no honest figure (too little history)


def estimate_minutes(ahead: int, capacity: int, handle_times_s: list[float], waits_s: list[float]) -> int | None:
    """The formula above, pure: minutes, rounded up (to 5 above 10), or None without history."""
    if capacity <= 0:
        return None
    figures = []
    if len(handle_times_s) >= HANDLE_MIN:
        figures.append((ahead + 1) * statistics.median(handle_times_s) / capacity)
    if len(waits_s) >= WAIT_MIN:
        figures.append(statistics.median(waits_s))
    if not figures:
        return None
    minutes = max(1, math.ceil(max(figures) / 60))
    return minutes if minutes <= 10 else 5 * math.ceil(minutes / 5)


def place_in_queue(tx: Tx, conv: Conversation, now: datetime) -> int:
    """Conversations of the same team waiting ahead of this one (urgent ones, then the older)."""
    return tx.session.execute(
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


def _handle_times(tx: Tx, team_id: int | None, now: datetime) -> list[float]:
    rows = tx.session.execute(
        select(Conversation.assigned_at, Conversation.resolved_at)
        .where(
            Conversation.team_id == team_id,
            Conversation.resolved_at >= now - HANDLE_WINDOW,
            Conversation.assigned_at.is_not(None),
        )
        .order_by(Conversation.resolved_at.desc())
        .limit(HANDLE_SAMPLES)
    ).all()
    return [s for a, r in rows if (s := (r - a).total_seconds()) > 0]


def _waits(tx: Tx, team_id: int | None, now: datetime) -> list[float]:
    rows = tx.session.execute(
        select(Conversation.waited_s)
        .where(
            Conversation.team_id == team_id,
            Conversation.assigned_at >= now - WAIT_WINDOW,
            Conversation.waited_s.is_not(None),
        )
        .order_by(Conversation.assigned_at.desc())
        .limit(WAIT_SAMPLES)
    ).scalars()
    return [float(w) for w in rows]


def wait_estimate(tx: Tx, conv: Conversation, agents: list[Agent], now: datetime) -> Waiting:
    """agents: those who could take this conversation now (hub.routing.queues.able_agents)."""
    ahead = place_in_queue(tx, conv, now)
    if not agents or conv.team_id is None:
        return Waiting(ahead, len(agents), None)
    minutes = estimate_minutes(
        ahead, sum(a.capacity for a in agents), _handle_times(tx, conv.team_id, now), _waits(tx, conv.team_id, now)
    )
    return Waiting(ahead, len(agents), minutes)

"""One conversation's report facts, from its timeline events alone (pure).

Every KPI is an aggregate of these rows (hub/reports/kpis.py), and every row is computed here, one
way, whether live (hub/reports/rollup.py, after each commit) or from scratch (the backfill, the
tests): docs/kpis.md says what each field means. Only people's messages count as responses: an
event authored by the assistant ("bot") or the hub ("system") never does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.events import AuthorType, ConversationStatus, EventKind
from hub.reports.business import open_seconds
from hub.routing.hours import Hours

WEBCHAT = "webchat"


@dataclass(frozen=True)
class Ev:
    seq: int
    kind: str
    author_type: str
    author_id: int | None
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class Conv:
    id: int
    patient_id: int
    channel: str
    language: str | None
    intent: str | None
    team_id: int | None
    assignee_id: int | None
    status: str
    handler: str  # "bot" while the assistant has it
    opened_at: datetime
    last_event_seq: int


@dataclass(frozen=True)
class Rules:
    timezone: str
    abandon_after: timedelta  # other channels: no staff reply this long after the hand-off
    webchat_left_after: timedelta  # web chat: the visitor silent this long is taken to have left
    hours_of: Callable[[int | None], tuple[Hours, list[date]]]  # a team's hours and holidays


def _secs(a: datetime | None, b: datetime | None) -> int | None:
    return None if a is None or b is None else max(0, int((b - a).total_seconds()))


def conversation_facts(conv: Conv, events: Sequence[Ev], rules: Rules) -> dict[str, Any]:
    """The report_conversations row of one conversation (events in seq order)."""
    zone = ZoneInfo(rules.timezone)
    local = conv.opened_at.astimezone(zone)
    day = local.date()
    staff_out = [e for e in events if e.kind == EventKind.MESSAGE_OUT and e.author_type == AuthorType.AGENT]
    bot_out = [e for e in events if e.kind == EventKind.MESSAGE_OUT and e.author_type == AuthorType.BOT]
    handoffs = [e for e in events if e.kind == EventKind.HANDOFF and e.data.get("to") != "bot"]
    assignments = [e for e in events if e.kind == EventKind.ASSIGNMENT and e.data.get("assignee_id") is not None]
    first_handoff = handoffs[0] if handoffs else None
    assistant = conv.handler == "bot" or bool(bot_out) or first_handoff is not None

    # With people from: the hand-off; with no assistant, the opening; else a person stepping in.
    to_people: datetime | None
    if first_handoff is not None:
        to_people = first_handoff.at
    elif not assistant:
        to_people = conv.opened_at
    else:
        stepped_in = [e.at for e in (assignments[:1] + staff_out[:1])]
        to_people = min(stepped_in) if stepped_in else None
    first_reply = staff_out[0] if staff_out else None  # a reopened conversation keeps its first
    team_id = (first_handoff.data.get("team_id") if first_handoff else None) or conv.team_id
    frt_s = frt_bus_s = None
    if first_reply is not None and to_people is not None:
        frt_s = _secs(to_people, first_reply.at)
        hours, holidays = rules.hours_of(team_id)
        frt_bus_s = open_seconds(hours, holidays, to_people, first_reply.at, rules.timezone) if frt_s else 0

    resolutions = [e for e in events if e.kind == EventKind.STATUS_CHANGE and e.data.get("to") == "resolved"]
    reopened = any(
        e.kind == EventKind.STATUS_CHANGE and e.data.get("from") == "resolved" and e.data.get("to") != "resolved"
        for e in events
    )
    resolved_at = resolutions[-1].at if resolutions and conv.status == ConversationStatus.RESOLVED else None
    first_assigned = next((e.at for e in assignments if to_people is None or e.at >= to_people), None)
    handle_s = None
    if first_assigned is not None and resolved_at is not None:
        handle_s = max(0, (_secs(first_assigned, resolved_at) or 0) - _snoozed(events, first_assigned, resolved_at))

    abandon_at = None
    if to_people is not None:
        if conv.channel == WEBCHAT:
            before = [
                e.at
                for e in events
                if e.kind == EventKind.MESSAGE_IN and (first_reply is None or e.seq < first_reply.seq)
            ]
            abandon_at = max([to_people, *before]) + rules.webchat_left_after
        else:
            abandon_at = to_people + rules.abandon_after

    urgent = next((e for e in handoffs if e.data.get("urgent")), None)
    red_flag_s = None
    if urgent is not None:
        reached = [e.at for e in assignments + staff_out if e.seq > urgent.seq]
        red_flag_s = _secs(urgent.at, min(reached)) if reached else None

    agent_id = conv.assignee_id
    if agent_id is None and assignments:
        agent_id = assignments[-1].data.get("assignee_id")
    if agent_id is None and first_reply is not None:
        agent_id = first_reply.author_id
    bot_end = to_people if to_people is not None else resolved_at
    return {
        "conversation_id": conv.id,
        "patient_id": conv.patient_id,
        "last_seq": conv.last_event_seq,
        "opened_at": conv.opened_at,
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "weekday": day.weekday(),
        "hour": local.hour,
        "team_id": team_id,
        "channel": conv.channel,
        "language": conv.language,
        "intent": conv.intent,
        "agent_id": agent_id,
        "messages_in": sum(1 for e in events if e.kind == EventKind.MESSAGE_IN),
        "messages_out": len(staff_out),
        "bot_messages": len(bot_out),
        "assistant": assistant,
        "bot_resolved": assistant and to_people is None and resolved_at is not None,
        "handed_off": assistant and first_handoff is not None,
        "handoff_reason": first_handoff.data.get("reason") if first_handoff else None,
        "bot_s": _secs(conv.opened_at, bot_end) if assistant else None,
        "to_people_at": to_people,
        "first_response_at": first_reply.at if first_reply is not None and to_people is not None else None,
        "first_response_s": frt_s,
        "first_response_business_s": frt_bus_s,
        "wait_s": _secs(to_people, first_assigned),
        "handle_s": handle_s,
        "resolved_at": resolved_at,
        "resolution_s": _secs(conv.opened_at, resolved_at),
        "reopened": reopened,
        "transferred": any(e.kind == EventKind.TRANSFER for e in events),
        "abandon_at": abandon_at,
        "opt_outs": sum(1 for e in events if e.kind == EventKind.CONSENT_CHANGE and e.data.get("granted") is False),
        "red_flag": urgent is not None,
        "red_flag_s": red_flag_s,
        **_csat(events),
    }


def _snoozed(events: Sequence[Ev], start: datetime, end: datetime) -> int:
    """Seconds within [start, end] the conversation spent snoozed."""
    total, since = 0, None
    for e in events:
        if e.kind == EventKind.SNOOZED and since is None:
            since = e.at
        elif since is not None and (
            e.kind == EventKind.SNOOZE_ENDED or (e.kind == EventKind.STATUS_CHANGE and e.data.get("to") == "resolved")
        ):
            lo, hi = max(since, start), min(e.at, end)
            total += max(0, int((hi - lo).total_seconds()))
            since = None
    return total


def _csat(events: Sequence[Ev]) -> dict[str, Any]:
    """The satisfaction question sent and its answer (1 to 5), from the CSAT events (hub/csat/)."""
    asked = any(e.kind == EventKind.CSAT_ASKED for e in events)
    scores = [e.data.get("score") for e in events if e.kind == EventKind.CSAT_ANSWERED]
    score = next((s for s in reversed(scores) if isinstance(s, int) and 1 <= s <= 5), None)
    return {"csat_asked": asked or score is not None, "csat_score": score}

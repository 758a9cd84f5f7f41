"""Snooze: a conversation out of the open views until a time, when it comes back by itself.

Staff snooze it (a time, or a preset: an hour from now, tomorrow morning in the clinic's time zone);
`SnoozeWorker`, on the one job loop, wakes each conversation whose time has come, once, whatever
the number of hub processes sharing the database (rows locked, skipping those another hub holds,
and read afresh). A patient who writes wakes it at once (hub/timeline/ingest.py). Each snooze and
each wake-up is a timeline event, published after commit like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.agents.roles import Principal
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Conversation
from hub.db.types import utcnow
from hub.db.writer import Tx, Writer
from hub.events import AuthorType, ConversationStatus, EventKind, TimelineEventOut
from hub.i18n import _
from hub.job_worker import WorkerLoop
from hub.refusals import Refused
from hub.timeline.append import append_event

Preset = Literal["hour", "tomorrow_morning"]
MORNING = time(8, 0)  # "tomorrow morning" in the clinic's time zone
LONGEST = timedelta(days=90)
BATCH = 200  # conversations woken per transaction


def preset_time(preset: Preset, now: datetime, timezone: str) -> datetime:
    """When a preset ends: an hour from now, or 8 AM tomorrow where the clinic is (UTC)."""
    if preset == "hour":
        return now + timedelta(hours=1)
    zone = ZoneInfo(timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, MORNING, tzinfo=zone).astimezone(ZoneInfo("UTC"))


class Snooze(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin
    until: datetime
    now: datetime  # the hub's clock (a test's own, or the wall's)
    preset: Preset | None = None


class EndSnooze(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin


def snooze(tx: Tx, conv: Conversation, cmd: Snooze) -> TimelineEventOut:
    """Inside the writer's transaction, the conversation locked and within the agent's reach."""
    if conv.status == ConversationStatus.RESOLVED:
        raise Refused(400, _("A resolved conversation cannot be snoozed."))
    if conv.urgent_since is not None:
        raise Refused(400, _("An urgent conversation cannot be snoozed: take it first."))
    if cmd.until <= cmd.now:
        raise Refused(400, _("Choose a time in the future to snooze until."))
    if cmd.until > cmd.now + LONGEST:
        raise Refused(400, _("A conversation can be snoozed for at most {days} days."), days=LONGEST.days)
    conv.snoozed_until = cmd.until
    data: dict[str, str] = {"until": cmd.until.isoformat()}
    if cmd.preset is not None:
        data["preset"] = cmd.preset
    return _append(tx, conv, cmd, EventKind.SNOOZED, AuditAction.SNOOZE, data)


def end_snooze(tx: Tx, conv: Conversation, cmd: EndSnooze) -> TimelineEventOut:
    if conv.snoozed_until is None:
        raise Refused(400, _("The conversation is not snoozed."))
    until, conv.snoozed_until = conv.snoozed_until, None
    data = {"reason": "staff", "until": until.isoformat()}
    return _append(tx, conv, cmd, EventKind.SNOOZE_ENDED, AuditAction.SNOOZE_END, data)


def _append(
    tx: Tx, conv: Conversation, cmd: Snooze | EndSnooze, kind: EventKind, action: AuditAction, data: dict[str, str]
) -> TimelineEventOut:
    event = append_event(
        tx, conv, kind, author_type=AuthorType.AGENT, author_id=cmd.by.id, author_name=cmd.by.display_name, data=data
    )
    add_audit(tx, AuditRecord(action, cmd.by.id, cmd.origin, conv.patient_id, conv.id, {"seq": event.seq}))
    return event


def wake_due(tx: Tx, items: list[datetime]) -> list[int]:
    """A batch function (item: now, by the hub's clock): wake every snoozed conversation whose time
    has come. The rows are locked, skipping those another hub process holds, and a locked row is read
    afresh, so two hubs sweeping at once wake each conversation once."""
    now = max(items)
    due = (
        tx.session.execute(
            select(Conversation)
            .where(Conversation.snoozed_until.is_not(None), Conversation.snoozed_until <= now)
            .order_by(Conversation.snoozed_until, Conversation.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for conv in due:
        until, conv.snoozed_until = conv.snoozed_until, None
        data = {"reason": "time", "until": until.isoformat() if until else None}
        append_event(tx, conv, EventKind.SNOOZE_ENDED, author_type=AuthorType.SYSTEM, data=data)
    return [len(due)] * len(items)


class SnoozeWorker(WorkerLoop):
    """Wakes snoozed conversations when their time comes: looks when the earliest falls due, when a
    snooze was set here (`wake`), and every few seconds regardless (another hub may have set one)."""

    kind = "snooze"
    idle_poll_s = 5.0

    def __init__(
        self,
        writer: Writer,
        read_sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(writer, clock)
        self._read_sessions = read_sessions

    async def start(self) -> None:
        await self.start_loop()

    async def stop(self) -> None:
        await self.stop_loop()

    async def turn(self) -> float | None:
        earliest = await self._earliest()
        if earliest is not None and earliest <= self.clock():
            woken = await self._writer.submit(wake_due, self.clock())
            if woken >= BATCH:
                return 0.0  # more are due
            earliest = await self._earliest()
        if earliest is None:
            return None
        return max(0.05, (earliest - self.clock()).total_seconds())

    async def _earliest(self) -> datetime | None:
        """A cheap read first: a write transaction only when something is due."""
        async with self._read_sessions() as s:
            return (await s.execute(select(func.min(Conversation.snoozed_until)))).scalar_one_or_none()

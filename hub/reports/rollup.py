"""Report facts kept up to date as events commit: one row per conversation (report_conversations).

An after-commit subscriber (`notice`) notes which conversations a commit touched; the worker, on the
one job loop, recomputes their rows from their events (hub/reports/facts.py) in one writer
transaction per batch. After a start it first fills what is missing or stale (the backfill after
migration 0019, or commits a stopped hub never got to), newest conversations first. A row carries
the newest event it includes (last_seq), so "stale" is one comparison with conversations.last_event_seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from hub.db.models import Conversation, Holiday, ReportConversation, Team, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx, Writer
from hub.events import Published
from hub.job_worker import WorkerLoop
from hub.reports.facts import Conv, Ev, Rules, conversation_facts
from hub.routing.hours import DEFAULT_HOURS, Hours
from hub.settings import Settings

log = logging.getLogger(__name__)

BATCH = 500  # conversations recomputed per writer transaction
# A conversation is refreshed after the commit of its event, and once more this long after: the
# assistant, say, records the conversation's language in a commit of its own, with no event.
AGAIN_S = 3.0


def rules_for(session: Session, settings: Settings) -> Rules:
    """The clinic's zone, the abandonment settings, and every team's hours and holidays."""
    teams = {t.id: (t.hours or DEFAULT_HOURS) for t in session.execute(select(Team)).scalars()}
    holidays: dict[int | None, list[date]] = {}
    for h in session.execute(select(Holiday)).scalars():
        holidays.setdefault(h.team_id, []).append(h.day)

    def hours_of(team_id: int | None) -> tuple[Hours, list[date]]:
        return teams.get(team_id, DEFAULT_HOURS) if team_id else DEFAULT_HOURS, holidays.get(None, []) + (
            holidays.get(team_id, []) if team_id else []
        )

    r = settings.reports
    return Rules(
        timezone=settings.clinic.timezone,
        abandon_after=timedelta(hours=r.abandon_after_hours),
        webchat_left_after=timedelta(minutes=r.webchat_left_after_minutes),
        hours_of=hours_of,
    )


def compute_facts(session: Session, settings: Settings, ids: Iterable[int]) -> list[dict[str, Any]]:
    """The facts rows of these conversations, from scratch: their rows and all their events."""
    ids = sorted(set(ids))
    if not ids:
        return []
    rules = rules_for(session, settings)
    convs = session.execute(select(Conversation).where(Conversation.id.in_(ids))).scalars().all()
    events: dict[int, list[Ev]] = {}
    rows = session.execute(
        select(
            TimelineEvent.conversation_id,
            TimelineEvent.seq,
            TimelineEvent.kind,
            TimelineEvent.author_type,
            TimelineEvent.author_id,
            TimelineEvent.data,
            TimelineEvent.created_at,
        )
        .where(TimelineEvent.conversation_id.in_(ids))
        .order_by(TimelineEvent.conversation_id, TimelineEvent.seq)
    )
    for cid, seq, kind, author_type, author_id, data, at in rows:
        events.setdefault(cid, []).append(Ev(seq, kind, author_type, author_id, data or {}, at))
    return [
        conversation_facts(
            Conv(
                c.id, c.patient_id, c.channel, c.language, c.intent, c.team_id, c.assignee_id,
                c.status, c.handler, c.opened_at, c.last_event_seq,
            ),
            events.get(c.id, []),
            rules,
        )
        for c in convs
    ]  # fmt: skip


def refresh(settings: Settings) -> Callable[[Tx, list[list[int]]], list[int]]:
    """A writer batch function: recompute the facts of each item's conversations."""

    def run(tx: Tx, items: list[list[int]]) -> list[int]:
        ids = sorted({cid for item in items for cid in item})
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            rows = compute_facts(tx.session, settings, chunk)
            tx.session.execute(delete(ReportConversation).where(ReportConversation.conversation_id.in_(chunk)))
            if rows:
                tx.session.execute(insert(ReportConversation), rows)
        return [len(item) for item in items]

    run.__name__ = "refresh_report_facts"
    return run


class ReportsWorker(WorkerLoop):
    kind = "reports"
    idle_poll_s = 10.0  # how soon another hub process's commits are in the reports

    def __init__(
        self,
        settings: Settings,
        writer: Writer,
        read_sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(writer, clock)
        self._read = read_sessions
        self._pending: set[int] = set()
        self._again: dict[int, float] = {}  # conversations to refresh once more, and when (loop time)
        self._refresh = refresh(settings)
        self._catching_up = True
        self._cursor: int | None = None  # the catch-up's position: conversations below this id are left
        self._watermark: int | None = None  # conversations whose newest event is up to this were looked at

    def notice(self, published: list[Published]) -> None:
        """After a commit: the conversations it touched get their facts recomputed."""
        for p in published:
            event = getattr(p.frame, "event", None)
            if event is not None:
                self._pending.add(event.conversation_id)
        if self._pending:
            self.wake()

    async def start(self) -> None:
        await self.start_loop()

    async def stop(self) -> None:
        await self.stop_loop()

    async def turn(self) -> float | None:
        loop_now = asyncio.get_running_loop().time()
        due = {cid for cid, at in self._again.items() if at <= loop_now}
        fresh, self._pending = self._pending, set()
        ids = sorted(fresh | due)
        if ids:
            try:
                await self._writer.submit(self._refresh, ids)
            except Exception as exc:  # the next turn tries again
                self._pending.update(ids)
                log.warning("report facts not refreshed (%s)", type(exc).__name__)
                return 1.0
            for cid in due - fresh:
                del self._again[cid]
            for cid in fresh:  # once more shortly: a change that follows its event in a commit of its own
                self._again[cid] = loop_now + AGAIN_S
        if self._watermark is None:  # first: what commits after this, _newer finds; what before, the catch-up
            async with self._read() as s:
                self._watermark = (await s.execute(select(func.max(Conversation.last_event_seq)))).scalar() or 0
        if self._catching_up:
            stale = await self._stale()
            if not stale:
                self._catching_up = False
            else:
                await self._writer.submit(self._refresh, stale)
                return 0.0
        elif stale := await self._newer():  # committed by another hub process sharing the database
            await self._writer.submit(self._refresh, stale)
        if self._again:
            return max(0.05, min(self._again.values()) - loop_now)
        return None

    async def _newer(self) -> list[int]:
        """Conversations with events past the watermark whose facts are older: what another hub
        process committed (this one's own commits were refreshed already), read by the index on
        conversations.last_event_seq."""
        r = ReportConversation
        async with self._read() as s:
            rows = (
                await s.execute(
                    select(Conversation.id, Conversation.last_event_seq, r.last_seq)
                    .outerjoin(r, r.conversation_id == Conversation.id)
                    .where(Conversation.last_event_seq > self._watermark)
                    .order_by(Conversation.last_event_seq)
                    .limit(BATCH)
                )
            ).all()
        if rows:
            self._watermark = rows[-1][1]
        return [cid for cid, seq, kept in rows if kept is None or kept < seq]

    async def _stale(self) -> list[int]:
        """The next batch of conversations whose facts are missing or older than their events."""
        r = ReportConversation
        q = (
            select(Conversation.id)
            .outerjoin(r, r.conversation_id == Conversation.id)
            .where(or_(r.last_seq.is_(None), r.last_seq < Conversation.last_event_seq))
            .order_by(Conversation.id.desc())
            .limit(BATCH)
        )
        if self._cursor is not None:
            q = q.where(Conversation.id < self._cursor)
        async with self._read() as s:
            ids = list((await s.execute(q)).scalars())
        self._cursor = ids[-1] if ids else None
        return ids

    async def caught_up(self) -> bool:
        """Every conversation's facts include its newest event (tests, the bench)."""
        self._cursor = None
        stale = await self._stale()
        self._cursor = None
        return not stale and not self._pending and not self._again

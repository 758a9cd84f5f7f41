"""The routing worker: hands waiting conversations to agents who have become free, and alerts staff
again (a circle wider) about urgent conversations nobody has taken. It runs whether or not the
assistant is on, in the loop every background worker runs (hub/job_worker.py), every few seconds:
at least twice per re-alert interval."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Conversation
from hub.db.writer import Writer
from hub.job_worker import WorkerLoop
from hub.routing.queues import assign_waiting, escalate_urgent
from hub.settings import Settings

SWEEP_S = 5.0


class RoutingWorker(WorkerLoop):
    kind = "routing"

    def __init__(self, settings: Settings, writer: Writer, read_sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(writer)
        self._realert_s = settings.routing.realert_s
        self._read_sessions = read_sessions
        self.idle_poll_s = min(SWEEP_S, self._realert_s / 2)  # type: ignore[misc]

    async def start(self) -> None:
        await self.start_loop()

    async def stop(self) -> None:
        await self.stop_loop()

    async def turn(self) -> float | None:
        await self._writer.submit(assign_waiting, None)
        if await self._any_urgent_untaken():
            await self._writer.submit(escalate_urgent, self._realert_s)
        return None

    async def _any_urgent_untaken(self) -> bool:
        """A cheap read first: the sweep's write (and its routing lock) only when there is work."""
        async with self._read_sessions() as s:
            found = await s.execute(select(Conversation.id).where(Conversation.urgent_since.is_not(None)).limit(1))
            return found.first() is not None

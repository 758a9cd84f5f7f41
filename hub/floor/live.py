"""The live floor pushed to supervisors' and admins' sockets: recomputed (a handful of grouped
reads, hub/floor/figures.py) on the one job loop whenever an event went out to this process's
sockets or someone's availability changed, coalesced while a recompute runs, and every few seconds
regardless (waits grow, an inbox left unseen goes offline). Only sockets whose inbox shows the floor
get it (the inbox says `{"type": "floor", "watching": true}` when it opens the floor, false when it
leaves); nothing is read while none does in this process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.events import FloorFrame
from hub.floor.figures import FloorOut, read_floor
from hub.job_worker import WorkerLoop
from hub.realtime.fanout import Fanout, SocketQueue


def watches_floor(q: SocketQueue) -> bool:
    """A supervisor's or admin's socket whose inbox shows the floor now (it said so: `floor` frame)."""
    return q.watching_floor and q.principal.sees_everything


class FloorWorker(WorkerLoop):
    kind = "floor"
    idle_poll_s = 5.0

    def __init__(
        self,
        writer: Writer,
        read_sessions: async_sessionmaker[AsyncSession],
        fanout: Fanout,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(writer, clock)
        self._read_sessions = read_sessions
        self._fanout = fanout
        self.pushed = 0  # frames sent, for tests and the bench
        fanout.on_change.append(self.wake)

    async def start(self) -> None:
        await self.start_loop()

    async def stop(self) -> None:
        await self.stop_loop()

    async def read(self) -> FloorOut:
        async with self._read_sessions() as s:
            return await read_floor(s, self.clock())

    async def turn(self) -> float | None:
        if not self._fanout.staff_sockets(watches_floor):
            return None
        floor = await self.read()
        self._fanout.send_to_staff(FloorFrame(msgspec.Raw(msgspec.json.encode(floor))), watches_floor)
        self.pushed += 1
        return None

"""The one loop of every background worker over a queue: media fetches, voice notes, the outbox.

Woken after a commit that queued work (and when the next retry falls due, and every IDLE_POLL_S
regardless: another hub may have queued some), it claims due jobs through the writer, works on as
many at once as it has room for, outside any transaction, and settles each outcome through the
writer. On start it takes back stale claims; on stop it abandons what is in flight and hands its
claims back as pending, so the next start resumes them (or, for work that must not be cut off
half-way, such as a message being handed to its provider, lets it finish and settle).

A worker says what a job is: how to claim, work on and settle one, and how to sweep and release.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.jobs import Claim

log = logging.getLogger(__name__)

IDLE_POLL_S = 10.0

DueT = TypeVar("DueT")


class Claimed(Protocol[DueT]):  # type: ignore[misc]
    due: list[DueT]
    next_at: datetime | None  # when the earliest job still pending falls due


class WorkerLoop:
    """A background worker's loop: woken by `wake()` (after a commit that may concern it), or every
    idle_poll_s regardless; each turn it does its upkeep (`tick`) and its work (`turn`)."""

    kind: ClassVar[str]  # in logs: "media", "voice", "outbox", "routing", "assistant"
    idle_poll_s: ClassVar[float] = IDLE_POLL_S  # how often it looks when nothing woke it

    def __init__(self, writer: Writer, clock: Callable[[], datetime] = utcnow) -> None:
        self._writer = writer
        self.clock = clock  # what "due" is measured against (a test's own clock, or the wall's)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self, *_: object) -> None:
        """Look now (also an after-commit subscriber: any commit may have brought work)."""
        self._wake.set()

    async def tick(self, now: float) -> None:
        """Called on each turn of the loop (loop time `now`): periodic upkeep such as sweeps."""

    async def turn(self) -> float | None:
        """The work of one turn; returns how soon to look again (None: idle_poll_s)."""
        return None

    async def start_loop(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"puente-{self.kind}")

    async def stop_loop(self) -> None:
        """Take no more turns; the turn under way finishes."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        wait_s = 0.0  # look at once: a restart resumes what was pending
        while not self._stopping:
            if wait_s > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait_s)
            self._wake.clear()
            if self._stopping:
                break
            try:
                await self.tick(loop.time())
                soon = await self.turn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let a worker die: the next turn tries again
                log.error("%s turn failed: %s", self.kind, type(exc).__name__)
                soon = 1.0
            wait_s = self.idle_poll_s if soon is None else min(self.idle_poll_s, soon)


class JobWorker(WorkerLoop, ABC, Generic[DueT]):
    """A worker over a job queue: claims due jobs within its room, works on them outside any
    transaction, settles each with retries, sweeps stale claims, hands claims back at stop."""

    claim_due: ClassVar[Any]  # writer batch functions of the job's queue
    settle: ClassVar[Any]
    release: ClassVar[Any]
    finish_in_flight: ClassVar[bool] = False  # at stop: let work in flight finish, or abandon it

    def __init__(self, writer: Writer, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(writer, clock)
        self._claimant = f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._inflight: set[asyncio.Task[None]] = set()

    # --- what each worker says -------------------------------------------------------------------

    @abstractmethod
    def room(self) -> int:
        """How many jobs it can work on at once."""

    @abstractmethod
    async def sweep(self) -> None:
        """Take back claims a dead hub left behind."""

    @abstractmethod
    async def attempt(self, due: DueT) -> Any | None:
        """Work on one job; its outcome to settle, or None when the claim was lost (someone else
        works on it). Failures are outcomes: whatever it raises is a bug, logged, not settled."""

    @abstractmethod
    def describe(self, due: DueT) -> str:
        """The job in logs ("media 12"), never patient data."""

    async def claim(self, free: int) -> Claimed[DueT]:
        """Up to `free` due jobs, now ours, and when the next falls due."""
        return await self._writer.submit(type(self).claim_due, Claim(free, self._claimant))

    # --- the loop's work ------------------------------------------------------------------------

    async def start_loop(self) -> None:
        await self.sweep()
        await super().start_loop()

    async def stop_loop(self) -> None:
        """Claim nothing more, abandon (or finish) work in flight, hand its claims back."""
        await super().stop_loop()
        if not self.finish_in_flight:
            for task in self._inflight:
                task.cancel()
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=20 if self.finish_in_flight else 10)
        try:
            released = await self._writer.submit(type(self).release, self._claimant)
            if released:
                log.info("%d %s job(s) handed back for the next start", released, self.kind)
        except Exception as exc:  # the stale-claim sweep of the next start takes them back
            log.error("%s release failed: %s", self.kind, type(exc).__name__)

    async def turn(self) -> float | None:
        free = self.room() - len(self._inflight)  # claim only what can start at once
        if free <= 0:
            return None  # a finishing job wakes the loop
        try:
            claimed = await self.claim(free)
        except Exception as exc:
            log.error("%s claim failed: %s", self.kind, type(exc).__name__)
            return 1.0
        for due in claimed.due:
            task = asyncio.create_task(self._run(due))
            self._inflight.add(task)
            task.add_done_callback(self._done)
        if claimed.next_at is not None:
            return max(0.05, (claimed.next_at - self.clock()).total_seconds())
        return None

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # room again: claim what may be waiting

    async def _run(self, due: DueT) -> None:
        outcome = await self.attempt(due)
        if outcome is None:
            return
        code = getattr(outcome, "code", None)
        if code:
            log.info("%s: %s", self.describe(due), code)
        for attempt in range(3):  # recording the outcome must not be lost to a passing failure
            try:
                await self._writer.submit(type(self).settle, outcome)
                return
            except Exception as exc:
                log.error("%s settle failed (%s), attempt %d", self.describe(due), type(exc).__name__, attempt + 1)
                await asyncio.sleep(1 + attempt)
        # Still unrecorded: the stale-claim sweep takes it back and it is worked on again.

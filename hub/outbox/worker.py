"""The outbox worker: sends what the outbox holds through each channel's provider, in the loop every
job worker runs (hub/job_worker.py).

It claims due items of every channel whose provider is set up (a channel without one keeps its
queue, shown as queued), sends them concurrently (bounded) outside any transaction, and settles each
outcome through the writer: accepted, retried with capped backoff for hours (the provider did not
take it: 429, 503, no connection), rejected, or opted out. A request that may have reached the
provider (no clear answer came back) is never sent again blindly: the provider is asked first
(hub.outbox.queue). At stop, sends in flight finish and settle: a message half handed over is not
cut off. Time is the clock it is given (the wall clock; a test's own, to live through an outage).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import msgspec

from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.job_worker import JobWorker
from hub.outbox.queue import Due, RetryPolicy, claim_due, fail_stale_claims, settle
from hub.outbox.senders import EmailSender, Sender, SmsSender
from hub.settings import Settings

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 30.0


class Claimed(msgspec.Struct, frozen=True):
    due: list[Due]
    next_at: datetime | None = None  # the loop looks every idle_poll_s: retries fall due on the second


def _no_release(tx: Any, claimants: list[str]) -> list[int]:
    """Nothing to hand back: sends in flight finish; a claim a dead hub left is looked up later."""
    return [0] * len(claimants)


class OutboxWorker(JobWorker[Due]):
    kind = "outbox"
    claim_due = staticmethod(claim_due)
    settle = staticmethod(settle)
    release = staticmethod(_no_release)
    idle_poll_s = 1.0
    finish_in_flight = True

    def __init__(
        self, settings: Settings, writer: Writer, concurrency: int = 8, clock: Callable[[], datetime] = utcnow
    ) -> None:
        super().__init__(writer, clock)
        self._settings = settings
        self._concurrency = concurrency
        self._policy = RetryPolicy(settings.outbox.retry_window_s, settings.outbox.max_backoff_s)
        self._client: httpx.AsyncClient | None = None
        self._senders: dict[str, Sender] = {}
        self._last_sweep = 0.0

    async def start(self) -> None:
        timeout = self._settings.outbox.provider_timeout_s
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)))
        self._senders = {"sms": SmsSender(self._settings, self._client), "email": EmailSender(self._settings)}
        self._last_sweep = asyncio.get_running_loop().time()  # start_loop sweeps first
        await self.start_loop()

    async def stop(self) -> None:
        """Claim nothing more, let what is in flight finish and settle, then close."""
        await self.stop_loop()
        if self._client:
            await self._client.aclose()

    def room(self) -> int:
        return self._concurrency

    def describe(self, due: Due) -> str:
        return f"outbox item {due.outbox_id} ({due.channel}) attempt {due.attempt}"

    async def claim(self, free: int) -> Claimed:
        due: list[Due] = []
        for channel, sender in self._senders.items():
            if not sender.configured or free - len(due) <= 0:
                continue  # no provider: its items wait in the outbox, shown as queued
            due += await self._writer.submit(claim_due, (channel, free - len(due), self._claimant, self.clock()))
        return Claimed(due)

    async def sweep(self) -> None:
        try:
            stale = await self._writer.submit(fail_stale_claims, self.clock())
        except Exception as exc:
            log.error("outbox sweep failed: %s", type(exc).__name__)
            return
        if stale:
            log.warning("%d outbound message(s) had an unknown outcome: looked up before any resend", stale)

    async def tick(self, now: float) -> None:
        if now - self._last_sweep > SWEEP_EVERY_S:
            self._last_sweep = now
            await self.sweep()

    async def attempt(self, due: Due) -> tuple[Any, ...]:
        sender = self._senders[due.channel]
        found = await sender.reconcile(due) if due.check_first else None
        outcome = found if found is not None else await sender.send(due)
        return (due, outcome, self.clock(), self._policy)

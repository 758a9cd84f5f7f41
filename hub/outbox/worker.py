"""The outbox worker: sends what the outbox holds through each channel's provider.

Woken after every commit (and every second regardless), it claims due items through the
writer, sends them concurrently (bounded), and settles each outcome through the writer:
accepted, retried with capped backoff for hours (the provider did not take it: 429, 503, no
connection), rejected, or opted out. A request that may have reached the provider (no clear
answer came back) is never sent again blindly: the provider is asked first (hub.outbox.queue).
Time is the clock it is given (the wall clock; a test's own, to live through a long outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime

import httpx

from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.outbox.queue import Due, RetryPolicy, claim_due, fail_stale_claims, settle
from hub.outbox.senders import EmailSender, Sender, SmsSender
from hub.settings import Settings

log = logging.getLogger(__name__)


class OutboxWorker:
    def __init__(
        self, settings: Settings, writer: Writer, concurrency: int = 8, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._policy = RetryPolicy(settings.outbox.retry_window_s, settings.outbox.max_backoff_s)
        self._writer = writer
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._stopping = False
        self._claimant = f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self, *_: object) -> None:
        """Called after each commit: a new reply may be waiting."""
        self._wake.set()

    async def start(self) -> None:
        timeout = self._settings.outbox.provider_timeout_s
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)))
        await self._sweep()
        self._task = asyncio.create_task(self._loop(), name="puente-outbox")

    async def stop(self) -> None:
        """Claim nothing more, let what is in flight finish and settle, then close."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=20)
        if self._client:
            await self._client.aclose()

    async def _sweep(self) -> None:
        try:
            stale = await self._writer.submit(fail_stale_claims, self._clock())
        except Exception as exc:
            log.error("outbox sweep failed: %s", type(exc).__name__)
            return
        if stale:
            log.warning("%d outbound message(s) had an unknown outcome: looked up before any resend", stale)

    async def _loop(self) -> None:
        senders: dict[str, Sender] = {
            "sms": SmsSender(self._settings, self._client),  # type: ignore[arg-type]
            "email": EmailSender(self._settings),
        }
        last_sweep = asyncio.get_running_loop().time()
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            self._wake.clear()
            if self._stopping:
                break
            if asyncio.get_running_loop().time() - last_sweep > 30:
                last_sweep = asyncio.get_running_loop().time()
                await self._sweep()
            for channel, sender in senders.items():
                free = self._concurrency - len(self._inflight)  # claim only what can start at once
                if not sender.configured or free <= 0:
                    continue  # no provider: its items wait in the outbox, shown as queued
                try:
                    due = await self._writer.submit(claim_due, (channel, free, self._claimant, self._clock()))
                except Exception as exc:
                    log.error("outbox claim failed: %s", type(exc).__name__)
                    continue
                for item in due:
                    task = asyncio.create_task(self._deliver(sender, item))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)

    async def _deliver(self, sender: Sender, due: Due) -> None:
        found = await sender.reconcile(due) if due.check_first else None
        outcome = found if found is not None else await sender.send(due)
        for attempt in range(3):  # recording the outcome must not be lost to a passing failure
            try:
                await self._writer.submit(settle, (due, outcome, self._clock(), self._policy))
                return
            except Exception as exc:
                log.error(
                    "outbox settle of item %d failed (%s), attempt %d", due.outbox_id, type(exc).__name__, attempt + 1
                )
                await asyncio.sleep(1 + attempt)
        # Still unrecorded: the stale-claim sweep makes it unknown; it is looked up, never blindly resent.

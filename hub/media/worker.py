"""The media worker: fetches what the media queue holds, in the background.

Woken after a commit that queued media (and when the next retry falls due), it claims due items
through the writer, fetches them concurrently (bounded) outside any transaction, and settles
each outcome through the writer. On start it takes back claims a stopped hub left behind; on
stop it abandons what is in flight and hands it back as pending, so the next start resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

import httpx

from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.events import EventKind, Published
from hub.media.fetch import MediaFetcher, redact_request_logs
from hub.media.queue import Claim, Due, Outcome, Sweep, claim_due, release, requeue_stale, settle
from hub.media.reasons import Failure
from hub.media.storage import MediaStore
from hub.settings import Settings

log = logging.getLogger(__name__)

IDLE_POLL_S = 10.0  # look for due items at least this often (another hub may have queued some)
SWEEP_EVERY_S = 60.0


class MediaWorker:
    def __init__(self, settings: Settings, writer: Writer, concurrency: int = 4) -> None:
        self._settings = settings
        self._writer = writer
        self._concurrency = concurrency
        self.store = MediaStore(settings.data_dir / "media")
        self._wake = asyncio.Event()
        self._stopping = False
        self._claimant = f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        # A claim older than this was abandoned: far beyond one fetch's time limit.
        self._stale_after_s = settings.media.timeout_s * 2 + 60

    def notice(self, published: list[Published]) -> None:
        """Called after each commit: wake up if it queued media to fetch."""
        for p in published:
            event = p.frame.event
            if event.kind == EventKind.MESSAGE_IN and any(a.state == "pending" for a in event.attachments):
                self._wake.set()
                return

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        redact_request_logs()
        await asyncio.to_thread(self.store.prepare)
        media = self._settings.media
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(media.timeout_s, connect=min(5.0, media.timeout_s)), follow_redirects=False
        )
        await self._sweep()
        self._task = asyncio.create_task(self._loop(), name="puente-media")

    async def stop(self) -> None:
        """Claim nothing more, abandon fetches in flight, hand their claims back, then close."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task
        for task in self._inflight:
            task.cancel()
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=10)
        try:
            released = await self._writer.submit(release, self._claimant)
            if released:
                log.info("%d media fetch(es) handed back for the next start", released)
        except Exception as exc:  # the stale-claim sweep of the next start takes them back
            log.error("media release failed: %s", type(exc).__name__)
        if self._client:
            await self._client.aclose()

    async def _sweep(self) -> None:
        media = self._settings.media
        try:
            requeued = await self._writer.submit(requeue_stale, Sweep(self._stale_after_s, media.max_attempts))
        except Exception as exc:
            log.error("media sweep failed: %s", type(exc).__name__)
            return
        if requeued:
            log.warning("%d media fetch(es) were abandoned by a stopped hub; taken back", requeued)

    async def _loop(self) -> None:
        assert self._client is not None
        fetcher = MediaFetcher(self._settings, self._client, self.store)
        loop = asyncio.get_running_loop()
        last_sweep = loop.time()
        wait_s = 0.0  # look at once: a restart resumes what was pending
        while not self._stopping:
            if wait_s > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait_s)
            self._wake.clear()
            if self._stopping:
                break
            if loop.time() - last_sweep > SWEEP_EVERY_S:
                last_sweep = loop.time()
                await self._sweep()
            wait_s = IDLE_POLL_S
            free = self._concurrency - len(self._inflight)  # claim only what can start at once
            if free <= 0:
                wait_s = 1.0  # a finishing fetch frees a slot
                continue
            try:
                claimed = await self._writer.submit(claim_due, Claim(free, self._claimant))
            except Exception as exc:
                log.error("media claim failed: %s", type(exc).__name__)
                wait_s = 1.0
                continue
            for due in claimed.due:
                task = asyncio.create_task(self._fetch(fetcher, due))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if claimed.next_at is not None:
                wait_s = min(wait_s, max(0.05, (claimed.next_at - utcnow()).total_seconds()))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free: claim what may be waiting

    async def _fetch(self, fetcher: MediaFetcher, due: Due) -> None:
        media = self._settings.media
        try:
            fetched = await fetcher.fetch(due)
            outcome = Outcome(due, fetched=fetched)
        except Failure as failure:
            outcome = Outcome.failed(due, failure, media.max_attempts, media.retry_base_s)
        except Exception as exc:  # a bug must not lose the item: it is retried, then failed visibly
            log.error("media %d fetch failed unexpectedly: %s", due.media_id, type(exc).__name__)
            outcome = Outcome.failed(due, Failure("storage", transient=True), media.max_attempts, media.retry_base_s)
        if outcome.code:
            log.info("media %d attempt %d: %s", due.media_id, due.attempt, outcome.code)
        for attempt in range(3):  # recording the outcome must not be lost to a passing failure
            try:
                await self._writer.submit(settle, outcome)
                return
            except Exception as exc:
                log.error("media %d settle failed (%s), attempt %d", due.media_id, type(exc).__name__, attempt + 1)
                await asyncio.sleep(1 + attempt)
        # Still unrecorded: the stale-claim sweep takes it back and it is fetched again.

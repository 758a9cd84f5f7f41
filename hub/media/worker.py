"""The media worker: fetches what the media queue holds, in the background, in the loop every job
worker runs (hub/job_worker.py): claimed, fetched concurrently (bounded) outside any transaction,
settled; stale claims taken back at start, claims in flight handed back at stop.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from hub.db.writer import Writer
from hub.events import EventKind, Published
from hub.job_worker import JobWorker
from hub.media.fetch import MediaFetcher, redact_request_logs
from hub.media.queue import Due, Outcome, Sweep, claim_due, release, requeue_stale, settle
from hub.media.reasons import Failure
from hub.media.storage import MediaStore
from hub.settings import Settings

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 60.0


class MediaWorker(JobWorker[Due]):
    kind = "media"
    claim_due = staticmethod(claim_due)
    settle = staticmethod(settle)
    release = staticmethod(release)

    def __init__(self, settings: Settings, writer: Writer, concurrency: int = 4) -> None:
        super().__init__(writer)
        self._settings = settings
        self._concurrency = concurrency
        self.store = MediaStore(settings.data_dir / "media")
        self._client: httpx.AsyncClient | None = None
        self._fetcher: MediaFetcher | None = None
        self._last_sweep = 0.0
        # A claim older than this was abandoned: far beyond one fetch's time limit.
        self._stale_after_s = settings.media.timeout_s * 2 + 60

    def notice(self, published: list[Published]) -> None:
        """Called after each commit: wake up if it queued media to fetch."""
        for p in published:
            event = p.frame.event
            if event.kind == EventKind.MESSAGE_IN and any(a.state == "pending" for a in event.attachments):
                self.wake()
                return

    async def start(self) -> None:
        redact_request_logs()
        await asyncio.to_thread(self.store.prepare)
        media = self._settings.media
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(media.timeout_s, connect=min(5.0, media.timeout_s)), follow_redirects=False
        )
        self._fetcher = MediaFetcher(self._settings, self._client, self.store)
        self._last_sweep = asyncio.get_running_loop().time()
        await self.start_loop()

    async def stop(self) -> None:
        """Claim nothing more, abandon fetches in flight, hand their claims back, then close."""
        await self.stop_loop()
        if self._client:
            await self._client.aclose()

    def room(self) -> int:
        return self._concurrency

    def describe(self, due: Due) -> str:
        return f"media {due.media_id} attempt {due.attempt}"

    async def sweep(self) -> None:
        media = self._settings.media
        try:
            requeued = await self._writer.submit(requeue_stale, Sweep(self._stale_after_s, media.max_attempts))
        except Exception as exc:
            log.error("media sweep failed: %s", type(exc).__name__)
            return
        if requeued:
            log.warning("%d media fetch(es) were abandoned by a stopped hub; taken back", requeued)

    async def tick(self, now: float) -> None:
        if now - self._last_sweep > SWEEP_EVERY_S:
            self._last_sweep = now
            await self.sweep()

    async def attempt(self, due: Due) -> Outcome:
        assert self._fetcher is not None
        media = self._settings.media
        try:
            return Outcome(due=due, fetched=await self._fetcher.fetch(due))
        except Failure as failure:
            return Outcome.failed(due, failure, media.max_attempts, media.retry_base_s)
        except Exception as exc:  # a bug must not lose the item: it is retried, then failed visibly
            log.error("media %d fetch failed unexpectedly: %s", due.media_id, type(exc).__name__)
            return Outcome.failed(due, Failure("storage", transient=True), media.max_attempts, media.retry_base_s)

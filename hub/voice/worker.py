"""The voice worker: checks and transcribes voice notes in the background, in the loop every job
worker runs (hub/job_worker.py), as many at once as it has child processes (hub/voice/pool.py).

Each note: the audio is decoded in a child to measure it and, if needed, make a copy every browser
plays (settled at once: agents can listen while the transcript is made), then transcribed in a
child and settled: done, or failed with the reason. The claims' time is kept fresh while the work
runs, so only a dead hub's claims ever look stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from hub.db.writer import Writer
from hub.events import EventKind, Published
from hub.job_worker import JobWorker
from hub.media.reasons import size_label
from hub.media.storage import MediaStore
from hub.ratelimit import Window
from hub.settings import Settings
from hub.voice.pool import ChildCrashed, ChildProblem, ChildTimeout, EnginePool
from hub.voice.queue import (
    Checked,
    Due,
    Heard,
    Outcome,
    Sweep,
    claim_due,
    keep_claims,
    release,
    requeue_stale,
    settle,
    settle_checked,
)
from hub.voice.reasons import VoiceFailure, seconds_label

log = logging.getLogger(__name__)

KEEP_CLAIMS_S = 20.0  # how often a working hub says its claims are alive
STALE_AFTER_S = 120.0  # a claim not kept up for this long belongs to a hub that died
MEASURE_LIMIT = 4  # decoding for the duration stops at this many times the longest note transcribed


class VoiceWorker(JobWorker[Due]):
    kind = "voice"
    claim_due = staticmethod(claim_due)
    settle = staticmethod(settle)
    release = staticmethod(release)

    def __init__(self, settings: Settings, writer: Writer, store: MediaStore) -> None:
        super().__init__(writer)
        self._settings = settings
        self._voice = settings.voice
        self.store = store
        self.pool = EnginePool(
            self._voice.workers, self._voice.engine, self._voice.command, str(store.root), self._voice.threads
        )
        self.uploads = Window(self._voice.uploads_per_hour, 3600)  # web-chat recordings, per visitor
        self._last_keep = self._last_sweep = 0.0

    def notice(self, published: list[Published]) -> None:
        """Called after each commit: wake up if it stored audio (a fetched MMS or voicemail, an upload)."""
        for p in published:
            event = p.frame.event
            if event.kind == EventKind.MEDIA_STATUS and (event.data.get("content_type") or "").startswith("audio/"):
                self.wake()
                return
            if event.kind == EventKind.MESSAGE_IN and any(a.voice for a in event.attachments):
                self.wake()
                return

    async def start(self) -> None:
        self._last_keep = self._last_sweep = asyncio.get_running_loop().time()
        await self.start_loop()

    async def stop(self) -> None:
        """Claim nothing more, abandon work in flight (its children are killed), hand claims back."""
        await self.stop_loop()
        await self.pool.stop()

    def room(self) -> int:
        return self.pool.size

    def describe(self, due: Due) -> str:
        return f"voice note {due.note_id} attempt {due.attempt}"

    async def sweep(self) -> None:
        try:
            requeued = await self._writer.submit(requeue_stale, Sweep(STALE_AFTER_S, self._voice.max_attempts))
        except Exception as exc:
            log.error("voice sweep failed: %s", type(exc).__name__)
            return
        if requeued:
            log.warning("%d voice note(s) were abandoned by a stopped hub; taken back", requeued)

    async def tick(self, now: float) -> None:
        if self._inflight and now - self._last_keep > KEEP_CLAIMS_S:
            self._last_keep = now
            with contextlib.suppress(Exception):
                await self._writer.submit(keep_claims, self._claimant)
        if now - self._last_sweep > STALE_AFTER_S / 2:
            self._last_sweep = now
            await self.sweep()

    async def attempt(self, due: Due) -> Outcome | None:
        try:
            return await self._attempt(due)
        except VoiceFailure as failure:
            return Outcome.failed(due, failure, self._voice.max_attempts, self._voice.retry_base_s)
        except Exception as exc:  # a bug must not lose the note: it is retried, then failed visibly
            log.error("voice note %d failed unexpectedly: %s", due.note_id, type(exc).__name__)
            failure = VoiceFailure("crashed", transient=True)
            return Outcome.failed(due, failure, self._voice.max_attempts, self._voice.retry_base_s)

    async def _attempt(self, due: Due) -> Outcome | None:
        voice = self._voice
        path = self.store.path_of(due.sha256)
        if not await asyncio.to_thread(path.is_file):
            raise VoiceFailure("missing")
        if due.size > voice.max_bytes:
            raise VoiceFailure("too_big", limit=size_label(voice.max_bytes))
        duration = due.duration_s
        if duration is None:  # first the check: agents can play it while the transcript is made
            measure_s = voice.max_seconds * MEASURE_LIMIT
            got = await self._child(
                "check",
                {"path": str(path), "content_type": due.content_type, "measure_s": measure_s},
                timeout_s=60 + measure_s / 4,
            )
            duration = float(got["duration_s"])
            checked = Checked(due, duration, got["playable_sha256"], got["playable_size"])
            if not await self._writer.submit(settle_checked, checked):
                return None
            log.info("voice note %d checked: %.1f s of audio, %.2f s CPU", due.note_id, duration, got["cpu_s"])
        if duration > voice.max_seconds:
            raise VoiceFailure("too_long", limit=seconds_label(voice.max_seconds))
        got = await self._child(
            "transcribe",
            {"path": str(path), "max_s": float(voice.max_seconds), "language_hint": due.language_hint},
            timeout_s=60 + 4 * duration,  # at most about 1 s of CPU per second of audio here: ample
        )
        cpu = got["decode_cpu_s"] + got["recognise_cpu_s"]
        log.info(
            "voice note %d transcribed by %s: %.1f s of audio, %.2f s CPU (%.2f per second of audio), "
            "language %s, confidence %s%s; the child's peak memory %s MB",
            due.note_id,
            got["engine"],
            got["seconds"],
            cpu,
            cpu / max(got["seconds"], 0.001),
            got["language"],
            got["confidence"],
            " (low)" if got["low_confidence"] else "",
            got.get("peak_rss_mb"),
        )
        heard = Heard(
            got["text"],
            got["language"],
            got["confidence"],
            got["low_confidence"],
            got["engine"],
            segments=got.get("segments") or [],
            language_probability=got.get("language_probability"),
        )
        return Outcome(due=due, heard=heard)

    async def _child(self, op: str, args: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        try:
            return await self.pool.call(op, args, timeout_s)
        except ChildProblem as problem:
            # The audio itself is at fault (damaged, not audio): final. An engine's failure may pass.
            raise VoiceFailure(problem.code, transient=problem.code == "engine", **problem.params) from None
        except ChildCrashed:
            raise VoiceFailure("crashed", transient=True) from None
        except ChildTimeout:
            raise VoiceFailure("timeout", transient=True) from None

"""The voice worker: checks and transcribes voice notes in the background.

Woken after a commit that stored audio (and when a retry falls due), it claims due notes through
the writer and works on as many at once as it has child processes (hub/voice/pool.py). Each note:
the audio is decoded in a child to measure it and, if needed, make a copy every browser plays
(settled at once: agents can listen while the transcript is made), then transcribed in a child
and settled: done, or failed with the reason. The claims' time is kept fresh while the work
runs, so only a dead hub's claims ever look stale. On start it takes back stale claims; on stop
it abandons what is in flight and hands it back as pending, so the next start resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.events import EventKind, Published
from hub.media.reasons import size_label
from hub.media.storage import MediaStore
from hub.ratelimit import Window
from hub.settings import Settings
from hub.voice.pool import ChildCrashed, ChildProblem, ChildTimeout, EnginePool
from hub.voice.queue import (
    Checked,
    Claim,
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

IDLE_POLL_S = 10.0  # look for due notes at least this often (another hub may have queued some)
KEEP_CLAIMS_S = 20.0  # how often a working hub says its claims are alive
STALE_AFTER_S = 120.0  # a claim not kept up for this long belongs to a hub that died
MEASURE_LIMIT = 4  # decoding for the duration stops at this many times the longest note transcribed


class VoiceWorker:
    def __init__(self, settings: Settings, writer: Writer, store: MediaStore) -> None:
        self._settings = settings
        self._voice = settings.voice
        self._writer = writer
        self.store = store
        self.pool = EnginePool(self._voice.workers, self._voice.engine, self._voice.command, str(store.root))
        self.uploads = Window(self._voice.uploads_per_hour, 3600)  # web-chat recordings, per visitor
        self._wake = asyncio.Event()
        self._stopping = False
        self._claimant = f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    def notice(self, published: list[Published]) -> None:
        """Called after each commit: wake up if it stored audio (a fetched MMS or voicemail, an upload)."""
        for p in published:
            event = p.frame.event
            if event.kind == EventKind.MEDIA_STATUS and (event.data.get("content_type") or "").startswith("audio/"):
                self._wake.set()
                return
            if event.kind == EventKind.MESSAGE_IN and any(a.voice for a in event.attachments):
                self._wake.set()
                return

    async def start(self) -> None:
        await self._sweep()
        self._task = asyncio.create_task(self._loop(), name="puente-voice")

    async def stop(self) -> None:
        """Claim nothing more, abandon work in flight (its children are killed), hand claims back."""
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
                log.info("%d voice note(s) handed back for the next start", released)
        except Exception as exc:  # the stale-claim sweep of the next start takes them back
            log.error("voice release failed: %s", type(exc).__name__)
        await self.pool.stop()

    async def _sweep(self) -> None:
        try:
            requeued = await self._writer.submit(requeue_stale, Sweep(STALE_AFTER_S, self._voice.max_attempts))
        except Exception as exc:
            log.error("voice sweep failed: %s", type(exc).__name__)
            return
        if requeued:
            log.warning("%d voice note(s) were abandoned by a stopped hub; taken back", requeued)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_keep = last_sweep = loop.time()
        wait_s = 0.0  # look at once: a restart resumes what was pending
        while not self._stopping:
            if wait_s > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait_s)
            self._wake.clear()
            if self._stopping:
                break
            if self._inflight and loop.time() - last_keep > KEEP_CLAIMS_S:
                last_keep = loop.time()
                with contextlib.suppress(Exception):
                    await self._writer.submit(keep_claims, self._claimant)
            if loop.time() - last_sweep > STALE_AFTER_S / 2:
                last_sweep = loop.time()
                await self._sweep()
            wait_s = min(IDLE_POLL_S, KEEP_CLAIMS_S)
            free = self.pool.size - len(self._inflight)  # claim only what can start at once
            if free <= 0:
                continue  # a finishing note wakes the loop
            try:
                claimed = await self._writer.submit(claim_due, Claim(free, self._claimant))
            except Exception as exc:
                log.error("voice claim failed: %s", type(exc).__name__)
                wait_s = 1.0
                continue
            for due in claimed.due:
                task = asyncio.create_task(self._work(due))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if claimed.next_at is not None:
                wait_s = min(wait_s, max(0.05, (claimed.next_at - utcnow()).total_seconds()))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a child is free: claim what may be waiting

    async def _work(self, due: Due) -> None:
        try:
            outcome = await self._attempt(due)
        except VoiceFailure as failure:
            outcome = Outcome.failed(due, failure, self._voice.max_attempts, self._voice.retry_base_s)
        except Exception as exc:  # a bug must not lose the note: it is retried, then failed visibly
            log.error("voice note %d failed unexpectedly: %s", due.note_id, type(exc).__name__)
            failure = VoiceFailure("crashed", transient=True)
            outcome = Outcome.failed(due, failure, self._voice.max_attempts, self._voice.retry_base_s)
        if outcome is None:
            return  # the claim was lost: someone else works on it
        if outcome.code:
            log.info("voice note %d attempt %d: %s", due.note_id, due.attempt, outcome.code)
        for attempt in range(3):  # recording the outcome must not be lost to a passing failure
            try:
                await self._writer.submit(settle, outcome)
                return
            except Exception as exc:
                log.error("voice note %d settle failed (%s), attempt %d", due.note_id, type(exc).__name__, attempt + 1)
                await asyncio.sleep(1 + attempt)
        # Still unrecorded: the stale-claim sweep takes it back and it is worked on again.

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
            timeout_s=60 + 4 * duration,  # about 0.5 s of CPU per second of audio here: ample
        )
        cpu = got["decode_cpu_s"] + got["recognise_cpu_s"]
        log.info(
            "voice note %d transcribed by %s: %.1f s of audio, %.2f s CPU (%.2f per second of audio)",
            due.note_id,
            got["engine"],
            got["seconds"],
            cpu,
            cpu / max(got["seconds"], 0.001),
        )
        heard = Heard(got["text"], got["language"], got["confidence"], got["low_confidence"], got["engine"])
        return Outcome(due, heard=heard)

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

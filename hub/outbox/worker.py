"""The outbox worker: sends what the outbox holds through each channel's provider.

Woken after every commit (and every second regardless), it claims due items through the
writer, sends them concurrently (bounded), and settles each outcome through the writer:
accepted, retried with backoff (the provider did not take it: 429, 5xx, no connection),
rejected, or opted out. A request that may have reached the provider (it timed out waiting
for the answer) is not retried blindly: it is failed with the reason shown to the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from channels.sms.adapter import OutboundSms, SendOutcome, read_send_reply, render_send
from hub.db.writer import Writer
from hub.outbox.queue import Due, claim_due, fail_interrupted, settle
from hub.settings import Settings

log = logging.getLogger(__name__)


class SmsSender:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._sms = settings.sms
        self._client = client
        base = settings.sms.public_url or f"http://{settings.server.host}:{settings.server.port}"
        self._status_callback = base.rstrip("/") + "/api/channels/sms/status"

    @property
    def configured(self) -> bool:
        return bool(self._sms.account_sid and self._sms.auth_token and self._sms.from_number)

    async def send(self, due: Due) -> SendOutcome:
        if due.to is None:
            return SendOutcome("rejected", error="the patient has no phone number that accepts SMS")
        path, fields = render_send(
            self._sms.account_sid, self._sms.from_number, OutboundSms(due.to, due.body), self._status_callback
        )
        try:
            r = await self._client.post(
                self._sms.api_base_url.rstrip("/") + path,
                data=dict(fields),
                auth=(self._sms.account_sid, self._sms.auth_token),
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return SendOutcome("retry", error=f"could not reach the SMS provider ({type(exc).__name__})")
        except httpx.HTTPError as exc:  # sent, but no answer: it may or may not have gone out
            return SendOutcome(
                "rejected",
                error=f"no answer from the SMS provider ({type(exc).__name__}); not resent in case it went out",
            )
        return read_send_reply(r.status_code, r.content)


class OutboxWorker:
    def __init__(self, settings: Settings, writer: Writer, concurrency: int = 8) -> None:
        self._settings = settings
        self._writer = writer
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self, *_: object) -> None:
        """Called after each commit: a new reply may be waiting."""
        self._wake.set()

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        interrupted = await self._writer.submit(fail_interrupted, None)
        if interrupted:
            log.warning("%d outbound message(s) were being sent when the hub stopped; failed visibly", interrupted)
        self._task = asyncio.create_task(self._loop(), name="puente-outbox")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=15)
        if self._client:
            await self._client.aclose()

    async def _loop(self) -> None:
        sender = SmsSender(self._settings, self._client)  # type: ignore[arg-type]
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            self._wake.clear()
            if not sender.configured:
                continue  # no provider: replies wait in the outbox, shown as queued
            try:
                due = await self._writer.submit(claim_due, ("sms", 50))
            except Exception as exc:
                log.error("outbox claim failed: %s", type(exc).__name__)
                continue
            for item in due:
                await self._slots.acquire()
                task = asyncio.create_task(self._deliver(sender, item))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

    async def _deliver(self, sender: SmsSender, due: Due) -> None:
        try:
            outcome = await sender.send(due)
            await self._writer.submit(settle, (due, outcome))
        except Exception as exc:  # settled again at next start (fail_interrupted) if this fails
            log.error("outbox delivery of %d failed: %s", due.message_seq, type(exc).__name__)
        finally:
            self._slots.release()

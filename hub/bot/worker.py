"""The assistant's worker: takes turns in conversations the assistant holds, and checks every
patient message for red flags wherever it is (hub/routing/worker.py hands waiting conversations to
agents who become free).

Woken after each commit with the events it brought: a patient's message in a bot conversation,
or one that raises a red flag wherever it is, gets a turn. A sweep every few seconds catches what
a restart, another hub process or a lost wake-up left in bot conversations (the database says
which have messages the bot has not read) and retries failed turns. At start it catches up on the
last hour of messages in agents' conversations. Turns go through the writer, so they commit with
everything they do, once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.bot.engine import READS, BotConfig, Turn, bot_turns
from hub.bot.redflags import active_phrases  # the admins' list, read inside each turn
from hub.bot.say import Voice
from hub.bot.understand import red_flags
from hub.db.models import Conversation, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.email.outbound import mail_identity
from hub.events import ConversationStatus, Published
from hub.job_worker import WorkerLoop
from hub.settings import Settings

log = logging.getLogger(__name__)

SWEEP_S = 5.0
PHRASES_TTL_S = 2.5  # with active_phrases' cache: an edit made in another hub process applies here within 5 s
CATCH_UP = timedelta(hours=1)  # at start: messages in agents' conversations a stop may have left unchecked
TURN_RETRIES = 5
CATCH_UP_CHUNK = 50


def bot_config(settings: Settings) -> BotConfig:
    clinic, sms, smtp = settings.clinic, settings.sms, settings.smtp
    return BotConfig(
        voice=Voice(
            clinic.name,
            clinic.phone,
            clinic.default_language,
            clinic.default_region,
            clinic.timezone,
            mail_identity(settings),
        ),
        code_key=hmac.new(settings.security.secret.encode(), b"puente/bot-code/v1", hashlib.sha256).digest(),
        failures=settings.bot.failures_before_handoff,
        default_team=settings.bot.default_team,
        emergency_team=settings.bot.emergency_team,
        texts_can_go=bool(sms.account_sid and sms.auth_token and sms.from_number),
        email_from=smtp.from_address if smtp.host and smtp.from_address else None,
        reply_within_minutes=settings.routing.reply_within_minutes,
    )


class BotWorker(WorkerLoop):
    kind = "assistant"
    idle_poll_s = SWEEP_S

    def __init__(self, settings: Settings, writer: Writer, read_sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(writer)
        self._settings = settings
        self._config = bot_config(settings)
        self._read_sessions = read_sessions
        self._pending: set[int] = set()
        self._catching_up: asyncio.Task[None] | None = None
        self._phrases: list[Any] = []
        self._phrases_at = 0.0
        self._failures: dict[int, int] = {}  # conversation id -> failed turns in a row
        self._last_sweep = 0.0
        self.turns = 0  # for tests and operators

    def notice(self, published: list[Published]) -> None:
        """After a commit: conversations with a new message the bot should look at. In memory and
        cheap: most messages belong to conversations agents hold, and those need a turn only when
        the message raises a red flag, or the conversation holds an identity check to keep or drop."""
        for p in published:
            event, conv = p.frame.event, p.frame.conversation
            if event.kind not in READS:
                continue
            if (
                conv.handler == "bot"
                or conv.verified_at is not None  # is this still the person who was checked?
                or (event.text and red_flags(event.text, self._phrases))
            ):
                self._pending.add(conv.id)
        if self._pending:
            self.wake()

    async def reload_phrases(self) -> None:
        """The red-flag list changed here: the next message is checked against the new one."""
        await self._refresh_phrases(force=True)

    async def start(self) -> None:
        await self._refresh_phrases(force=True)
        await self.start_loop()
        self._catching_up = asyncio.create_task(self._catch_up(), name="puente-bot-catch-up")  # beside the loop

    async def stop(self) -> None:
        self._stopping = True
        if self._catching_up:
            await self._catching_up
        await self.stop_loop()

    async def _refresh_phrases(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._phrases_at < PHRASES_TTL_S:
            return
        try:
            async with self._read_sessions() as s:
                self._phrases = await s.run_sync(active_phrases)
            self._phrases_at = time.monotonic()
        except Exception as exc:  # keep the last list; the turn itself reads the current one
            log.error("bot could not read the red-flag list: %s", type(exc).__name__)

    async def _catch_up(self) -> None:
        """At start: conversations agents hold with messages of the last hour the bot has not
        read. A stop between a message's commit and its red-flag check must not lose the check."""
        since = utcnow() - CATCH_UP
        try:
            async with self._read_sessions() as s:
                rows = await s.execute(
                    select(Conversation.id).where(
                        Conversation.handler != "bot",
                        Conversation.status != ConversationStatus.RESOLVED,
                        Conversation.last_inbound_at >= since,
                        Conversation.last_event_seq > Conversation.bot_seq,
                    )
                )
                ids = sorted(rows.scalars())
        except Exception as exc:  # the sweeps go on; bot conversations are caught up by them
            log.error("bot could not look for unchecked messages: %s", type(exc).__name__)
            return
        for start in range(0, len(ids), CATCH_UP_CHUNK):  # in chunks, so a stop need not wait for all
            if self._stopping:
                return
            chunk = ids[start : start + CATCH_UP_CHUNK]
            results = await asyncio.gather(
                *(self._writer.submit(bot_turns, Turn(cid, self._config, since)) for cid in chunk),
                return_exceptions=True,
            )
            for cid, result in zip(chunk, results, strict=True):
                if isinstance(result, BaseException):
                    log.error("bot catch-up in conversation %d failed: %s", cid, type(result).__name__)
                    self._retry_later(cid)  # retried as an ordinary turn: it reads all it has not read

    async def tick(self, now: float) -> None:
        """The red-flag list re-read every few seconds; every SWEEP_S, the conversations a lost
        wake-up left unanswered, and failed turns to retry."""
        await self._refresh_phrases()
        if now - self._last_sweep >= SWEEP_S:
            self._last_sweep = now
            self._pending |= await self._unanswered() | self._retries()

    async def turn(self) -> float | None:
        pending, self._pending = sorted(self._pending), set()
        if not pending:
            return None
        results = await asyncio.gather(
            *(self._writer.submit(bot_turns, Turn(cid, self._config)) for cid in pending), return_exceptions=True
        )
        for cid, result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                log.error("bot turn in conversation %d failed: %s", cid, type(result).__name__)
                self._retry_later(cid)
            else:
                self._failures.pop(cid, None)
                self.turns += 1
        return None

    def _retry_later(self, cid: int) -> None:
        """A turn that failed (its transaction rolled back, so nothing is half done) is taken
        again at the next sweep, a few times: in an agent's conversation only this brings a red
        flag back, since the sweep reads bot conversations alone."""
        self._failures[cid] = self._failures.get(cid, 0) + 1
        if self._failures[cid] > TURN_RETRIES:
            log.error("bot gave up on conversation %d after %d failed turns", cid, TURN_RETRIES)
            self._failures.pop(cid)

    def _retries(self) -> set[int]:
        return set(self._failures)

    async def _unanswered(self) -> set[int]:
        """Bot conversations with patient messages the bot has not read yet (a wake-up lost to a
        restart or another hub process). In agents' conversations the instant check finds red
        flags (with the list re-read every few seconds), failed turns are retried, and a start
        catches up on the last hour."""
        unread = exists().where(
            TimelineEvent.conversation_id == Conversation.id,
            TimelineEvent.seq > Conversation.bot_seq,
            TimelineEvent.kind.in_(READS),
        )
        async with self._read_sessions() as s:
            rows = await s.execute(
                select(Conversation.id)
                .where(Conversation.handler == "bot", Conversation.status != ConversationStatus.RESOLVED, unread)
                .limit(500)
            )
            return set(rows.scalars())

"""The satisfaction question's worker, on the one job loop: after a commit it notes conversations
just resolved (their survey is planned) and patients' messages that landed in a resolved
conversation (an SMS score, hub/csat/inbound.py), records those answers, and asks the surveys that
are due, looking again when the earliest held one (quiet hours) falls due."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.bot.worker import bot_config
from hub.csat.score import parse_answer
from hub.csat.survey import Answer, Asking, Outcome, ask_due, plan, record
from hub.db.models import CsatSurvey
from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.events import ConversationStatus, EventKind, Published
from hub.job_worker import WorkerLoop
from hub.settings import Settings


def survey_key(settings: Settings) -> bytes:
    return hmac.new(settings.security.secret.encode(), b"puente/csat-link/v1", hashlib.sha256).digest()


def public_base(settings: Settings) -> str:
    server = settings.server
    return (server.public_url or settings.sms.public_url or f"http://{server.host}:{server.port}").rstrip("/")


class CsatWorker(WorkerLoop):
    kind = "csat"
    idle_poll_s = 5.0  # a held survey falls due by the clock (another hub may have planned one)

    def __init__(
        self,
        settings: Settings,
        writer: Writer,
        read_sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(writer, clock)
        self._read_sessions = read_sessions
        voice = bot_config(settings).voice
        self.key = survey_key(settings)
        self.asking = Asking(voice, f"{public_base(settings)}/survey.html", self.key)
        self.emergency_team = settings.bot.emergency_team
        self.enabled = settings.csat.enabled
        self._resolved: set[int] = set()
        self._messages: list[tuple[int, int, str | None, str]] = []  # conversation, seq, text, channel

    async def start(self) -> None:
        await self.start_loop()

    async def stop(self) -> None:
        await self.stop_loop()

    def notice(self, published: list[Published]) -> None:
        """After a commit (cheap, in memory): what may concern a survey."""
        for p in published:
            event, conv = p.frame.event, p.frame.conversation
            if (
                self.enabled
                and event.kind == EventKind.STATUS_CHANGE
                and event.data.get("to") == ConversationStatus.RESOLVED
            ):
                self._resolved.add(conv.id)
            elif event.kind == EventKind.MESSAGE_IN and conv.status == ConversationStatus.RESOLVED:
                self._messages.append((conv.id, event.seq, event.text, event.channel or ""))
        if self._resolved or self._messages:
            self.wake()

    def answer(self, conversation_id: int, score: int, comment: str | None, channel: str) -> Answer:
        return Answer(conversation_id, score, comment, channel, self.clock(), self.emergency_team, self.asking.voice)

    async def take(self, answer: Answer) -> Outcome:
        return await self._writer.submit(record, answer)

    async def turn(self) -> float | None:
        now = self.clock()
        resolved, self._resolved = self._resolved, set()
        for cid in resolved:
            await self._writer.submit(plan, (cid, now))
        messages, self._messages = self._messages, []
        for cid, seq, text, channel in messages:
            parsed = parse_answer(text)
            if parsed is not None:
                answer = self.answer(cid, parsed[0], parsed[1], channel)
                await self.take(msgspec.structs.replace(answer, message_seq=seq))
        earliest = await self._earliest()
        if earliest is not None and earliest <= now:
            await self._writer.submit(ask_due, (self.asking, now))
            earliest = await self._earliest()
        if earliest is None:
            return None
        return max(0.05, (earliest - self.clock()).total_seconds())

    async def _earliest(self) -> datetime | None:
        async with self._read_sessions() as s:
            return (
                await s.execute(select(func.min(CsatSurvey.due_at)).where(CsatSurvey.state == "due"))
            ).scalar_one_or_none()

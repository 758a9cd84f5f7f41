"""Who has a conversation open: staff see "Ben is viewing" on a conversation a colleague has open.

An inbox says which conversation it shows (`{"type": "viewing", "conversation_id": N | null}` on
its stream). Its socket checks the agent may see it, then tells every hub process (a signal on the
channels plugin, like typing); each process passes it to its sockets whose staff may see the
conversation, never to anyone else. While the view stays open the socket says it again every
PUENTE_REALTIME_VIEWING_EVERY_S (15 s), with the conversation's reach read again (moved out of the
agent's sight: the view ends); a changed view or a closed socket says it ended. Clients forget a
viewer after viewing_ttl() without news (40 s), which covers a hub process that died without saying
anything.

Every process also remembers what it was told (Viewers), so an inbox that opens a conversation is
told at once who already has it open, wherever they are connected.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.agents.roles import Principal
from hub.db.models import Conversation
from hub.events import Signal, ViewingFrame, ViewingSignal
from hub.timeline.reads import visible

log = logging.getLogger(__name__)


def viewing_ttl(every: float) -> float:
    """How long a viewer lasts without being said again: two missed refreshes and some."""
    return 2 * every + 10


def viewing_frame(signal: ViewingSignal, ttl: float) -> ViewingFrame:
    return ViewingFrame(signal.conversation_id, signal.viewer, signal.agent_id, signal.name, signal.viewing, ttl)


class Viewers:
    """What this process was told about open conversations, from every process; entries not
    said again within `ttl` seconds are forgotten."""

    def __init__(self, ttl: float) -> None:
        self.ttl = self._ttl = ttl
        self._by_conversation: dict[int, dict[str, tuple[float, ViewingSignal]]] = {}
        self._pruned = time.monotonic()

    def note(self, signal: ViewingSignal) -> None:
        now = time.monotonic()
        if now - self._pruned > self._ttl:
            self._pruned = now
            for conversation_id in list(self._by_conversation):
                self._prune(conversation_id, now)
        views = self._by_conversation.setdefault(signal.conversation_id, {})
        if signal.viewing:
            views[signal.viewer] = (now + self._ttl, signal)
        else:
            views.pop(signal.viewer, None)
            if not views:
                del self._by_conversation[signal.conversation_id]

    def of(self, conversation_id: int) -> list[ViewingSignal]:
        self._prune(conversation_id, time.monotonic())
        return [signal for _, signal in self._by_conversation.get(conversation_id, {}).values()]

    def _prune(self, conversation_id: int, now: float) -> None:
        views = self._by_conversation.get(conversation_id)
        if views is None:
            return
        for viewer, (until, _) in list(views.items()):
            if until < now:
                del views[viewer]
        if not views:
            del self._by_conversation[conversation_id]


class Viewing:
    """One socket's open conversation."""

    def __init__(
        self,
        principal: Principal,
        read_sessions: async_sessionmaker[AsyncSession],
        signal: Callable[[Signal], None],
        every: float,
    ) -> None:
        self.viewer = secrets.token_urlsafe(12)
        self.every = every
        self.current: ViewingSignal | None = None
        self._principal, self._read_sessions, self._signal = principal, read_sessions, signal

    async def open(self, conversation_id: int | None) -> bool:
        """The inbox now shows this conversation (None: none). True when a view began."""
        if self.current is not None and self.current.conversation_id == conversation_id:
            return False
        self.leave()
        if conversation_id is None:
            return False
        now = await self._said(conversation_id)
        if now is None or self.current is not None:  # out of reach, or another view began meanwhile
            return False
        self.current = now
        self._signal(now)
        return True

    def leave(self) -> None:
        if self.current is not None:
            self._signal(msgspec.structs.replace(self.current, viewing=False))
            self.current = None

    async def keep(self) -> None:
        """Says the open view again every `every` seconds, until cancelled."""
        while True:
            await asyncio.sleep(self.every)
            was = self.current
            if was is None:
                continue
            try:
                now = await self._said(was.conversation_id)
            except Exception as exc:  # the database is away: say it again next time
                log.error("viewing refresh failed: %s", type(exc).__name__)
                continue
            if self.current is not was:  # the view changed meanwhile
                continue
            if now is None:
                self.leave()
            else:
                self.current = now
                self._signal(now)

    async def _said(self, conversation_id: int) -> ViewingSignal | None:
        """The signal for this conversation with its reach as of now; None if out of the agent's reach."""
        async with self._read_sessions() as s:
            reach = (
                await s.execute(
                    select(Conversation.team_id, Conversation.assignee_id, Conversation.escalation).where(
                        Conversation.id == conversation_id, visible(self._principal)
                    )
                )
            ).first()
        if reach is None:
            return None
        team_id, assignee_id, escalation = reach
        p = self._principal
        return ViewingSignal(
            conversation_id, self.viewer, p.id, p.display_name, team_id, assignee_id, int(escalation), True
        )

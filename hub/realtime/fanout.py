"""Fan-out of committed events to agents' sockets over Litestar's channels plugin.

Every hub process subscribes once, at startup, to one channel. Each event is decoded once
here to learn who may see it, then its bytes go to the bounded queue of every socket whose
agent may. A full queue never blocks anyone else: that socket is told to reconnect, and it
catches up from the database with no gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from hub.agents.roles import Principal
from hub.events import Published, encode
from hub.settings import RealtimeSettings

log = logging.getLogger(__name__)


class _RouteConversation(msgspec.Struct):
    team_id: int | None
    assignee_id: int | None


class _RouteData(msgspec.Struct):
    previous_assignee_id: int | None = None


class _RouteEvent(msgspec.Struct):
    data: _RouteData


class _Route(msgspec.Struct):
    """The part of an EventFrame that routing needs; the rest is not decoded."""

    seq: int
    event: _RouteEvent
    conversation: _RouteConversation


_frames = msgspec.json.Decoder(list[msgspec.Raw]).decode  # each frame's exact bytes
_route = msgspec.json.Decoder(_Route).decode


class SocketQueue:
    """One agent socket's bounded send queue."""

    def __init__(self, principal: Principal, maxsize: int) -> None:
        self.principal = principal
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue(maxsize)
        self.cut_off = asyncio.Event()  # set when the client fell too far behind

    def may_see(self, team_id: int | None, assignee_id: int | None) -> bool:
        p = self.principal
        return p.sees_everything or team_id is None or team_id in p.team_ids or assignee_id == p.id

    def offer(self, seq: int, data: str) -> None:
        if self.cut_off.is_set():
            return
        try:
            self.queue.put_nowait((seq, data))
        except asyncio.QueueFull:
            # What is dropped here is read again from the database when the client reconnects.
            self.cut_off.set()


def make_backend(settings: RealtimeSettings) -> ChannelsBackend:
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        return RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url), key_prefix=settings.channel_prefix)
    return MemoryChannelsBackend()


class Fanout:
    def __init__(self, settings: RealtimeSettings) -> None:
        self.channel = f"{settings.channel_prefix}.events"
        self.plugin = ChannelsPlugin(backend=make_backend(settings), channels=[self.channel])
        self.queue_size = settings.socket_queue
        self._sockets: set[SocketQueue] = set()
        self._task: asyncio.Task[None] | None = None

    def publish(self, items: list[Published]) -> None:
        """Called by the writer after commit, in commit order: one channel message per commit."""
        self.plugin.publish(encode([p.frame for p in items]), self.channel)

    def register(self, principal: Principal) -> SocketQueue:
        q = SocketQueue(principal, self.queue_size)
        self._sockets.add(q)
        return q

    def unregister(self, q: SocketQueue) -> None:
        self._sockets.discard(q)

    @property
    def socket_count(self) -> int:
        return len(self._sockets)

    async def start(self) -> None:
        subscriber = await self.plugin.subscribe(self.channel)
        self._task = asyncio.create_task(self._dispatch(subscriber), name="puente-fanout")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _dispatch(self, subscriber: object) -> None:
        async for data in subscriber.iter_events():  # type: ignore[attr-defined]
            try:
                frames = [(_route(raw), bytes(raw).decode()) for raw in _frames(data)]
            except msgspec.DecodeError:
                log.error("undecodable message on %s dropped", self.channel)
                continue
            sockets = list(self._sockets)
            for route, text in frames:
                conv = route.conversation
                # An agent who loses the conversation by this event still gets the event
                # that tells them so.
                before = route.event.data.previous_assignee_id
                for q in sockets:
                    if q.may_see(conv.team_id, conv.assignee_id) or (
                        before is not None and q.may_see(conv.team_id, before)
                    ):
                        q.offer(route.seq, text)

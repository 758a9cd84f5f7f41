"""Fan-out of committed events to agents' sockets over Litestar's channels plugin.

Every hub process subscribes once, at startup, to one channel. Each event is decoded once
here to learn who may see it, then its bytes go to the bounded queue of every socket whose
agent may. A full queue never blocks anyone else: that socket is told to reconnect, and it
catches up from the database with no gap.

The database, not the channel, is the source of truth. Committed sequence numbers have no
holes (the counter only moves in committed transactions), so events are handed on strictly
in seq order: anything the channel lost or delivered late (a Redis hiccup, another hub
process publishing first) is read back from the database, at the next message or within a
second by the watchdog.

Signals (typing, who has a conversation open, read positions, a visitor linked to another patient) travel on a second
channel: not stored, not ordered, best effort; a lost one costs a "typing" hint.

Web-chat visitors' sockets register by patient: they get that patient's web-chat messages,
translated for the visitor by the socket itself, and the signals meant for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.agents.roles import Principal
from hub.events import (
    BreakGlassSignal,
    Circle,
    PresenceSignal,
    Published,
    ReadSignal,
    Signal,
    StaffChangedSignal,
    StreamFrame,
    TypingFrame,
    TypingSignal,
    ViewingSignal,
    VisitorFrame,
    VisitorLinkedSignal,
    VisitorReadFrame,
    VisitorResyncFrame,
    VisitorTypingFrame,
    encode,
)
from hub.realtime.presence import Viewers, viewing_frame, viewing_ttl
from hub.settings import RealtimeSettings
from hub.timeline.reads import events_after, last_seq

log = logging.getLogger(__name__)


class _RouteConversation(msgspec.Struct):
    team_id: int | None
    assignee_id: int | None
    escalation: int = 0


class _RouteEvent(msgspec.Struct):
    patient_id: int
    kind: str
    channel: str | None


class _Route(msgspec.Struct):
    """The part of an EventFrame that routing needs; the rest is not decoded."""

    seq: int
    event: _RouteEvent
    conversation: _RouteConversation
    was: _RouteConversation | None = None  # the reach before this event, when it moved


_frames = msgspec.json.Decoder(list[msgspec.Raw]).decode  # each frame's exact bytes
_route = msgspec.json.Decoder(_Route).decode
_signal = msgspec.json.Decoder(Signal).decode

VISITOR_KINDS = {"message_in", "message_out"}


class _Queue:
    """One socket's bounded send queue: (seq, text) for a timeline event, (None, text) for a
    frame to send as it is. Full means the client fell behind: it is cut off, never waited for."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[tuple[int | None, str]] = asyncio.Queue(maxsize)
        self.cut_off = asyncio.Event()  # set when the client fell too far behind

    def offer(self, seq: int | None, data: str) -> None:
        if self.cut_off.is_set():
            return
        try:
            self.queue.put_nowait((seq, data))
        except asyncio.QueueFull:
            # What is dropped here is read again from the database when the client reconnects.
            self.cut_off.set()

    def send_frame(self, frame: StreamFrame | VisitorFrame) -> None:
        self.offer(None, encode(frame).decode())


class SocketQueue(_Queue):
    """One agent socket's queue."""

    def __init__(self, principal: Principal, maxsize: int) -> None:
        super().__init__(maxsize)
        self.principal = principal
        self.access_changed = asyncio.Event()  # the account changed: the socket closes
        self.watching_floor = False  # a supervisor's inbox shows the live floor: floor frames come (hub/floor/)

    def may_see(self, team_id: int | None, assignee_id: int | None, escalation: int = 0) -> bool:
        """As hub.timeline.reads.visible."""
        p = self.principal
        return (
            p.sees_everything
            or team_id is None
            or team_id in p.team_ids
            or assignee_id == p.id
            or escalation >= Circle.FLOOR
        )


class VisitorQueue(_Queue):
    """One web-chat visitor socket's queue: their patient's web-chat events, untranslated."""

    def __init__(self, kind: str, address: str, patient_id: int, point_id: int | None, maxsize: int) -> None:
        super().__init__(maxsize)
        self.kind, self.address, self.patient_id = kind, address, patient_id
        self.point_id = point_id  # an anonymous visitor's own contact point: their chat only


def make_backend(settings: RealtimeSettings) -> ChannelsBackend:
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        return RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url), key_prefix=settings.channel_prefix)
    return MemoryChannelsBackend()


class Fanout:
    def __init__(self, settings: RealtimeSettings, read_sessions: async_sessionmaker[AsyncSession]) -> None:
        self.channel = f"{settings.channel_prefix}.events"
        self.signals = f"{settings.channel_prefix}.signals"
        self._settings = settings
        self.plugin = self._new_plugin()
        self.queue_size = settings.socket_queue
        self._read_sessions = read_sessions
        self._sockets: set[SocketQueue] = set()
        self._visitors: dict[int, set[VisitorQueue]] = {}  # by patient id
        self._listeners: list[asyncio.Task[None]] = []
        self._watchdog: asyncio.Task[None] | None = None
        self._next = 0  # the next sequence number to hand on
        self._order = asyncio.Lock()  # one hand-on at a time, in seq order
        self.gaps_filled = 0  # events read back from the database, for tests and operators
        self.on_staff_changed: list[Callable[[int], None]] = []  # e.g. forget a cached principal
        self.viewers = Viewers(viewing_ttl(settings.viewing_every_s))  # who has which conversation open, anywhere
        self.on_change: list[Callable[[], None]] = []  # an event or a presence change went out (the live floor)

    def _new_plugin(self) -> ChannelsPlugin:
        return ChannelsPlugin(backend=make_backend(self._settings), channels=[self.channel, self.signals])

    def publish(self, items: list[Published]) -> None:
        """Called by the writer after commit, in commit order: one channel message per commit."""
        self.plugin.publish(encode([p.frame for p in items]), self.channel)

    def signal(self, signal: Signal) -> None:
        """Tell every hub process's sockets something that is not stored (after any commit it
        depends on)."""
        self.plugin.publish(encode(signal), self.signals)

    def send_to_staff(self, frame: StreamFrame, who: Callable[[SocketQueue], bool]) -> int:
        """A frame for this process's staff sockets `who` accepts (encoded once); how many."""
        text, n = encode(frame).decode(), 0
        for q in list(self._sockets):
            if who(q):
                q.offer(None, text)
                n += 1
        return n

    def staff_sockets(self, who: Callable[[SocketQueue], bool]) -> int:
        return sum(1 for q in list(self._sockets) if who(q))

    def register(self, principal: Principal) -> SocketQueue:
        q = SocketQueue(principal, self.queue_size)
        self._sockets.add(q)
        return q

    def unregister(self, q: SocketQueue) -> None:
        self._sockets.discard(q)

    def register_visitor(self, kind: str, address: str, patient_id: int, point_id: int | None) -> VisitorQueue:
        q = VisitorQueue(kind, address, patient_id, point_id, self.queue_size)
        self._visitors.setdefault(patient_id, set()).add(q)
        return q

    def unregister_visitor(self, q: VisitorQueue) -> None:
        queues = self._visitors.get(q.patient_id)
        if queues is not None:
            queues.discard(q)
            if not queues:
                del self._visitors[q.patient_id]

    @property
    def socket_count(self) -> int:
        return len(self._sockets) + sum(len(v) for v in self._visitors.values())

    async def start(self) -> None:
        async with self._read_sessions() as s:
            self._next = await last_seq(s) + 1
        await self._connect()
        self._watchdog = asyncio.create_task(self._watch(), name="puente-fanout-watchdog")

    async def _connect(self) -> None:
        await self.plugin.__aenter__()
        events = await self.plugin.subscribe(self.channel)
        signals = await self.plugin.subscribe(self.signals)
        self._listeners = [
            asyncio.create_task(self._listen(events), name="puente-fanout"),
            asyncio.create_task(self._listen_signals(signals), name="puente-fanout-signals"),
        ]

    def _plugin_failed(self) -> bool:
        # Litestar's channel workers end for good on a backend error (Redis gone, connection
        # killed); nothing else notices, so the watchdog does.
        workers = (getattr(self.plugin, "_pub_task", None), getattr(self.plugin, "_sub_task", None))
        return any(task is not None and task.done() for task in workers)

    async def _reconnect(self) -> None:
        log.error("realtime channel failed; reconnecting (events meanwhile come from the database)")
        old, self.plugin = self.plugin, self._new_plugin()
        for task in self._listeners:
            task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(old.__aexit__(None, None, None), 2)
        await self._connect()

    async def stop(self) -> None:
        for task in [*self._listeners, *([self._watchdog] if self._watchdog else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # a broken channel must not fail the shutdown
            await asyncio.wait_for(self.plugin.__aexit__(None, None, None), 5)

    async def _listen(self, subscriber: object) -> None:
        async for data in subscriber.iter_events():  # type: ignore[attr-defined]
            try:
                frames = [(_route(raw), bytes(raw).decode()) for raw in _frames(data)]
            except msgspec.DecodeError:
                log.error("undecodable message on %s dropped", self.channel)
                continue
            try:
                async with self._order:
                    for route, text in frames:
                        await self._hand_on(route, text)
            except Exception as exc:  # a failed read-back is retried by the watchdog
                log.error("fan-out failed: %s", type(exc).__name__)

    async def _listen_signals(self, subscriber: object) -> None:
        async for data in subscriber.iter_events():  # type: ignore[attr-defined]
            try:
                self._deliver_signal(_signal(data))
            except msgspec.DecodeError:
                log.error("undecodable message on %s dropped", self.signals)

    async def _watch(self, interval: float = 1.0) -> None:
        """Catch what the channel never delivered (nothing after it to reveal the gap)."""
        while True:
            await asyncio.sleep(interval)
            try:
                if self._plugin_failed():
                    await self._reconnect()
                async with self._read_sessions() as s:
                    newest = await last_seq(s)
                if newest >= self._next:
                    await asyncio.sleep(interval)  # give the channel its chance first
                    async with self._order:
                        await self._fill(newest)
            except Exception as exc:
                log.error("fan-out watchdog failed: %s", type(exc).__name__)

    async def _hand_on(self, route: _Route, text: str) -> None:
        if route.seq < self._next:
            return  # already handed on (read back earlier, or a duplicate)
        if route.seq > self._next:
            await self._fill(route.seq - 1)
        self._deliver(route, text)
        self._next = route.seq + 1

    async def _fill(self, upto: int) -> None:
        """Read back events [next, upto] from the database and hand them on."""
        while self._next <= upto:
            async with self._read_sessions() as s:
                frames = await events_after(s, None, self._next - 1, 500, upto=upto)
            if not frames:  # not visible yet (another process's commit in flight): later
                return
            for frame in frames:
                text = encode(frame).decode()
                self._deliver(_route(text), text)
                self._next = frame.seq + 1
                self.gaps_filled += 1

    def _deliver(self, route: _Route, text: str) -> None:
        now, was = route.conversation, route.was
        # Whoever loses the conversation by this event (reassigned, transferred to another team,
        # taken by someone else) still gets the event that tells them, so its row leaves their list.
        for q in list(self._sockets):
            if q.may_see(now.team_id, now.assignee_id, now.escalation) or (
                was is not None and q.may_see(was.team_id, was.assignee_id, was.escalation)
            ):
                q.offer(route.seq, text)
        for hook in self.on_change:
            hook()
        event = route.event
        if event.channel == "webchat" and event.kind in VISITOR_KINDS:
            for v in list(self._visitors.get(event.patient_id, ())):
                v.offer(route.seq, text)

    def _deliver_signal(self, signal: Signal) -> None:
        if isinstance(signal, TypingSignal):
            frame = TypingFrame(signal.conversation_id, signal.patient_id, signal.agent_id, signal.name)
            for q in list(self._sockets):
                if q.principal.id != signal.agent_id and q.may_see(
                    signal.team_id, signal.assignee_id, signal.escalation
                ):
                    q.send_frame(frame)
            if signal.agent_id is not None:  # staff writing: the patient's widget shows it
                first_name = signal.name.split()[0] if signal.name else None
                for v in list(self._visitors.get(signal.patient_id, ())):
                    if v.point_id in (None, signal.visitor):
                        v.send_frame(VisitorTypingFrame(first_name))
        elif isinstance(signal, ViewingSignal):
            self.viewers.note(signal)
            frame = viewing_frame(signal, self.viewers.ttl)
            for q in list(self._sockets):
                if q.principal.id != signal.agent_id and q.may_see(
                    signal.team_id, signal.assignee_id, signal.escalation
                ):
                    q.send_frame(frame)
        elif isinstance(signal, ReadSignal):
            for v in list(self._visitors.get(signal.patient_id, ())):
                if v.point_id in (None, signal.visitor):
                    v.send_frame(VisitorReadFrame(signal.upto))
        elif isinstance(signal, StaffChangedSignal):
            for hook in self.on_staff_changed:
                hook(signal.agent_id)
            for q in list(self._sockets):
                if q.principal.id == signal.agent_id:
                    q.access_changed.set()
        elif isinstance(signal, PresenceSignal):
            for q in list(self._sockets):
                if q.principal.id == signal.frame.agent_id:
                    q.send_frame(signal.frame)
            for hook in self.on_change:
                hook()
        elif isinstance(signal, BreakGlassSignal):
            for q in list(self._sockets):
                if q.principal.sees_everything:
                    q.send_frame(signal.frame)
        elif isinstance(signal, VisitorLinkedSignal):
            for queues in list(self._visitors.values()):
                for v in list(queues):
                    if v.kind == signal.kind and v.address == signal.address and v.patient_id != signal.patient_id:
                        self.unregister_visitor(v)
                        v.patient_id = signal.patient_id
                        self._visitors.setdefault(v.patient_id, set()).add(v)
                        v.send_frame(VisitorResyncFrame("linked to your records; reload"))

"""GET /api/stream: an agent's WebSocket. On (re)connect the client says the last sequence
number it holds (?after=N); it gets every later event it may see from the database, a
`ready` frame, then live events, with no gap and no duplicate."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.agents.roles import Principal, Role, requires
from hub.events import ReadyFrame, ResyncFrame, encode
from hub.realtime.fanout import OVERFLOW, Fanout, SocketQueue
from hub.settings import Settings
from hub.timeline.reads import events_after, last_seq

CLOSE_TOO_SLOW = 4008
CLOSE_BAD_REQUEST = 4400
CLOSE_FORBIDDEN_ORIGIN = 4403


def _same_origin(socket: WebSocket) -> bool:
    """Browsers send Origin; a page on another site must not ride an agent's cookie."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == socket.headers.get("host")


@websocket("/api/stream", guards=[requires(Role.AGENT)])
async def stream(
    socket: WebSocket, fanout: Fanout, read_sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    principal: Principal = socket.user
    if not _same_origin(socket):
        await socket.close(CLOSE_FORBIDDEN_ORIGIN, "cross-origin socket refused")
        return
    try:
        after = int(socket.query_params.get("after", "0"))
        if after < 0:
            raise ValueError
    except ValueError:
        await socket.close(CLOSE_BAD_REQUEST, "after must be a non-negative integer")
        return
    await socket.accept()
    queue = fanout.register(principal)  # before reading the database: nothing can slip between
    pump: asyncio.Task[None] | None = None
    try:
        limit = settings.realtime.backfill_limit
        async with read_sessions() as s:
            frames = await events_after(s, principal, after, limit + 1)
            if len(frames) > limit:
                await socket.send_text(
                    encode(ResyncFrame(reason="too many missed events; reload", last_seq=await last_seq(s))).decode()
                )
                await socket.close(1000, "resync")
                return
        sent = after
        for frame in frames:
            await socket.send_text(encode(frame).decode())
            sent = frame.seq
        await socket.send_text(encode(ReadyFrame(last_seq=sent, backfilled=len(frames))).decode())
        pump = asyncio.create_task(_pump(socket, queue, sent))
        while True:  # the client says nothing we need; this notices when it goes away
            await socket.receive_data("text")
    except WebSocketDisconnect:
        pass
    finally:
        fanout.unregister(queue)
        if pump:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await pump


async def _pump(socket: WebSocket, queue: SocketQueue, sent: int) -> None:
    while True:
        item = await queue.queue.get()
        if item is OVERFLOW:
            # Too slow to keep up: cut it off; it reconnects with ?after=<its last seq>.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket.close(CLOSE_TOO_SLOW, "too slow; reconnect"), 1)
            return
        seq, data = item  # type: ignore[misc]
        if seq <= sent:  # already sent from the database
            continue
        await socket.send_text(data)

"""GET /api/webchat/socket: a web-chat visitor's WebSocket.

The widget's first frame is `{"type": "hello", "token": ..., "after": N}` (the token is not
put in the URL, where proxies log it). The visitor then gets their web-chat messages after
seq N from the database, a `ready` frame, and live frames: messages, staff typing, how far
staff have read, or `resync` when the visitor was linked to their records. The widget says
`typing`, and `receipt` with `delivered` or `read` up to a seq for the replies it showed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Literal

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy import select

from hub.bounds import MAX_SEQ
from hub.db.models import ContactPoint, Conversation
from hub.deps import Hub, HubDep
from hub.events import (
    ConversationStatus,
    EventFrame,
    TypingSignal,
    VisitorReadyFrame,
    VisitorResyncFrame,
    encode,
)
from hub.realtime.fanout import VisitorQueue
from hub.webchat.cors import origin_allowed
from hub.webchat.frames import visitor_frame
from hub.webchat.receipts import VisitorReceipt, read_upto, record_visitor_receipts, visitor_events
from hub.webchat.tokens import BadToken, verify

CLOSE_TOO_SLOW = 4008
CLOSE_BAD_REQUEST = 4400
CLOSE_UNKNOWN_VISITOR = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
HELLO_TIMEOUT_S = 10
HISTORY = 200  # the widget shows at most this many messages
TYPING_EVERY_S = 1.0  # clients send one every 2 s at most while writing; more is dropped


class Hello(msgspec.Struct, tag="hello", forbid_unknown_fields=True):
    token: str
    after: int = 0


class Typing(msgspec.Struct, tag="typing", forbid_unknown_fields=True):
    pass


class Receipt(msgspec.Struct, tag="receipt", forbid_unknown_fields=True):
    status: Literal["delivered", "read"]
    upto: int


_hello = msgspec.json.Decoder(Hello).decode
_said = msgspec.json.Decoder(Typing | Receipt).decode
_event_frame = msgspec.json.Decoder(EventFrame).decode


@websocket("/api/webchat/socket", exclude_from_auth=True, skip_session=True)
async def visitor_socket(socket: WebSocket, hub: HubDep) -> None:
    if not origin_allowed(socket.headers.get("origin"), hub.settings.webchat.allowed_origins):
        await socket.close(CLOSE_FORBIDDEN_ORIGIN, "this site may not use the clinic's chat")  # before accept: 403
        return
    await socket.accept()
    try:
        hello = _hello(await asyncio.wait_for(socket.receive_data("text"), HELLO_TIMEOUT_S))
        if not 0 <= hello.after <= MAX_SEQ:
            raise ValueError
    except (TimeoutError, msgspec.DecodeError, msgspec.ValidationError, ValueError):
        await socket.close(CLOSE_BAD_REQUEST, 'say {"type": "hello", "token": ..., "after": N} first')
        return
    except WebSocketDisconnect:
        return
    try:
        visitor = verify(hub.settings.security.secret, hello.token)
    except BadToken:
        await socket.close(CLOSE_UNKNOWN_VISITOR, "start a new chat")
        return
    async with hub.read_sessions() as s:
        point = (
            await s.execute(
                select(ContactPoint.id, ContactPoint.patient_id).where(
                    ContactPoint.kind == visitor.kind, ContactPoint.address == visitor.address
                )
            )
        ).first()
    patient_id = point.patient_id if point else None
    # An anonymous visitor sees only their own chat (what they wrote, the replies to them), even
    # once a code linked them to a patient's record: a code proves they hold a phone or an email,
    # not that the record's other chats are theirs to read. A portal user is the patient the
    # clinic's own login vouched for, and sees all of it.
    own = point.id if point and visitor.kind == "webchat" else None
    if patient_id is None:
        await socket.close(CLOSE_UNKNOWN_VISITOR, "start a new chat")
        return
    queue = hub.fanout.register_visitor(visitor.kind, visitor.address, patient_id, own)  # before reading: no gap
    tasks: list[asyncio.Task[None]] = []
    try:
        async with hub.read_sessions() as s:
            events = await visitor_events(s, patient_id, hello.after, HISTORY + 1, own)
            upto = await read_upto(s, patient_id, own)
        if hello.after and len(events) > HISTORY:  # missed more than it could show: start afresh
            await socket.send_text(encode(VisitorResyncFrame("too many missed messages; reload")).decode())
            await socket.close(1000, "resync")
            return
        sent = hello.after
        for event in events[-HISTORY:]:
            frame = visitor_frame(event, own)
            if frame is not None:
                await socket.send_text(encode(frame).decode())
            sent = event.seq
        await socket.send_text(encode(VisitorReadyFrame(last_seq=sent, read_upto=upto)).decode())
        tasks = [
            asyncio.create_task(_pump(socket, queue, sent)),
            asyncio.create_task(_listen(socket, hub, queue)),
            asyncio.create_task(queue.cut_off.wait()),  # type: ignore[arg-type]
            asyncio.create_task(asyncio.sleep(max(0.0, visitor.expires - time.time()))),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if queue.cut_off.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket.close(CLOSE_TOO_SLOW, "too slow; reconnect"), 1)
        elif tasks[3].done():
            await socket.close(CLOSE_UNKNOWN_VISITOR, "this chat has expired")
    except WebSocketDisconnect:
        pass
    finally:
        hub.fanout.unregister_visitor(queue)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task


async def _pump(socket: WebSocket, queue: VisitorQueue, sent: int) -> None:
    """Timeline events are translated here, per visitor: only what the visitor may see leaves."""
    while True:
        seq, data = await queue.queue.get()
        if seq is None:
            await socket.send_text(data)
            continue
        if seq <= sent:
            continue
        frame = visitor_frame(_event_frame(data).event, queue.point_id)
        if frame is not None:
            await socket.send_text(encode(frame).decode())


async def _listen(socket: WebSocket, hub: Hub, queue: VisitorQueue) -> None:
    """Typing notices and receipts; anything malformed is ignored, not fatal."""
    last_typing = 0.0
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            data = await socket.receive_data("text")
            try:
                said = _said(data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if isinstance(said, Receipt):
                if 0 < said.upto <= MAX_SEQ:
                    await hub.writer.submit(
                        record_visitor_receipts,
                        VisitorReceipt(queue.patient_id, queue.point_id, said.status, said.upto),
                    )
                continue
            now = time.monotonic()
            if now - last_typing < TYPING_EVERY_S:
                continue
            last_typing = now
            await _announce_typing(hub, queue.patient_id)


async def _announce_typing(hub: Hub, patient_id: int) -> None:
    async with hub.read_sessions() as s:
        conv = (
            await s.execute(
                select(Conversation.id, Conversation.team_id, Conversation.assignee_id)
                .where(Conversation.patient_id == patient_id, Conversation.status != ConversationStatus.RESOLVED)
                .order_by(Conversation.id.desc())
                .limit(1)
            )
        ).first()
    if conv is not None:  # nobody to tell before the visitor's first message opens a conversation
        conversation_id, team_id, assignee_id = conv
        hub.fanout.signal(TypingSignal(conversation_id, patient_id, team_id, assignee_id, None, None))

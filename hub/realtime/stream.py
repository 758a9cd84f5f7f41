"""GET /api/stream: an agent's WebSocket. On (re)connect the client says the last sequence
number it holds (?after=N); it gets every later event it may see from the database, a
`ready` frame, then live events, with no gap and no duplicate. Between them come `typing`
frames, which are not stored.

The client may send `{"type": "typing", "conversation_id": N}` while its agent writes a
reply: other staff who can see the conversation, and the patient's web-chat widget, are told;
and `{"type": "viewing", "conversation_id": N | null}` when it opens or leaves a conversation:
other staff who can see it are told who has it open (hub/realtime/presence.py); and
`{"type": "floor", "watching": bool}` when a supervisor's inbox opens or leaves the live floor."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy import select

from hub.agents.presence import SEEN_EVERY_S, touch
from hub.agents.roles import Principal, Role, requires
from hub.agents.sessions import still_signed_in
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import MAX_SEQ, Id
from hub.db.models import Conversation
from hub.deps import Hub, HubDep
from hub.events import ReadyFrame, ResyncFrame, TypingSignal, encode
from hub.realtime.fanout import SocketQueue
from hub.realtime.presence import Viewing, viewing_frame
from hub.timeline.append import webchat_recipient
from hub.timeline.reads import events_after, last_seq, visible

CLOSE_TOO_SLOW = 4008
CLOSE_BAD_REQUEST = 4400
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_SIGNED_OUT = 4401


def _same_origin(socket: WebSocket) -> bool:
    """Browsers send Origin; a page on another site must not ride an agent's cookie."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == socket.headers.get("host")


@websocket("/api/stream", guards=[requires(Role.AGENT)])
async def stream(socket: WebSocket, hub: HubDep) -> None:
    principal: Principal = socket.user
    if not _same_origin(socket):
        await socket.close(CLOSE_FORBIDDEN_ORIGIN, "cross-origin socket refused")  # before accept: HTTP 403
        return
    await socket.accept()
    try:
        after = int(socket.query_params.get("after", "0"))
        if not 0 <= after <= MAX_SEQ:
            raise ValueError
    except ValueError:
        await socket.close(CLOSE_BAD_REQUEST, "after must be a non-negative integer")
        return
    queue = hub.fanout.register(principal)  # before reading the database: nothing can slip between
    pump: asyncio.Task[None] | None = None
    listen: asyncio.Task[None] | None = None
    viewing = Viewing(principal, hub.read_sessions, hub.fanout.signal, hub.settings.realtime.viewing_every_s)
    keep: asyncio.Task[None] | None = None
    try:
        limit = hub.settings.realtime.backfill_limit
        async with hub.read_sessions() as s:
            newest = await last_seq(s)
            # More than the backfill can carry, or a position from the future (a restored or
            # re-seeded database): the client reloads its state instead.
            reason = None
            if after > newest:
                reason = "unknown position; reload"
            elif newest - after > limit * 20:  # so far behind that the scan itself is the cost
                reason = "too many missed events; reload"
            else:
                frames = await events_after(s, principal, after, limit + 1)
                if len(frames) > limit:
                    reason = "too many missed events; reload"
            if reason:
                await socket.send_text(encode(ResyncFrame(reason=reason, last_seq=newest)).decode())
                await socket.close(1000, "resync")
                return
        if frames:  # what the socket is about to show is a read of those patients' timelines
            await hub.writer.submit(
                write_audit_batch,
                AuditRecord(
                    AuditAction.STREAM_BACKFILL,
                    principal.id,
                    Origin.of(socket),
                    detail={
                        "after": after,
                        "to": frames[-1].seq,
                        "count": len(frames),
                        "patient_ids": sorted({f.event.patient_id for f in frames})[:500],
                    },
                ),
            )
        sent = after
        for frame in frames:
            await socket.send_text(encode(frame).decode())
            sent = frame.seq
        await socket.send_text(encode(ReadyFrame(last_seq=sent, backfilled=len(frames))).decode())
        pump = asyncio.create_task(_pump(socket, queue, sent))
        listen = asyncio.create_task(_listen(socket, hub, principal, queue, viewing))
        keep = asyncio.create_task(viewing.keep())
        cut_off = asyncio.create_task(queue.cut_off.wait())
        expiry = asyncio.create_task(_until_access_changes(socket, hub, principal))
        changed = asyncio.create_task(queue.access_changed.wait())  # told at once by the staff-changed signal
        # Ends when the client goes away, falls too far behind, or its session ends.
        await asyncio.wait([pump, listen, cut_off, expiry, changed], return_when=asyncio.FIRST_COMPLETED)
        cut_off.cancel()
        changed.cancel()
        if expiry.done() or queue.access_changed.is_set():
            pump.cancel()
            await socket.close(CLOSE_SIGNED_OUT, "session or access changed; sign in again")
        expiry.cancel()
        if queue.cut_off.is_set():
            pump.cancel()
            # It reconnects with ?after=<its last seq>. If even the close frame cannot be
            # written, returning drops the connection, which the client treats the same.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket.close(CLOSE_TOO_SLOW, "too slow; reconnect"), 1)
    except WebSocketDisconnect:
        pass
    finally:
        hub.fanout.unregister(queue)
        viewing.leave()
        for task in (pump, listen, keep):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task


async def _until_access_changes(socket: WebSocket, hub: Hub, principal: Principal) -> None:
    """Returns once the socket's session is gone (signed out or idle-logged-off), or its
    agent was deactivated or given other teams or another role: an open socket must not
    outlive the access it was opened with. The stream itself is not user activity, so it
    does not keep the session alive."""
    interval = max(0.5, min(5.0, hub.settings.security.idle_timeout_s / 4))
    seen = 0.0
    while True:
        if time.monotonic() - seen >= SEEN_EVERY_S:  # the agent's inbox is open: routing may count on them
            seen = time.monotonic()
            await hub.writer.submit(touch, principal.id)
        await asyncio.sleep(interval)
        if not await still_signed_in(socket, hub.principals):
            return
        if await hub.principals.get(principal.id) != principal:
            return


class AgentTyping(msgspec.Struct, tag="typing", forbid_unknown_fields=True):
    conversation_id: Id


class AgentViewing(msgspec.Struct, tag="viewing", forbid_unknown_fields=True):
    conversation_id: Id | None  # None: no conversation open


class AgentFloor(msgspec.Struct, tag="floor", forbid_unknown_fields=True):
    watching: bool  # the inbox shows the live floor (supervisors and admins get floor frames meanwhile)


_client_frame = msgspec.json.Decoder(AgentTyping | AgentViewing | AgentFloor).decode
TYPING_EVERY_S = 1.0  # clients send one every 2 s at most while writing; more is dropped


async def _listen(socket: WebSocket, hub: Hub, principal: Principal, queue: SocketQueue, viewing: Viewing) -> None:
    """What the client says: typing notices and the conversation it shows. Anything malformed
    is ignored, not fatal."""
    last: dict[int, float] = {}
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            data = await socket.receive_data("text")
            try:
                typing = _client_frame(data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if isinstance(typing, AgentFloor):
                queue.watching_floor = typing.watching and principal.sees_everything
                if queue.watching_floor:
                    hub.floor.wake()  # the floor as it is now, at once
                continue
            if isinstance(typing, AgentViewing):
                if await viewing.open(typing.conversation_id):  # who already has it open, at once
                    for other in hub.fanout.viewers.of(typing.conversation_id):  # type: ignore[arg-type]
                        if other.agent_id != principal.id and other.viewing:
                            queue.send_frame(viewing_frame(other, hub.fanout.viewers.ttl))
                continue
            now = time.monotonic()
            if now - last.get(typing.conversation_id, 0.0) < TYPING_EVERY_S:
                continue
            last[typing.conversation_id] = now
            async with hub.read_sessions() as s:
                conv = (
                    await s.execute(
                        select(
                            Conversation.patient_id,
                            Conversation.team_id,
                            Conversation.assignee_id,
                            Conversation.escalation,
                        ).where(Conversation.id == typing.conversation_id, visible(principal))
                    )
                ).first()
                if conv is not None:
                    visitor = await s.run_sync(webchat_recipient, typing.conversation_id, conv.patient_id)
            if conv is not None:
                patient_id, team_id, assignee_id, escalation = conv
                hub.fanout.signal(
                    TypingSignal(
                        typing.conversation_id,
                        patient_id,
                        team_id,
                        assignee_id,
                        principal.id,
                        principal.display_name,
                        visitor,
                        escalation,
                    )
                )


async def _pump(socket: WebSocket, queue: SocketQueue, sent: int) -> None:
    while True:
        seq, data = await queue.queue.get()
        if seq is not None and seq <= sent:  # already sent from the database
            continue
        await socket.send_text(data)

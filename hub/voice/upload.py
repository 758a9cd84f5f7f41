"""POST /api/webchat/voice: a voice message recorded in the web-chat widget.

The body is the recording itself (Content-Type as the browser recorded it: audio/webm;codecs=opus
in Chrome and Firefox, audio/mp4 in Safari), `?id=` the widget's own message id (a retry lands
once) and optionally `&language=`. The visitor's bearer token says who sent it, as for text.
It is rate-limited per visitor, size-limited while it streams in, and its first bytes must prove
it is the audio it claims to be. Kept under data_dir/media by sha256, it lands as the visitor's
web-chat message with the audio attached and a voice note queued, all in one transaction, and is
acknowledged only once committed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.params import FromQuery
from sqlalchemy import select, update

from channels.base import Channel, InboundMessage, Sender
from hub.db.models import Media, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.events import Attachment
from hub.i18n import _
from hub.media.reasons import size_label
from hub.media.sniff import ALLOWED, SNIFF_BYTES, canonical, sniff
from hub.media.storage import Incoming
from hub.refusals import Refused
from hub.timeline.door import admit
from hub.timeline.ingest import CheckedInbound
from hub.voice.queue import queue_voice_note
from hub.voice.reasons import REASONS
from hub.webchat.routes import TOO_FAST, _limit, visitor_of

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
AUDIO = {t for t in ALLOWED if t.startswith("audio/")}

TOO_MANY = _("You have sent too many voice messages. Try again in {seconds} seconds.")
BAD_ID = _("The voice message has no valid id. Please record it again.")
NOT_ACCEPTED = _("Voice messages of type {type} are not accepted. Please record again.")
NOT_AUDIO = _("This file is not a sound recording: its content is not the {type} it claims to be.")
EMPTY = _("The voice message is empty. Please record it again.")


class VoiceSent(msgspec.Struct):
    seq: int
    id: str
    duplicate: bool
    media_id: int | None


@post(
    "/api/webchat/voice",
    exclude_from_auth=True,
    exclude_from_csrf=True,
    skip_session=True,
    request_max_body_size=None,  # limited below, while it streams, with a message the visitor reads
)
async def upload_voice(
    request: Request[Any, Any, Any],
    hub: HubDep,
    id: FromQuery[str | None] = None,  # the widget's own id for the message
    language: FromQuery[str | None] = None,
) -> Response[VoiceSent]:
    visitor = visitor_of(request, hub)
    key = f"{visitor.kind}:{visitor.address}"
    _limit(hub.webchat_limits.messages, key, TOO_FAST)
    _limit(hub.voice.uploads, key, TOO_MANY)
    client_id = id
    if not client_id or not CLIENT_ID.match(client_id):
        raise Refused(400, BAD_ID)
    raw_type = request.headers.get("content-type", "")
    content_type = canonical(raw_type)
    if content_type not in AUDIO:
        raise Refused(415, NOT_ACCEPTED, type=_shown(raw_type))
    limit = hub.settings.voice.max_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise Refused(413, REASONS["too_big"], limit=size_label(limit))
    incoming: Incoming = await asyncio.to_thread(hub.media.store.incoming)
    try:
        async for chunk in request.stream():
            if incoming.size + len(chunk) > limit:
                raise Refused(413, REASONS["too_big"], limit=size_label(limit))
            await asyncio.to_thread(incoming.write, chunk)
            if len(incoming.head) >= SNIFF_BYTES and sniff(incoming.head) != ALLOWED[content_type]:
                raise Refused(415, NOT_AUDIO, type=content_type)  # refused as soon as its head says so
        if incoming.size == 0:
            raise Refused(400, EMPTY)
        if sniff(incoming.head) != ALLOWED[content_type]:
            raise Refused(415, NOT_AUDIO, type=content_type)
        sha256 = await asyncio.to_thread(incoming.keep)
    except BaseException:
        await asyncio.shield(asyncio.to_thread(incoming.discard))
        raise
    msg = InboundMessage(
        channel=Channel.WEBCHAT,
        provider_message_id=f"{visitor.kind}:{visitor.address}/{client_id}",
        sender=Sender(visitor.kind, visitor.address),
        attachments=[Attachment(content_type=content_type)],
        language=language if language in ("en", "es") else None,
    )
    checked = hub.door.check(msg)
    sent = await hub.writer.submit(ingest_voice, VoiceUpload(checked, client_id, sha256, incoming.size, content_type))
    return Response(sent, status_code=200 if sent.duplicate else 201)


@dataclass(frozen=True, slots=True)
class VoiceUpload:
    checked: CheckedInbound
    client_id: str
    sha256: str
    size: int
    content_type: str


def ingest_voice(tx: Tx, items: list[VoiceUpload]) -> list[VoiceSent]:
    """A batch function: each recording as its visitor's message, its audio kept and queued as a
    voice note; a retried id answers with what was stored the first time."""
    results = admit(tx, [it.checked for it in items])
    out = []
    for it, result in zip(items, results, strict=True):
        if result.duplicate:
            media_id = tx.session.execute(
                select(Media.id).where(Media.message_seq == result.seq, Media.position == 0)
            ).scalar()
            out.append(VoiceSent(result.seq, it.client_id, True, media_id))
            continue
        now = utcnow()
        media = Media(
            message_seq=result.seq,
            position=0,
            patient_id=result.patient_id,
            channel=Channel.WEBCHAT,
            source_url="",  # uploaded to the hub itself: nothing to fetch
            declared_type=it.content_type,
            state="stored",
            attempts=0,
            next_attempt_at=now,
            content_type=it.content_type,
            size=it.size,
            sha256=it.sha256,
            error_params={},
            created_at=now,
            settled_at=now,
        )
        tx.session.add(media)
        tx.session.flush()
        attachment: dict[str, Any] = {
            "content_type": it.content_type,
            "url": f"/api/media/{media.id}",
            "media_id": media.id,
            "state": "stored",
            "size": it.size,
        }
        queue_voice_note(tx, media, attachment)
        tx.session.execute(
            update(TimelineEvent).where(TimelineEvent.seq == result.seq).values(attachments=[attachment])
        )
        shown = msgspec.convert([attachment], list[Attachment])
        for p in tx.published:  # the frame agents get after commit shows the stored audio
            if p.frame.seq == result.seq:
                p.frame.event = msgspec.structs.replace(p.frame.event, attachments=shown)
        out.append(VoiceSent(result.seq, it.client_id, False, media.id))
    return out


def _shown(content_type: str) -> str:
    cleaned = "".join(c for c in content_type.split(";", 1)[0].strip() if c.isprintable())
    return cleaned[:60] or "none"

"""The clinic's web-chat widget: its POSTed messages in, timeline events out as visitor frames.

Pure translation. The widget's payload does not name its sender: the hub authenticates the
visitor by their token and passes them in. A message's provider id is the visitor's contact
point plus the widget's own id, so a retried POST lands once and one visitor's ids can never
collide with (or reveal) another's.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec

from channels.base import Channel, ChannelAdapter, InboundMessage, InvalidPayload, Sender, decode_json
from hub.bounds import text
from hub.events import AuthorType, EventKind, TimelineEventOut, VisitorAuthor, VisitorMessageFrame

MAX_TEXT = 2000
ClientId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class WidgetMessage(msgspec.Struct, forbid_unknown_fields=True):
    """The wire format of POST /api/webchat/messages."""

    id: ClientId
    text: text(MAX_TEXT, 1)  # type: ignore[valid-type]
    language: Literal["en", "es"] | None = None


_decoder = msgspec.json.Decoder(WidgetMessage)


class WebchatAdapter(ChannelAdapter):
    channel: ClassVar[Channel] = Channel.WEBCHAT

    def parse_inbound(self, body: bytes, content_type: str, sender: Sender | None = None) -> list[InboundMessage]:
        if sender is None:
            raise InvalidPayload("a web-chat message needs the visitor its token names")
        msg: WidgetMessage = decode_json(_decoder, body, content_type)
        if not msg.text.strip():
            raise InvalidPayload("a message needs text")
        return [
            InboundMessage(
                channel=Channel.WEBCHAT,
                provider_message_id=f"{sender.kind}:{sender.address}/{msg.id}",
                sender=sender,
                text=msg.text,
                language=msg.language,
            )
        ]


# Who wrote it, as the visitor is told.
AUTHORS: dict[AuthorType, VisitorAuthor] = {
    AuthorType.PATIENT: "you",
    AuthorType.AGENT: "agent",
    AuthorType.BOT: "bot",
    AuthorType.SYSTEM: "clinic",
}
SHOWN = {EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT}


def visitor_frame(event: TimelineEventOut, point_id: int | None = None) -> VisitorMessageFrame | None:
    """What a visitor sees of a timeline event: their web-chat messages and the replies to
    them, nothing else (no notes, no other channels, no staff details but a first name).

    `point_id`: an anonymous visitor's contact point; they see what they wrote from it and the
    replies addressed to it, not the patient's other web chats. None: a portal user, whom the
    clinic's own login vouched for as the patient, sees all of the patient's web chat."""
    if event.kind not in SHOWN or event.channel != Channel.WEBCHAT:
        return None
    if point_id is not None and not _addressed(event, point_id):
        return None
    author = AUTHORS[event.author_type]
    own_id = None
    if author == "you" and event.provider_message_id and "/" in event.provider_message_id:
        own_id = event.provider_message_id.rsplit("/", 1)[1]
    name = event.author_name.split()[0] if author == "agent" and event.author_name else None
    return VisitorMessageFrame(
        seq=event.seq, id=own_id, author=author, name=name, text=event.text, created_at=event.created_at
    )


def _addressed(event: TimelineEventOut, point_id: int) -> bool:
    data = event.data or {}
    if event.kind == EventKind.MESSAGE_IN:
        return data.get("via") == point_id
    return data.get("to") == point_id

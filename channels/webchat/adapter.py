"""The clinic's web-chat widget: its POSTed messages in, timeline events out as visitor frames.

Pure translation. The widget's payload does not name its sender: the hub authenticates the
visitor by their token and passes them in. A message's provider id is the visitor's contact
point plus the widget's own id, so a retried POST lands once and one visitor's ids can never
collide with (or reveal) another's.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec

from channels.base import Channel, ChannelAdapter, InboundMessage, InvalidPayload, Sender, decode_json, text

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

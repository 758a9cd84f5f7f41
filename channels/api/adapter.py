"""The generic API channel: integrations POST normalised JSON messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar

import msgspec

from channels.base import (
    Attachment,
    Channel,
    ChannelAdapter,
    InboundMessage,
    InvalidPayload,
    ProviderId,
    Sender,
    Text,
    decode_json,
)


class ApiMessage(msgspec.Struct, forbid_unknown_fields=True):
    """The wire format of POST /api/channels/api/messages."""

    provider_message_id: ProviderId
    sender: Sender = msgspec.field(name="from")
    text: Text | None = None
    attachments: Annotated[list[Attachment], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    sent_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    # An integration relaying another channel's message says which; plain API messages omit it.
    channel: Channel = Channel.API


_decoder = msgspec.json.Decoder(ApiMessage)


class ApiAdapter(ChannelAdapter):
    channel: ClassVar[Channel] = Channel.API

    def parse_inbound(self, body: bytes, content_type: str, sender: Sender | None = None) -> list[InboundMessage]:
        msg: ApiMessage = decode_json(_decoder, body, content_type)
        if not (msg.text and msg.text.strip()) and not msg.attachments:
            raise InvalidPayload("a message needs text or at least one attachment")
        return [
            InboundMessage(
                channel=msg.channel,
                provider_message_id=msg.provider_message_id,
                sender=msg.sender,
                text=msg.text,
                attachments=msg.attachments,
                sent_at=msg.sent_at.astimezone(UTC) if msg.sent_at else None,
                language=msg.language,
            )
        ]

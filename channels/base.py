"""The seam every channel plugs into.

An adapter does no I/O: it turns a provider's request body into normalised inbound
messages (and, for channels that send, a normalised outbound message into the provider's
request). The hub does the storing, idempotency and publishing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

import msgspec

from hub.bounds import text
from hub.events import Attachment


class Channel(StrEnum):
    API = "api"
    SMS = "sms"
    EMAIL = "email"
    WEBCHAT = "webchat"
    VOICE = "voice"


ProviderId = text(200, 1)
Text = text(20_000)


class Sender(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    address: text(320, 1)  # type: ignore[valid-type]
    name: text(200) | None = None  # type: ignore[valid-type]


class InboundMessage(msgspec.Struct, forbid_unknown_fields=True):
    """A patient's message, whatever channel it came by. (channel, provider_message_id)
    identifies it: the same pair twice is the same message."""

    channel: Channel
    provider_message_id: ProviderId
    sender: Sender
    text: Text | None = None
    attachments: list[Attachment] = msgspec.field(default_factory=list)
    sent_at: datetime | None = None
    language: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class InvalidPayload(ValueError):
    """The provider payload cannot be understood; the message says what is wrong."""


class ChannelAdapter(ABC):
    """Translate one provider's inbound payloads. Subclasses are pure and table-driven."""

    channel: ClassVar[Channel]

    @abstractmethod
    def parse_inbound(self, body: bytes, content_type: str) -> list[InboundMessage]:
        """Normalised messages in a request body; raise InvalidPayload when it is malformed."""

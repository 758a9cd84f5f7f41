"""The seam every channel plugs into.

An adapter does no I/O: it turns a provider's request body into normalised inbound
messages (and, for channels that send, a normalised outbound message into the provider's
request). The hub does the storing, idempotency and publishing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from hub.bounds import explain, text
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


class SendOutcome(msgspec.Struct, frozen=True):
    """A provider's answer to one send. accepted: it took it; retry: try again later (it did
    not take it); rejected: it never will; unknown: it may have taken it (the request went out
    and no clear answer came back), so the provider is asked before anything is sent again;
    opted_out: the recipient revoked consent with this provider (Twilio error 21610)."""

    kind: Literal["accepted", "retry", "rejected", "opted_out", "unknown"]
    provider_message_id: str | None = None
    status: str | None = None
    error_code: str | None = None
    error: str | None = None


class InvalidPayload(ValueError):
    """The provider payload cannot be understood; the message says what is wrong."""


def decode_json(decoder: msgspec.json.Decoder, body: bytes, content_type: str) -> Any:
    """A JSON body into its struct, or InvalidPayload saying what is wrong with it."""
    if not content_type.startswith("application/json"):
        raise InvalidPayload("expected Content-Type: application/json")
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InvalidPayload(f"invalid message: {explain(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise InvalidPayload(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidPayload("malformed JSON: the body is not valid UTF-8") from None


class ChannelAdapter(ABC):
    """Translate one provider's inbound payloads. Subclasses are pure and table-driven."""

    channel: ClassVar[Channel]

    @abstractmethod
    def parse_inbound(self, body: bytes, content_type: str, sender: Sender | None = None) -> list[InboundMessage]:
        """Normalised messages in a request body; raise InvalidPayload when it is malformed.
        `sender` is who the hub already authenticated, for channels whose payloads do not
        name their sender (web chat: the visitor's token); others ignore it."""

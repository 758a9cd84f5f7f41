"""The seam every channel plugs into.

An adapter does no I/O: it turns a provider's request body into normalised inbound
messages (and, for channels that send, a normalised outbound message into the provider's
request). The hub does the storing, idempotency and publishing.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

import msgspec

# --- bounds on what providers send: text with no NUL (PostgreSQL refuses it) -----------------------

NO_NUL = r"^[^\x00]*$"
MAX_SEQ = 2**63 - 1  # BIGINT sequence numbers
Seq = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]


def text(max_length: int, min_length: int = 0) -> object:
    """A string of bounded length without NUL characters."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=NO_NUL)]


def explain(message: str) -> str:
    """msgspec names the NUL rule by its regex; say it in words."""
    return message.replace(f"Expected `str` matching regex {NO_NUL!r}", "NUL characters are not allowed")


def fold(text: str) -> str:
    """Text as the hub compares it: accents and other marks dropped, case folded (NFKD, combining
    marks removed, casefold): "Mañana" and "MANANA" are both "manana". The one folding function:
    search, the assistant's matching, dates of birth and SMS keywords all use it."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# Content types as providers write them, and as the hub knows them.
CONTENT_TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/opus": "audio/ogg",
    "application/ogg": "audio/ogg",
    "audio/mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
}


def canonical(content_type: str | None) -> str:
    """'Image/JPG; charset=x' -> 'image/jpeg' (parameters dropped, aliases resolved)."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return CONTENT_TYPE_ALIASES.get(base, base)


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


class VoiceNoteInfo(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Set by the hub on a voice note's audio attachment, as its VOICE_NOTE and TRANSCRIPT events say."""

    state: Literal["pending", "transcribing", "done", "failed"]
    duration_s: float | None = None
    playable_url: str | None = None
    text: str | None = None
    language: str | None = None
    confidence: float | None = None
    low_confidence: bool = False
    error_code: str | None = None
    error: str | None = None


class Attachment(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    content_type: text(200, 1)  # type: ignore[valid-type]
    url: text(2000) | None = None  # type: ignore[valid-type]
    name: text(300) | None = None  # type: ignore[valid-type]
    size: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None
    # Set by the hub for media it fetches and keeps itself (an MMS photo): `url` is then
    # /api/media/{media_id}. Ignored when an integration sends them.
    media_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None
    state: Literal["pending", "stored", "failed"] | None = None
    error: text(300) | None = None  # type: ignore[valid-type]
    voice: VoiceNoteInfo | None = None  # set by the hub on audio it keeps (hub/voice/)


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


DeliveryState = Literal["queued", "sending", "sent", "undelivered", "failed", "delivered", "read"]


class DeliveryReport(msgspec.Struct, forbid_unknown_fields=True):
    """A provider's word on one outbound message, found by our seq or the provider's id."""

    status: DeliveryState
    message_seq: Seq | None = None
    provider_message_id: text(200, 1) | None = None  # type: ignore[valid-type]
    error_code: text(40) | None = None  # type: ignore[valid-type]
    error: text(500) | None = None  # type: ignore[valid-type]


class PuenteError(Exception):
    """The root of every error the project raises on purpose (the tree: hub/errors.py)."""


class InvalidPayload(PuenteError, ValueError):
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

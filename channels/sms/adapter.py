"""Twilio-compatible SMS/MMS: inbound message webhooks and status callbacks, as form fields.

Pure translation: form body in, normalised message or delivery report out. Providers add
fields without notice, so unknown fields are ignored; missing or malformed required ones
are refused with a message saying which.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import parse_qsl

from channels.base import Channel, ChannelAdapter, InboundMessage, InvalidPayload, Sender
from hub.events import Attachment
from hub.timeline.delivery import DeliveryReport

FORM = "application/x-www-form-urlencoded"
MAX_MEDIA = 10  # Twilio sends at most 10 media items per message

# Twilio's MessageStatus -> ours; statuses not listed here are refused.
STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
    "read": "read",
}


def parse_form(body: bytes, content_type: str) -> list[tuple[str, str]]:
    if not content_type.startswith(FORM):
        raise InvalidPayload(f"expected Content-Type: {FORM}")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise InvalidPayload("malformed form body") from None


def _required(fields: dict[str, str], name: str, *aliases: str) -> str:
    """A field that must be there; older webhooks send the same value under another name."""
    value = next((fields[n] for n in (name, *aliases) if fields.get(n, "").strip()), "").strip()
    if not value:
        raise InvalidPayload(f"missing {name}")
    if "\x00" in value:
        raise InvalidPayload(f"{name}: NUL characters are not allowed")
    return value


class TwilioSmsAdapter(ChannelAdapter):
    channel: ClassVar[Channel] = Channel.SMS

    def parse_inbound(self, body: bytes, content_type: str) -> list[InboundMessage]:
        fields = dict(parse_form(body, content_type))
        sid = _required(fields, "MessageSid", "SmsMessageSid")
        sender = _required(fields, "From")
        text = fields.get("Body", "")
        if "\x00" in text:
            raise InvalidPayload("Body: NUL characters are not allowed")
        try:
            count = int(fields.get("NumMedia", "0") or "0")
        except ValueError:
            raise InvalidPayload("NumMedia must be a whole number") from None
        if not 0 <= count <= MAX_MEDIA:
            raise InvalidPayload(f"NumMedia must be between 0 and {MAX_MEDIA}")
        media = [
            Attachment(content_type=_required(fields, f"MediaContentType{n}"), url=_required(fields, f"MediaUrl{n}"))
            for n in range(count)
        ]
        if not text.strip() and not media:
            raise InvalidPayload("a message needs a Body or media")
        return [
            InboundMessage(
                channel=Channel.SMS,
                provider_message_id=sid,
                sender=Sender("phone", sender),
                text=text or None,
                attachments=media,
            )
        ]

    def parse_status(self, body: bytes, content_type: str) -> DeliveryReport:
        fields = dict(parse_form(body, content_type))
        sid = _required(fields, "MessageSid", "SmsSid")
        raw = _required(fields, "MessageStatus", "SmsStatus")
        status = STATUSES.get(raw.lower())
        if status is None:
            raise InvalidPayload(f"unknown MessageStatus {raw!r}")
        code = fields.get("ErrorCode") or None
        return DeliveryReport(
            status=status,
            provider_message_id=sid,
            error_code=code,  # type: ignore[arg-type]
            error=fields.get("ErrorMessage") or None,
        )

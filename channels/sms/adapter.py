"""Twilio-compatible SMS/MMS: inbound message webhooks and status callbacks, as form fields.

Pure translation: form body in, normalised message or delivery report out. Providers add
fields without notice, so unknown fields are ignored; missing or malformed required ones
are refused with a message saying which.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import parse_qsl

import msgspec

from channels.base import (
    Attachment,
    Channel,
    ChannelAdapter,
    DeliveryReport,
    InboundMessage,
    InvalidPayload,
    Sender,
    SendOutcome,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
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
    """The webhook's fields: a form (Twilio's default), or a JSON object of the same fields
    (signed over the body's hash instead of its fields)."""
    if content_type.startswith(JSON):
        return _json_fields(body)
    if not content_type.startswith(FORM):
        raise InvalidPayload(f"expected Content-Type: {FORM} or {JSON}")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise InvalidPayload("malformed form body") from None


def _json_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidPayload("malformed JSON body") from None
    if not isinstance(data, dict):
        raise InvalidPayload("expected a JSON object of webhook fields")
    fields = []
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) and value is not None:
            raise InvalidPayload(f"{name}: expected a string or a number")
        fields.append((str(name), "" if value is None else str(value)))
    return fields


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

    def parse_inbound(self, body: bytes, content_type: str, sender: Sender | None = None) -> list[InboundMessage]:
        fields = dict(parse_form(body, content_type))
        sid = _required(fields, "MessageSid", "SmsMessageSid")
        from_number = _required(fields, "From")
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
                sender=Sender("phone", from_number),
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


# --- outbound: our message -> the provider's REST call, and its reply -> an outcome ---------


class OutboundSms(msgspec.Struct, frozen=True):
    to: str
    body: str
    media_urls: tuple[str, ...] = ()


OPTED_OUT = "21610"


def render_send(
    account_sid: str, from_number: str, msg: OutboundSms, status_callback: str | None
) -> tuple[str, list[tuple[str, str]]]:
    """The path and form fields of Twilio's Messages.json POST (Basic auth is the caller's)."""
    fields = [("To", msg.to), ("From", from_number), ("Body", msg.body)]
    if status_callback:
        fields.append(("StatusCallback", status_callback))
    fields += [("MediaUrl", url) for url in msg.media_urls]
    return f"/2010-04-01/Accounts/{account_sid}/Messages.json", fields


def read_send_reply(status_code: int, body: bytes) -> SendOutcome:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    if 200 <= status_code < 300:  # taken: never send it again, even if the reply is odd
        sid = data.get("sid")
        status = STATUSES.get(str(data.get("status", "queued")).lower(), "queued")
        return SendOutcome("accepted", sid if isinstance(sid, str) and sid else None, status)
    code = str(data.get("code")) if data.get("code") is not None else None
    message = str(data.get("message") or f"HTTP {status_code}")[:300]
    if status_code in (429, 503):  # the provider says it did not take it: try again later
        return SendOutcome("retry", error_code=code, error=message)
    if status_code >= 500:  # it may have been processed: ask the provider before sending again
        return SendOutcome("unknown", error_code=code, error=f"the SMS provider failed ({message})")
    if code == OPTED_OUT:
        return SendOutcome("opted_out", error_code=code, error=message)
    return SendOutcome("rejected", error_code=code, error=message)


def render_lookup(account_sid: str, from_number: str, to: str, since: datetime) -> tuple[str, list[tuple[str, str]]]:
    """The path and query of Twilio's Messages.json list: what we sent to `to` since that day
    (Twilio filters by day; read_lookup narrows to the moment)."""
    return f"/2010-04-01/Accounts/{account_sid}/Messages.json", [
        ("To", to),
        ("From", from_number),
        ("DateSent>", (since.astimezone(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")),
        ("PageSize", "100"),
    ]


def read_lookup(
    status_code: int, body: bytes, text: str, not_before: datetime, known: set[str]
) -> tuple[SendOutcome | None, str | None]:
    """Whether the provider has our message: (accepted with its sid and status, None) when a
    message to that recipient with this exact text, created since `not_before` and not already
    another message's (`known` sids), is on its list; (None, None) when the list holds none (it
    never took it: send it); (None, next page path) to read on; a retry outcome when the provider
    could not say."""
    if not 200 <= status_code < 300:
        return SendOutcome("retry", error=f"could not ask the SMS provider (HTTP {status_code})"), None
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return SendOutcome("retry", error="the SMS provider's list could not be read"), None
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        return SendOutcome("retry", error="the SMS provider's list could not be read"), None
    found = []
    for m in messages:
        if not isinstance(m, dict) or m.get("body") != text or m.get("sid") in known:
            continue
        created = _provider_time(m.get("date_created"))
        if created is None or created >= not_before - timedelta(minutes=1):  # clocks differ a little
            found.append((created or not_before, str(m.get("sid") or "")))
    if found:
        _, sid = min(found)
        match = next(m for m in messages if isinstance(m, dict) and m.get("sid") == sid)
        status = STATUSES.get(str(match.get("status", "queued")).lower(), "queued")
        return SendOutcome("accepted", sid or None, status), None
    next_page = data.get("next_page_uri")
    return None, next_page if isinstance(next_page, str) and next_page else None


def _provider_time(value: object) -> datetime | None:
    """Twilio's RFC 2822 dates ("Thu, 03 Dec 2026 08:00:00 +0000")."""
    if not isinstance(value, str):
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None

"""Email: raw MIME (SMTP, or a provider's raw mode) and inbound-parse webhook forms in, normalised
messages out. Pure translation; the hub stores, threads and publishes.

`parse` gives everything the hub needs (ParsedEmail: sender, subject, the text shown with quoted
history stripped, sanitised HTML, attachments with their bytes, Message-ID, In-Reply-To,
References, reply tokens, auto-reply and bounce classification); `parse_inbound` is the channel
contract's view of the same message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from channels.base import Attachment, Channel, ChannelAdapter, InboundMessage, InvalidPayload, Sender, canonical
from channels.email.forms import (
    FORM,
    MULTIPART,
    WebhookMail,
    is_mailgun,
    is_sendgrid,
    mailgun_mail,
    parse_fields,
    sendgrid_mail,
)
from channels.email.mime import ParsedEmail, parse_mime

RFC822 = "message/rfc822"
MAX_ADDRESS = 320


def to_inbound(parsed: ParsedEmail) -> InboundMessage:
    """The normalised message (refused when it is a bounce: that is a delivery report, not a message)."""
    if parsed.bounce is not None or parsed.sender is None:
        raise InvalidPayload("a delivery report (bounce) is not a patient's message")
    if len(parsed.sender) > MAX_ADDRESS:
        raise InvalidPayload("the sender's address is too long")
    return InboundMessage(
        channel=Channel.EMAIL,
        provider_message_id=parsed.message_id,
        sender=Sender("email", parsed.sender, parsed.sender_name),
        text=parsed.text or None,
        attachments=[
            Attachment(
                content_type=canonical(p.content_type) or "application/octet-stream",
                name=p.filename[:300] if p.filename else None,
                size=len(p.data),
            )
            for p in parsed.attachments
        ],
        sent_at=parsed.sent_at,
        language=parsed.language,
    )


def webhook_mail(body: bytes, content_type: str) -> WebhookMail:
    """A SendGrid or a Mailgun inbound post, told apart by its fields."""
    fields = parse_fields(body, content_type)
    if is_sendgrid(fields):
        return sendgrid_mail(fields)
    if is_mailgun(fields):
        return mailgun_mail(fields)
    raise InvalidPayload("not an inbound email: expected SendGrid Inbound Parse or Mailgun route fields")


class EmailAdapter(ChannelAdapter):
    channel: ClassVar[Channel] = Channel.EMAIL

    def parse(self, raw: bytes, envelope_from: str | None = None, envelope_to: Sequence[str] = ()) -> ParsedEmail:
        return parse_mime(raw, envelope_from, envelope_to)

    def parse_inbound(self, body: bytes, content_type: str, sender: Sender | None = None) -> list[InboundMessage]:
        base = content_type.split(";", 1)[0].strip().lower()
        if base == RFC822:
            return [to_inbound(parse_mime(body))]
        if base in (MULTIPART, FORM):
            mail = webhook_mail(body, content_type)
            return [to_inbound(parse_mime(mail.raw, mail.envelope_from, mail.envelope_to))]
        raise InvalidPayload(f"expected Content-Type: {RFC822}, {MULTIPART} or {FORM}")

"""A raw message (RFC 5322 / MIME bytes) into everything the hub needs. Pure: no I/O.

Real mail is messy, so nothing here gives up on a message it can read any part of: charsets are
read as browsers read them, and a wrong one falls back to a reading that makes sense (charsets.py);
broken MIME keeps what the parser recovered;
each such repair is noted as a defect code. A message is refused only when it names no sender at
all (no usable From and no envelope sender) and is not a delivery report.
"""

from __future__ import annotations

import email
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import Header, decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

import msgspec

from channels.base import InvalidPayload
from channels.email.charsets import decode
from channels.email.html import html_to_text, inline_images, sanitise
from channels.email.ids import MAX_REFERENCES, hash_id, ids_in, token_in
from channels.email.quotes import strip_quotes
from channels.email.reports import Bounce, auto_reply_reason, bounce_of

MAX_TEXT = 20_000  # what a timeline message holds; the rest stays in the original
MAX_ATTACHMENTS = 50
MAX_SUBJECT = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")

# Defect codes, shown to staff in their language by the inbox.
NO_FROM = "no_from"  # no usable From header: the envelope sender was used
NO_MESSAGE_ID = "no_message_id"  # identified by a hash of its bytes instead
BROKEN_MIME = "broken_mime"  # the structure was damaged; what could be read was kept
UNDECODABLE = "undecodable_text"  # some bytes were not valid in their charset and were replaced
UNKNOWN_CHARSET = "unknown_charset"
TRUNCATED = "truncated"  # longer than a timeline message: the original has it all
TOO_MANY_ATTACHMENTS = "too_many_attachments"


class NoSender(InvalidPayload):
    """The message names no sender at all, and is no delivery report."""


class Part(msgspec.Struct, frozen=True):
    """An attachment or an inline image, with its bytes."""

    content_type: str  # as declared, lower case, without parameters
    data: bytes
    filename: str | None = None
    content_id: str | None = None
    inline: bool = False


def _inline(parts: Sequence[Part]) -> dict[str, bytes]:
    return {p.content_id: p.data for p in parts if p.content_id and p.content_type.startswith("image/")}


class ParsedEmail(msgspec.Struct, frozen=True):
    message_id: str  # without brackets; a hash of the bytes when the message has none
    sender: str | None  # the From address as written (the hub normalises it); None only for a bounce
    sender_name: str | None
    subject: str
    recipients: tuple[str, ...]
    reply_tokens: tuple[str, ...]  # from reply+<token>@domain recipients
    in_reply_to: str | None
    references: tuple[str, ...]  # the parent chain, oldest first, ending with In-Reply-To
    sent_at: datetime | None
    language: str | None
    text: str  # shown: quoted history and signature stripped
    full_text: str
    quote_stripped: bool
    html: str | None  # sanitised
    attachments: tuple[Part, ...]
    auto_reply: str | None  # why it is an automatic message; None when a person wrote it
    bounce: Bounce | None
    defects: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "bounce" if self.bounce else "auto_reply" if self.auto_reply else "message"


def clean(text: str) -> str:
    """No NUL or other control characters (the database and the inbox want none)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _bytes_text(data: bytes, charset: str | None, defects: set[str] | None = None) -> str:
    text, unknown, replaced = decode(data, charset)
    if defects is not None:
        if unknown:
            defects.add(UNKNOWN_CHARSET)
        if replaced:
            defects.add(UNDECODABLE)
    return text


def header_text(value: str | Header | None) -> str:
    """A header's value as text: encoded words decoded, raw 8-bit bytes decoded as best we can."""
    if value is None:
        return ""
    try:
        chunks = decode_header(value)
    except Exception:  # noqa: BLE001 - a malformed encoded word: show it as it came
        return clean(str(value))
    out = []
    for data, charset in chunks:
        if isinstance(data, str):
            out.append(data)
        elif charset == "unknown-8bit":  # raw 8-bit bytes, maybe beside encoded words
            out.append(_ENCODED_WORD.sub(_encoded_word, _ADJACENT_WORDS.sub("", _bytes_text(data, None))))
        else:
            out.append(_bytes_text(data, charset))
    return " ".join(clean("".join(out)).split())


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=")
_ADJACENT_WORDS = re.compile(r"(?<=\?=)\s+(?==\?[^?\s]+\?[QqBb]\?)")


def _encoded_word(m: re.Match[str]) -> str:
    try:
        ((data, charset),) = decode_header(m.group(0))
    except Exception:  # noqa: BLE001 - malformed: shown as it came
        return m.group(0)
    return data if isinstance(data, str) else _bytes_text(data, charset)


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in names:
        for value in msg.get_all(name) or []:
            if isinstance(value, str):
                pairs = [(header_text(n), a) for n, a in getaddresses([value])]
            else:  # raw 8-bit bytes in the header
                pairs = getaddresses([header_text(value)])
            out += [(n, a.strip()) for n, a in pairs if "@" in a and " " not in a.strip()]
    return out


def _sent_at(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() != "text":
        return True
    return part.get_content_type() not in ("text/plain", "text/html")


def _filename(part: Message) -> str | None:
    try:
        raw = part.get_filename()
    except Exception:  # noqa: BLE001 - a broken RFC 2231 parameter
        raw = None
    if not raw:
        return None
    name = header_text(raw).replace("/", "_").replace("\\", "_").strip()
    return name[:200] or None


class _Body:
    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.parts: list[Part] = []
        self.forwarded: list[Message] = []  # messages carried whole (message/rfc822)
        self.defects: set[str] = set()

    def text_of(self, part: Message) -> str:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return ""
        return _bytes_text(payload, part.get_content_charset(), self.defects)

    def attach(self, part: Message) -> None:
        if len(self.parts) >= MAX_ATTACHMENTS:
            self.defects.add(TOO_MANY_ATTACHMENTS)
            return
        kind = part.get_content_type()
        if kind == "message/rfc822":  # a message forwarded as an attachment: kept whole
            inner = part.get_payload()
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                self.forwarded.append(inner[0])
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        cid = (part.get("Content-ID") or "").strip().strip("<>") or None
        disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
        self.parts.append(
            Part(
                content_type=kind[:200],
                data=data,
                filename=_filename(part) or ("message.eml" if kind == "message/rfc822" else None),
                content_id=cid[:200] if cid else None,
                inline=bool(cid) and disposition != "attachment",
            )
        )

    def walk(self, part: Message) -> None:
        kind = part.get_content_type()
        if part.is_multipart() and kind != "message/rfc822":
            children = [p for p in part.get_payload() if isinstance(p, Message)]  # type: ignore[union-attr]
            if kind == "multipart/alternative":
                self._alternative(children)
            else:
                for child in children:
                    self.walk(child)
            return
        if _is_attachment(part):
            self.attach(part)
            return
        # Text shown inline is read, named or not (a named one also stays a file to download).
        if kind == "text/html":
            self.html.append(self.text_of(part))
        else:
            self.plain.append(self.text_of(part))
        if _filename(part):
            self.attach(part)

    def _alternative(self, children: list[Message]) -> None:
        """Each alternative says the same thing: the first plain version and the last (richest)
        HTML one; attachments in any of them (Apple Mail nests related parts) are kept."""
        results = []
        for child in children:
            sub = _Body()
            sub.walk(child)
            self.defects |= sub.defects
            results.append(sub)
        plain = next((r.plain for r in results if r.plain), [])
        html = next((r.html for r in reversed(results) if r.html), [])
        self.plain += plain
        self.html += html
        for r in results:
            for p in r.parts:
                if len(self.parts) < MAX_ATTACHMENTS:
                    self.parts.append(p)


def _show_forward(msg: Message, body: _Body) -> bool:
    """A message forwarded whole is shown as text, under its own From, Date and Subject: when it is
    the message itself (message/rfc822 at the top level), or the only thing a message carries.
    At the top level its attachments are the message's (its .eml is the original itself)."""
    top = msg.get_content_type() == "message/rfc822"
    if not body.forwarded or not (top or not (body.plain or body.html)):
        return False
    inner = body.forwarded[0]
    sub = _Body()
    sub.walk(inner)
    body.defects |= sub.defects
    if sub.plain:
        text = "\n\n".join(t.strip("\n") for t in sub.plain)
    else:
        text = html_to_text("\n".join(sub.html))[0]
    head = [f"{name}: {value}" for name in ("From", "Date", "Subject", "To") if (value := header_text(inner.get(name)))]
    body.plain = ["\n".join(["---------- Forwarded message ----------", *head]) + "\n\n" + text]
    body.html = sub.html
    if top:
        body.parts = sub.parts
    return True


def parse_mime(raw: bytes, envelope_from: str | None = None, envelope_to: Sequence[str] = ()) -> ParsedEmail:
    """`envelope_from` is the SMTP MAIL FROM ("" for the null sender <>), `envelope_to` the RCPT
    TOs, when the message came by SMTP (or a provider passed them on)."""
    if not raw.strip():
        raise InvalidPayload("empty message")
    msg = email.message_from_bytes(raw, policy=compat32)
    body = _Body()
    if any(p.defects for p in msg.walk()):
        body.defects.add(BROKEN_MIME)
    body.walk(msg)
    forward = _show_forward(msg, body)
    defects = body.defects

    subject = header_text(msg.get("Subject"))[:MAX_SUBJECT]
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    if senders:
        sender_name, sender = senders[0]
    else:
        sender_name, sender = "", (envelope_from or "").strip().strip("<>") or None
        if sender and ("@" not in sender or " " in sender):
            sender = None
    recipients = [a for a in envelope_to if a] + [
        a for _, a in _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    ]
    recipients = list(dict.fromkeys(recipients))
    tokens = tuple(dict.fromkeys(t for a in recipients if (t := token_in(a))))

    own_ids = ids_in(msg.get("Message-ID"))
    if own_ids:
        message_id = own_ids[0]
    else:
        message_id = hash_id(raw)
        defects.add(NO_MESSAGE_ID)
    parents = ids_in(msg.get("In-Reply-To"))[:1]
    references = [r for r in ids_in(msg.get("References")) if r != message_id][-MAX_REFERENCES:]
    if parents and parents[0] not in references:
        references.append(parents[0])

    if body.plain:
        full_text = clean("\n\n".join(t.strip("\n") for t in body.plain))
        own = full_text
    elif body.html:
        full_text, own = html_to_text("\n".join(body.html))
        full_text, own = clean(full_text), clean(own)
    else:
        full_text = own = ""
    text, stripped = (full_text.strip(), False) if forward else strip_quotes(own, subject)
    if not text.strip() and full_text.strip():
        text, stripped = full_text.strip(), False
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
        defects.add(TRUNCATED)

    bounce = bounce_of(msg, sender, full_text)
    if sender is None and bounce is None:
        raise NoSender("the message has no sender: no usable From header and no envelope sender")
    if not senders and sender is not None:
        defects.add(NO_FROM)
    language = header_text(msg.get("Content-Language")).split(",")[0].strip()
    return ParsedEmail(
        message_id=message_id,
        sender=sender,
        sender_name=(sender_name or "").strip()[:200] or None,
        subject=subject,
        recipients=tuple(r[:320] for r in recipients[:50]),
        reply_tokens=tokens,
        in_reply_to=parents[0] if parents else None,
        references=tuple(references),
        sent_at=_sent_at(msg.get("Date") or ""),
        language=language[:16] if _LANGUAGE.match(language) else None,
        text=text,
        full_text=full_text,
        quote_stripped=stripped or own != full_text,
        html=sanitise(inline_images("\n".join(body.html), _inline(body.parts))) if body.html else None,
        attachments=tuple(body.parts),
        auto_reply=None if bounce else auto_reply_reason(msg, subject, envelope_from),
        bounce=bounce,
        defects=tuple(sorted(defects)),
    )

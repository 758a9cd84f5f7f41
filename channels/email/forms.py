"""Inbound-parse webhooks into a raw message, so every way mail arrives takes one parsing path.

SendGrid Inbound Parse posts multipart/form-data: in raw mode the whole message in `email`; in
parsed mode `headers` (the raw header block), `text`, `html`, `attachment1..N` with
`attachment-info`, and `charsets` (which charset each field is in). Both carry `envelope` (JSON
with `from` and `to`). Mailgun routes post `sender`, `recipient`, `message-headers` (JSON pairs),
`body-plain`, `body-html`, `attachment-1..N`, `content-id-map`, or the whole message in
`body-mime`, with `timestamp`, `token` and `signature`.

A parsed post is put back together as MIME (its own headers, a text/HTML body, its attachments),
and that is the original staff can view.
"""

from __future__ import annotations

import email
import json
import re
from email.header import Header
from email.message import EmailMessage, Message
from email.policy import SMTP, compat32
from email.utils import formataddr, getaddresses
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from channels.base import InvalidPayload

MULTIPART = "multipart/form-data"
FORM = "application/x-www-form-urlencoded"
# Headers of the body we build replace the original's (the provider already decoded its body).
BODY_HEADERS = {"content-type", "content-transfer-encoding", "mime-version", "content-disposition"}
ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to"}


class Field(msgspec.Struct, frozen=True):
    data: bytes
    filename: str | None = None
    content_type: str | None = None


class WebhookMail(msgspec.Struct, frozen=True):
    raw: bytes
    envelope_from: str | None
    envelope_to: tuple[str, ...]
    rebuilt: bool  # put back together from parsed fields (not the provider's raw message)


Fields = dict[str, list[Field]]


def parse_fields(body: bytes, content_type: str) -> Fields:
    """A form body, multipart or urlencoded, as name -> values (bytes, with file names and types)."""
    base = content_type.split(";", 1)[0].strip().lower()
    fields: Fields = {}
    if base == FORM:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise InvalidPayload("malformed form body: not UTF-8") from None
        for name, value in pairs:
            fields.setdefault(name, []).append(Field(value.encode()))
        return fields
    if base != MULTIPART:
        raise InvalidPayload(f"expected Content-Type: {MULTIPART} or {FORM}")
    if "boundary=" not in content_type.lower():
        raise InvalidPayload("malformed form body: no multipart boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    form = email.message_from_bytes(head + body, policy=compat32)
    if not form.is_multipart():
        raise InvalidPayload("malformed form body")
    for part in form.get_payload():
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_param("filename", header="content-disposition")
        kind = part.get("Content-Type")
        fields.setdefault(name, []).append(
            Field(data, filename if isinstance(filename, str) else None, part.get_content_type() if kind else None)
        )
    return fields


def _first(fields: Fields, name: str) -> Field | None:
    values = fields.get(name)
    return values[0] if values else None


def _text(fields: Fields, name: str, charsets: dict[str, str] | None = None) -> str | None:
    f = _first(fields, name)
    if f is None:
        return None
    charset = (charsets or {}).get(name) or "utf-8"
    try:
        return f.data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return f.data.decode("utf-8", "replace")


def _json(fields: Fields, name: str) -> Any:
    value = _text(fields, name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise InvalidPayload(f"{name}: malformed JSON") from None


def _header_lines(block: str) -> list[tuple[str, str]]:
    """A raw header block as (name, value) with continuation lines kept in the value."""
    out: list[tuple[str, str]] = []
    for line in block.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + "\r\n" + line)
        elif ":" in line:
            name, _, value = line.partition(":")
            if re.fullmatch(r"[!-9;-~]+", name):
                out.append((name, value.lstrip()))
    return out


def _encode_header(name: str, value: str) -> str:
    """A decoded header value made safe for the wire again (non-ASCII as encoded words)."""
    if value.isascii():
        return value
    if name.lower() in ADDRESS_HEADERS:
        return ", ".join(formataddr((n, a), charset="utf-8") for n, a in getaddresses([value]))
    return Header(value, "utf-8", header_name=name).encode()


def rebuild(headers: list[tuple[str, str]], text: str | None, html: str | None, files: list[Field]) -> bytes:
    """The message's own headers over a MIME body made of its parsed parts."""
    body = EmailMessage(policy=SMTP)
    if text is not None or html is None:
        body.set_content(text or "", cte="quoted-printable")
        if html is not None:
            body.add_alternative(html, subtype="html", cte="quoted-printable")
    else:
        body.set_content(html, subtype="html", cte="quoted-printable")
    for f in files:
        maintype, _, subtype = (f.content_type or "application/octet-stream").partition("/")
        body.add_attachment(f.data, maintype=maintype, subtype=subtype or "octet-stream", filename=f.filename)
    raw = body.as_bytes()
    body_head, _, payload = raw.partition(b"\r\n\r\n")
    kept = [f"{n}: {_encode_header(n, v)}" for n, v in headers if n.lower() not in BODY_HEADERS]
    head = "\r\n".join(kept).encode("utf-8", "replace")
    return head + b"\r\n" + body_head + b"\r\n\r\n" + payload


def _attachments(fields: Fields, names: list[str], info: dict[str, Any]) -> list[Field]:
    files = []
    for name in names:
        f = _first(fields, name)
        if f is None:
            continue
        meta = info.get(name) if isinstance(info.get(name), dict) else {}
        filename = meta.get("filename") or meta.get("name") or f.filename
        kind = meta.get("type") or f.content_type
        files.append(Field(f.data, str(filename)[:200] if filename else None, str(kind) if kind else None))
    return files


def sendgrid_mail(fields: Fields) -> WebhookMail:
    envelope = _json(fields, "envelope") or {}
    if not isinstance(envelope, dict):
        raise InvalidPayload("envelope: expected a JSON object")
    to = envelope.get("to") or []
    envelope_to = tuple(str(a) for a in (to if isinstance(to, list) else [to]))
    envelope_from = str(envelope["from"]) if envelope.get("from") is not None else None
    raw = _first(fields, "email")
    if raw is not None:  # raw mode
        if not raw.data.strip():
            raise InvalidPayload("email: the raw message is empty")
        return WebhookMail(raw.data, envelope_from, envelope_to, False)
    headers = _text(fields, "headers")
    if headers is None:
        raise InvalidPayload("missing headers (parsed mode) or email (raw mode)")
    charsets = _json(fields, "charsets") or {}
    charsets = charsets if isinstance(charsets, dict) else {}
    info = _json(fields, "attachment-info") or {}
    names = sorted((n for n in fields if re.fullmatch(r"attachment\d+", n)), key=lambda n: int(n[10:]))
    raw_bytes = rebuild(
        _header_lines(headers),
        _text(fields, "text", charsets),
        _text(fields, "html", charsets),
        _attachments(fields, names, info if isinstance(info, dict) else {}),
    )
    return WebhookMail(raw_bytes, envelope_from, envelope_to, True)


def mailgun_mail(fields: Fields) -> WebhookMail:
    recipient = _text(fields, "recipient")
    envelope_to = tuple(a.strip() for a in (recipient or "").split(",") if a.strip())
    envelope_from = _text(fields, "sender")
    mime = _first(fields, "body-mime")
    if mime is not None:
        if not mime.data.strip():
            raise InvalidPayload("body-mime: the raw message is empty")
        return WebhookMail(mime.data, envelope_from, envelope_to, False)
    pairs = _json(fields, "message-headers")
    if not isinstance(pairs, list):
        raise InvalidPayload("missing message-headers (or body-mime)")
    headers = [(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2]
    names = sorted((n for n in fields if re.fullmatch(r"attachment-\d+", n)), key=lambda n: int(n[11:]))
    raw_bytes = rebuild(
        headers, _text(fields, "body-plain"), _text(fields, "body-html"), _attachments(fields, names, {})
    )
    return WebhookMail(raw_bytes, envelope_from, envelope_to, True)


def is_sendgrid(fields: Fields) -> bool:
    return "email" in fields or "headers" in fields or "envelope" in fields


def is_mailgun(fields: Fields) -> bool:
    return "body-mime" in fields or "message-headers" in fields or "body-plain" in fields

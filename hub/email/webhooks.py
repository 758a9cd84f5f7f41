"""Inbound-parse webhooks, into the same path as SMTP: SendGrid Inbound Parse (parsed and raw
modes) and Mailgun routes.

SendGrid signs nothing, so its Parse URL carries credentials (https://puente:SECRET@hub/...):
HTTP Basic with the configured secret as the password. Mailgun signs each post (hex HMAC-SHA256
of timestamp + token with the webhook signing key); a timestamp older than mailgun_max_age_s, or
a token already accepted, is a replay and refused. Both routes are rate-limited per address,
size-limited to the mail size limit, and answer only once the message is committed: 200 with
what became of it, 4xx saying what is wrong (nothing stored), 503 when it could not be stored
now (the provider retries; the Message-ID makes it land once).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time
from typing import Any

import msgspec
from litestar import Request, post
from litestar.exceptions import ValidationException

from channels.base import InvalidPayload
from channels.email.forms import WebhookMail, mailgun_mail, parse_fields, sendgrid_mail
from channels.email.signature import mailgun_signature_ok
from hub.audit.record import Origin
from hub.deps import Hub, HubDep
from hub.email.receive import Refusal, receive_mail
from hub.i18n import _
from hub.refusals import Refused

log = logging.getLogger(__name__)
OPTS: dict[str, Any] = {"exclude_from_auth": True, "exclude_from_csrf": True, "skip_session": True}
FORM_OVERHEAD = 1024 * 1024  # field names, boundaries, a parsed post's text and HTML beside its files

TOO_FAST = _("Too many posts from your address. Try again in {seconds} seconds.")
TOO_LARGE = _("The message is larger than this hub accepts ({limit} bytes).")
NO_SENDGRID = _("SendGrid posts are refused: no SendGrid secret is set up.")
BAD_CREDENTIALS = _("Wrong or missing credentials.")
NO_MAILGUN = _("Mailgun posts are refused: no Mailgun signing key is set up.")
BAD_SIGNATURE = _("Missing or invalid Mailgun signature.")
STALE = _("The signed timestamp is too old or in the future: a replayed post is refused.")
REPLAYED = _("This signed post was already received: a replayed post is refused.")
NOT_STORED = _("The message could not be stored just now. Try again later.")


class Accepted(msgspec.Struct):
    kind: str  # message, auto_reply, bounce
    duplicate: bool
    seq: int | None
    conversation_id: int | None
    delivery: str | None  # a bounce: what it did to our message


def _limit(request: Request[Any, Any, Any], hub: Hub) -> None:
    if wait := hub.email.webhooks.hit(f"ip:{Origin.of(request).ip}"):
        raise Refused(429, TOO_FAST, seconds=wait)


async def _body(request: Request[Any, Any, Any], hub: Hub) -> bytes:
    limit = hub.settings.email.max_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, TOO_LARGE, limit=hub.settings.email.max_bytes)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise Refused(413, TOO_LARGE, limit=hub.settings.email.max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def _receive(hub: Hub, mail: WebhookMail, source: str) -> Accepted:
    if len(mail.raw) > hub.settings.email.max_bytes:
        raise Refused(413, TOO_LARGE, limit=hub.settings.email.max_bytes)
    try:
        r = await receive_mail(hub, mail.raw, mail.envelope_from, mail.envelope_to, source)
    except Refusal as exc:
        raise ValidationException(exc.message) from None
    except Exception as exc:  # noqa: BLE001 - the database or the disk failed: the provider retries
        log.error("could not store an inbound email from %s: %s", source, type(exc).__name__)
        raise Refused(503, NOT_STORED) from None
    return Accepted(r.kind, r.duplicate, r.seq, r.conversation_id, r.delivery)


def _basic_password(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return None


@post("/api/channels/email/sendgrid", status_code=200, request_max_body_size=None, **OPTS)
async def sendgrid_inbound(request: Request[Any, Any, Any], hub: HubDep) -> Accepted:
    _limit(request, hub)
    secret = hub.settings.email.sendgrid_secret
    if not secret:
        raise Refused(403, NO_SENDGRID)
    password = _basic_password(request)
    if password is None or not hmac.compare_digest(password.encode(), secret.encode()):
        raise Refused(401, BAD_CREDENTIALS)
    body = await _body(request, hub)
    try:
        mail = sendgrid_mail(parse_fields(body, request.headers.get("content-type", "")))
    except InvalidPayload as exc:
        raise ValidationException(str(exc)) from None
    return await _receive(hub, mail, "sendgrid")


@post("/api/channels/email/mailgun", status_code=200, request_max_body_size=None, **OPTS)
async def mailgun_inbound(request: Request[Any, Any, Any], hub: HubDep) -> Accepted:
    _limit(request, hub)
    settings = hub.settings.email
    if not settings.mailgun_signing_key:
        raise Refused(403, NO_MAILGUN)
    body = await _body(request, hub)
    try:
        fields = parse_fields(body, request.headers.get("content-type", ""))
    except InvalidPayload as exc:
        raise ValidationException(str(exc)) from None

    def field(name: str) -> str:
        values = fields.get(name)
        return values[0].data.decode("utf-8", "replace").strip() if values else ""

    timestamp, token = field("timestamp"), field("token")
    if not mailgun_signature_ok(settings.mailgun_signing_key, timestamp, token, field("signature")):
        raise Refused(403, BAD_SIGNATURE)
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > settings.mailgun_max_age_s:
        raise Refused(403, STALE)
    if hub.email.mailgun_tokens.seen(token):
        raise Refused(403, REPLAYED)
    try:
        mail = mailgun_mail(fields)
    except InvalidPayload as exc:
        raise ValidationException(str(exc)) from None
    accepted = await _receive(hub, mail, "mailgun")
    hub.email.mailgun_tokens.remember(token)  # once stored: a post that failed may come again
    return accepted

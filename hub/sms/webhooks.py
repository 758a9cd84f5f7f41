"""Twilio-compatible SMS webhooks: inbound messages and status callbacks.

Every request must carry a valid X-Twilio-Signature for the configured auth token; anything
else is a 403 and nothing is stored. An inbound message is answered (with empty TwiML) only
once committed, and a retried MessageSid lands once.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.exceptions import (
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from channels.base import InvalidPayload
from channels.registry import ALL
from channels.sms.adapter import JSON, TwilioSmsAdapter, parse_form
from channels.sms.keywords import classify
from channels.sms.signature import is_valid
from hub.audit.record import Origin
from hub.deps import Hub, HubDep
from hub.patients.contacts import InvalidContact
from hub.sms.consent import KeywordMessage, apply_sms_keywords
from hub.timeline.delivery import UnknownMessage, record_delivery_batch

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
ADAPTER: TwilioSmsAdapter = ALL["sms"]  # type: ignore[assignment]
OPTS: dict[str, Any] = {"exclude_from_auth": True, "exclude_from_csrf": True, "skip_session": True}


async def signed_body(request: Request[Any, Any, Any], hub: Hub) -> bytes:
    """The raw body, once its signature is checked against the URL the provider called."""
    sms = hub.settings.sms
    body = await request.body()
    url = str(request.url)
    if sms.public_url:
        query = request.scope.get("query_string", b"").decode()
        url = sms.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")
    content_type = request.headers.get("content-type", "")
    signature = request.headers.get("x-twilio-signature")
    if content_type.startswith(JSON):  # signed over the URL, whose bodySHA256 is the body's hash
        valid = is_valid(sms.auth_token, signature, url, body=body)
    else:
        try:
            params = parse_form(body, content_type)
        except InvalidPayload:
            params = []  # a signature over a body we cannot read will not match either
        valid = is_valid(sms.auth_token, signature, url, params)
    if not valid:
        raise PermissionDeniedException("missing or invalid X-Twilio-Signature")
    return body


@post("/api/channels/sms/inbound", **OPTS)
async def sms_inbound(request: Request[Any, Any, Any], hub: HubDep) -> Response[bytes]:
    body = await signed_body(request, hub)
    try:
        messages = ADAPTER.parse_inbound(body, request.headers.get("content-type", ""))
        checked = [hub.door.check(m) for m in messages]
    except (InvalidPayload, InvalidContact) as exc:
        raise ValidationException(str(exc)) from None
    for item in checked:
        match = classify(item.msg.text) if not item.msg.attachments else None
        if match is None:
            await hub.door.receive(item)
        else:
            await hub.writer.submit(
                apply_sms_keywords, KeywordMessage(item, match, Origin.of(request), hub.settings.clinic)
            )
    return Response(EMPTY_TWIML, status_code=200, media_type="text/xml")


@post("/api/channels/sms/status", **OPTS)
async def sms_status(request: Request[Any, Any, Any], hub: HubDep) -> Response[dict[str, Any]]:
    body = await signed_body(request, hub)
    try:
        report = ADAPTER.parse_status(body, request.headers.get("content-type", ""))
    except InvalidPayload as exc:
        raise ValidationException(str(exc)) from None
    try:
        result = await hub.writer.submit(record_delivery_batch, ("sms", report))
    except UnknownMessage as exc:
        raise NotFoundException(str(exc)) from None
    return Response(
        {"message_seq": result.message_seq, "status": result.status, "applied": result.applied}, status_code=200
    )

"""A voicemail's recording callback from a Twilio-compatible provider (the <Record> verb's action,
or its recording status callback), signed like every Twilio webhook: the recording lands as the
caller's message on the voice channel; the media worker fetches it and it becomes a voice note."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Request, Response, post
from litestar.exceptions import ServiceUnavailableException, ValidationException

from channels.base import InvalidPayload
from channels.sms.voicemail import CallerUnknown, parse_voicemail, read_call_lookup, render_call_lookup
from hub.deps import Hub, HubDep
from hub.patients.contacts import InvalidContact
from hub.sms.webhooks import EMPTY_TWIML, OPTS, signed_body


@post("/api/channels/voice/voicemail", **OPTS)
async def voicemail(request: Request[Any, Any, Any], hub: HubDep) -> Response[bytes]:
    """A voicemail's recording callback, signed like every Twilio webhook: the recording lands as
    the caller's message on the voice channel; the media worker fetches it and it becomes a voice
    note (hub/voice/). Answered with empty TwiML (the call ends) once committed."""
    body = await signed_body(request, hub)
    content_type = request.headers.get("content-type", "")
    try:
        try:
            msg = parse_voicemail(body, content_type)
        except CallerUnknown as unknown:  # a recording status callback: the caller is on the call
            msg = parse_voicemail(body, content_type, caller=await _caller_of(hub, unknown.call_sid))
        checked = hub.door.check(msg) if msg else None
    except (InvalidPayload, InvalidContact) as exc:
        raise ValidationException(str(exc)) from None
    if checked is not None:
        await hub.door.receive(checked)
    return Response(EMPTY_TWIML, status_code=200, media_type="text/xml")


async def _caller_of(hub: Hub, call_sid: str) -> str:
    """Who made the call, from the provider's call record (the account's credentials, the API's
    own origin). The provider unreachable: 503, so the callback is not acknowledged and the
    recording not lost to a guess."""
    sms = hub.settings.sms
    url = sms.api_base_url.rstrip("/") + render_call_lookup(sms.account_sid, call_sid)
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client:
            r = await client.get(url, auth=(sms.account_sid, sms.auth_token))
        caller = read_call_lookup(r.status_code, r.content)
    except httpx.HTTPError:
        caller = None
    if caller is None:
        raise ServiceUnavailableException(
            "the provider could not say who called; retry later", headers={"Retry-After": "30"}
        )
    return caller

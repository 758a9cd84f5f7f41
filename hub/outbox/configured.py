"""Which reply channels this hub can send on: SMS needs its provider (Twilio's account, token and
number), email a relay and an address to send from; web chat and the API channel need nothing.
The inbox says so at the composer, before sending, and a reply on a channel that is not set up is
refused (it would otherwise wait in the outbox, "Queued", until someone set the channel up)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get

from hub.agents.roles import Role, requires
from hub.deps import HubDep
from hub.email.outbound import NOT_SET_UP as NO_SENDING_ADDRESS
from hub.email.outbound import mail_identity
from hub.i18n import _, language_of, translate
from hub.settings import Settings

NOT_SET_UP = {
    "sms": _("Text messages are not set up on this hub (no SMS provider), so a reply by SMS cannot be sent."),
    "email": _(
        "Email is not set up on this hub (no mail relay or sending address), so a reply by email cannot be sent."
    ),
}


def unconfigured(settings: Settings) -> dict[str, str]:
    """Reply channel -> why it cannot send (a catalog message), for those that cannot."""
    out = {}
    sms = settings.sms
    if not (sms.account_sid and sms.auth_token and sms.from_number):
        out["sms"] = NOT_SET_UP["sms"]
    if not settings.smtp.host:
        out["email"] = NOT_SET_UP["email"]
    elif not mail_identity(settings):  # a relay but no address: say exactly that
        out["email"] = NO_SENDING_ADDRESS
    return out


class ChannelSetUp(msgspec.Struct):
    channel: str
    configured: bool
    reason: str | None  # in the requester's language, when not configured


@get("/api/reply-channels", guards=[requires(Role.AGENT)])
async def configured_channels(request: Request[Any, Any, Any], hub: HubDep) -> list[ChannelSetUp]:
    """Every reply channel and whether this hub can send on it."""
    missing, lang = unconfigured(hub.settings), language_of(request)
    return [
        ChannelSetUp(c, c not in missing, translate(lang, missing[c]) if c in missing else None)
        for c in ("sms", "email", "webchat", "api")
    ]

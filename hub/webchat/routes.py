"""The widget's public HTTP API (/api/webchat/*): start a chat, send a message, prove an
address, fetch the widget's strings. No staff session; visitors send their token as
`Authorization: Bearer <token>`. Every route is rate-limited and size-limited, and answers
only once what it stored is committed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, JSONBody

from channels.base import InvalidPayload, Sender
from channels.email.outbound import render_text_mail
from channels.registry import ALL
from hub.audit.record import Origin
from hub.bounds import text
from hub.db.types import utcnow
from hub.deps import Hub, HubDep
from hub.i18n import SUPPORTED, _, negotiate, translate, translations
from hub.patients.contacts import (
    InvalidContact,
    display_phone,
    normalise_email,
    normalise_phone,
    normalise_portal_user,
)
from hub.ratelimit import Window
from hub.refusals import Refused
from hub.webchat.strings import WIDGET
from hub.webchat.tokens import BadToken, Visitor, issue, portal_identity_ok, verify
from hub.webchat.visitors import (
    UNKNOWN_VISITOR,
    CodeAttempt,
    CodeRequest,
    CodeSent,
    Linked,
    NewVisitor,
    code_hash,
    confirm_codes,
    request_codes,
    start_visitors,
)

Language = Literal["en", "es"]
MAX_BODY = 16 * 1024

CODE_SMS = _("{code} is your {clinic} chat code. It expires in {minutes} minutes. Do not share it.")
CODE_SUBJECT = _("Your {clinic} chat code")
CODE_MAIL = _(
    "Hello,\n\n{code} is your code to link your {clinic} web chat to your records. "
    "It expires in {minutes} minutes.\n\nIf you did not ask for it, ignore this message: nothing happens "
    "without the code.\n\n{clinic}"
)
TOO_MANY_CHATS = _("Too many new chats from your network. Try again in {seconds} seconds.")
TOO_FAST = _("You are sending messages too quickly. Try again in {seconds} seconds.")
TOO_MANY_CODES = _("Too many codes were sent. Try again in {seconds} seconds.")
NAME_NEEDED = _("Please tell us your name.")
BAD_IDENTITY = _("Your portal sign-in could not be confirmed. Please sign in to the portal again.")
ONE_ADDRESS = _("Give a mobile phone number or an email address.")
BAD_PHONE = _("That phone number does not look right.")
BAD_EMAIL = _("That email address does not look right.")
NO_SMS = _("This clinic cannot send text messages. Please use your email.")
NO_EMAIL = _("This clinic cannot send email. Please use your mobile phone.")
WRONG_CODE = _("That code is not right. Tries left: {left}.")

ADAPTER = ALL["webchat"]
OPTS: dict[str, Any] = {"exclude_from_auth": True, "exclude_from_csrf": True, "skip_session": True}


def _limit(window: Window, key: str, message: str) -> None:
    if wait := window.hit(key):
        raise Refused(429, message, seconds=wait)


def visitor_of(connection: ASGIConnection[Any, Any, Any, Any], hub: Hub) -> Visitor:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, UNKNOWN_VISITOR)
    try:
        return verify(hub.settings.security.secret, token.strip())
    except BadToken:
        raise Refused(401, UNKNOWN_VISITOR) from None


def _code_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"puente/webchat-code/v1", hashlib.sha256).digest()


class PortalIdentity(msgspec.Struct, forbid_unknown_fields=True):
    user_id: text(128, 1)  # type: ignore[valid-type]
    signature: text(128, 1)  # type: ignore[valid-type]


class StartChat(msgspec.Struct, forbid_unknown_fields=True):
    name: text(100) | None = None  # type: ignore[valid-type]
    language: Language | None = None
    identity: PortalIdentity | None = None  # a logged-in portal user, signed by the clinic's server


class ChatSession(msgspec.Struct):
    token: str  # keep it; send it as `Authorization: Bearer <token>`
    expires_at: datetime
    kind: str
    name: str | None
    language: str | None
    verified: bool


class Sent(msgspec.Struct):
    seq: int
    id: str
    duplicate: bool


class ProveAddress(msgspec.Struct, forbid_unknown_fields=True):
    phone: text(40, 1) | None = None  # type: ignore[valid-type]
    email: text(320, 1) | None = None  # type: ignore[valid-type]


class EnterCode(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^\s*[0-9]{6}\s*$")]


class Verified(msgspec.Struct):
    verified: bool
    kind: str
    to: str


class WidgetStrings(msgspec.Struct):
    language: str
    clinic: str
    languages: list[str]
    strings: dict[str, str]
    voice_max_seconds: int = 0  # a voice message's limits, for the widget's recorder
    voice_max_bytes: int = 0


class WebchatController(Controller):
    path = "/api/webchat"
    opt = OPTS
    request_max_body_size = MAX_BODY

    @post("/sessions", status_code=201)
    async def start(self, request: Request[Any, Any, Any], data: JSONBody[StartChat], hub: HubDep) -> ChatSession:
        _limit(hub.webchat_limits.sessions, f"ip:{Origin.of(request).ip}", TOO_MANY_CHATS)
        settings = hub.settings
        if data.identity is not None:
            if not portal_identity_ok(settings.webchat.identity_secret, data.identity.user_id, data.identity.signature):
                raise Refused(403, BAD_IDENTITY)
            try:
                kind, address = "portal", normalise_portal_user(data.identity.user_id)
            except InvalidContact as exc:
                raise ValidationException(str(exc)) from None
        else:
            if not (data.name and data.name.strip()):
                raise Refused(400, NAME_NEEDED)
            kind, address = "webchat", "v_" + secrets.token_urlsafe(18)
        name = " ".join(data.name.split()) if data.name and data.name.strip() else None
        record = await hub.writer.submit(start_visitors, NewVisitor(kind, address, name, data.language))  # type: ignore[arg-type]
        token, visitor = issue(settings.security.secret, kind, address, settings.webchat.token_ttl_s)  # type: ignore[arg-type]
        return ChatSession(
            token=token,
            expires_at=datetime.fromtimestamp(visitor.expires, UTC),
            kind=kind,
            name=record.name,
            language=record.language,
            verified=record.verified,
        )

    @post("/messages")
    async def send(self, request: Request[Any, Any, Any], hub: HubDep) -> Response[Sent]:
        visitor = visitor_of(request, hub)
        _limit(hub.webchat_limits.messages, f"{visitor.kind}:{visitor.address}", TOO_FAST)
        body = await request.body()
        try:
            (msg,) = ADAPTER.parse_inbound(
                body, request.headers.get("content-type", ""), Sender(visitor.kind, visitor.address)
            )
            checked = hub.door.check(msg)
        except (InvalidPayload, InvalidContact) as exc:
            raise ValidationException(str(exc)) from None
        result = await hub.door.receive(checked)
        own_id = msg.provider_message_id.rsplit("/", 1)[1]
        return Response(Sent(result.seq, own_id, result.duplicate), status_code=200 if result.duplicate else 201)

    @post("/verifications", status_code=202)
    async def prove(self, request: Request[Any, Any, Any], data: JSONBody[ProveAddress], hub: HubDep) -> CodeSent:
        visitor = visitor_of(request, hub)
        settings = hub.settings
        if (data.phone is None) == (data.email is None):
            raise Refused(400, ONE_ADDRESS)
        try:
            if data.phone is not None:
                kind, address = "phone", normalise_phone(data.phone, settings.clinic.default_region)
            else:
                kind, address = "email", normalise_email(data.email or "")
        except InvalidContact:
            raise Refused(400, BAD_PHONE if data.phone is not None else BAD_EMAIL) from None
        if kind == "phone" and not (settings.sms.account_sid and settings.sms.auth_token and settings.sms.from_number):
            raise Refused(409, NO_SMS)
        if kind == "email" and not (settings.smtp.host and settings.smtp.from_address):
            raise Refused(409, NO_EMAIL)
        limit = hub.webchat_limits.codes
        _limit(limit, f"visitor:{visitor.kind}:{visitor.address}", TOO_MANY_CODES)
        _limit(limit, f"to:{kind}:{address}", TOO_MANY_CODES)
        code = f"{secrets.randbelow(10**6):06d}"
        language = negotiate(request)
        minutes = settings.webchat.code_ttl_s // 60
        clinic = settings.clinic.name
        if kind == "phone":
            body = translate(language, CODE_SMS, code=code, clinic=clinic, minutes=minutes)
        else:
            body = render_text_mail(
                settings.smtp.from_address,
                clinic,
                address,
                translate(language, CODE_SUBJECT, clinic=clinic),
                translate(language, CODE_MAIL, code=code, clinic=clinic, minutes=minutes),
            )
        return await hub.writer.submit(
            request_codes,
            CodeRequest(
                visitor,
                kind,  # type: ignore[arg-type]
                address,
                code_hash(_code_key(settings.security.secret), kind, address, code),
                utcnow() + timedelta(seconds=settings.webchat.code_ttl_s),
                body,
                display_phone(settings.clinic.phone, settings.clinic.default_region),
                Origin.of(request),
            ),
        )

    @post("/verifications/confirm", status_code=200)
    async def confirm(self, request: Request[Any, Any, Any], data: JSONBody[EnterCode], hub: HubDep) -> Verified:
        visitor = visitor_of(request, hub)
        settings = hub.settings
        outcome = await hub.writer.submit(
            confirm_codes,
            CodeAttempt(
                visitor,
                data.code.strip(),
                _code_key(settings.security.secret),
                settings.webchat.code_attempts,
                display_phone(settings.clinic.phone, settings.clinic.default_region),
                Origin.of(request),
            ),
        )
        if not isinstance(outcome, Linked):
            raise Refused(400, WRONG_CODE, left=outcome.tries_left)
        if outcome.signal is not None:  # committed: the visitor's open sockets follow them
            hub.fanout.signal(outcome.signal)
        return Verified(True, outcome.kind, outcome.to)

    @get("/strings", cache=False)
    async def strings(
        self, request: Request[Any, Any, Any], hub: HubDep, lang: FromQuery[str | None] = None
    ) -> WidgetStrings:
        wanted = (lang or "").split("-")[0].lower()
        language = wanted if wanted in SUPPORTED else negotiate(request)
        clinic = hub.settings.clinic.name
        return WidgetStrings(
            language,
            clinic,
            list(SUPPORTED),
            {key: translations(language).gettext(message) for key, message in WIDGET.items()},  # placeholders kept
            hub.settings.voice.max_seconds,
            hub.settings.voice.max_bytes,
        )

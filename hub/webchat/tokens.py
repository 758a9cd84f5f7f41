"""Visitor tokens and portal identities: HMAC-signed, checked in constant time, no I/O.

A visitor token lets the widget resume its conversation after a reload. It names the
visitor's contact point (a random web-chat visitor id, or a portal user id the clinic's
server vouched for) and when it expires; it is a bearer secret kept in the browser's
localStorage for that clinic site only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Literal

import msgspec

from channels.base import PuenteError

VisitorKind = Literal["webchat", "portal"]


class Visitor(msgspec.Struct, frozen=True):
    kind: VisitorKind
    address: str  # the contact point's address: visitor id or portal user id
    expires: int  # unix seconds


class BadToken(PuenteError, ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str) -> bytes:
    # A key of its own, so a token can never be mistaken for any other thing the secret signs.
    return hmac.new(secret.encode(), b"puente/webchat-visitor-token/v1", hashlib.sha256).digest()


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Visitor).decode


def issue(secret: str, kind: VisitorKind, address: str, ttl_s: int, now: float | None = None) -> tuple[str, Visitor]:
    visitor = Visitor(kind, address, int((now or time.time()) + ttl_s))
    payload = _b64(_encode(visitor))
    sig = _b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}", visitor


def verify(secret: str, token: str, now: float | None = None) -> Visitor:
    """The visitor a token names; BadToken when it is forged, malformed or expired."""
    payload, _, sig = token.partition(".")
    if not payload or not sig or len(token) > 1000:
        raise BadToken("malformed visitor token")
    expected = _b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, sig):
        raise BadToken("invalid visitor token")
    try:
        visitor = _decode(_unb64(payload))
    except (ValueError, msgspec.DecodeError):
        raise BadToken("malformed visitor token") from None
    if visitor.expires <= (now or time.time()):
        raise BadToken("expired visitor token")
    return visitor


def portal_signature(identity_secret: str, user_id: str) -> str:
    """What the clinic's server computes for a logged-in user: hex HMAC-SHA256 of the id."""
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def portal_identity_ok(identity_secret: str, user_id: str, signature: str) -> bool:
    if not identity_secret:
        return False  # the clinic has not set up portal sign-in: nobody can claim to be a portal user
    return hmac.compare_digest(portal_signature(identity_secret, user_id), signature.strip().lower())

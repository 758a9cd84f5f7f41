"""Short-lived signed tokens between the steps of a sign-in (password, then TOTP or enrolment). They
live in the client, not the server: a sign-in that stops half-way leaves nothing stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import msgspec

_encode, _decode = msgspec.json.Encoder().encode, msgspec.json.Decoder(dict[str, Any]).decode


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"puente-ticket:{purpose}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, purpose: str, payload: dict[str, Any], ttl_s: int) -> str:
    body = _b64(_encode({**payload, "exp": int(time.time()) + ttl_s}))
    return f"{body}.{_b64(hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest())}"


def read(secret: str, purpose: str, token: str) -> dict[str, Any] | None:
    """The payload, if `token` was signed here for `purpose` and has not expired."""
    body, _, mac = token.partition(".")
    try:
        good = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(good, _unb64(mac)):
            return None
        payload = _decode(_unb64(body))
    except (ValueError, msgspec.DecodeError):
        return None
    if not isinstance(payload.get("exp"), int) or payload["exp"] < time.time():
        return None
    return payload


def code_hash(secret: str, purpose: str, code: str) -> str:
    """A one-time code (a recovery or reset code) as stored: its HMAC, never the code."""
    return hmac.new(_key(secret, purpose), code.encode(), hashlib.sha256).hexdigest()

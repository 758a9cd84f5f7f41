"""Multi-factor sign-in: TOTP (RFC 6238, pyotp) enrolled with a QR code (segno), and ten one-time
recovery codes kept as HMACs."""

from __future__ import annotations

import re
import secrets
import time

import pyotp
import segno

from hub.agents.tickets import code_hash

STEP_S = 30
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed without mistakes


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str, issuer: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_S).provisioning_uri(name=login, issuer_name=issuer)


def qr_data_uri(uri: str, title: str) -> str:
    """The otpauth:// URI as an SVG QR code, as a data: URL an <img> shows (allowed by the CSP)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, title=title)


def totp_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step `code` is the code of (this one, the one before or after: clocks drift), or None."""
    code = re.sub(r"\s+", "", code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_S)
    now = time.time() if now is None else now
    step = int(now // STEP_S)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * STEP_S), code):
            return candidate
    return None


def new_code(groups: int = 2) -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(groups))


def normalised(code: str) -> str:
    return re.sub(r"[^a-z0-9]", "", code.lower())


def recovery_codes(secret: str) -> tuple[list[str], list[str]]:
    """Ten new recovery codes, and their HMACs to store."""
    codes = [new_code() for _ in range(RECOVERY_CODES)]
    return codes, [code_hash(secret, "recovery", normalised(c)) for c in codes]


def use_recovery_code(secret: str, stored: list[str], code: str) -> list[str] | None:
    """The stored hashes without `code`'s, if it is one of them; else None."""
    h = code_hash(secret, "recovery", normalised(code))
    for i, s in enumerate(stored):
        if secrets.compare_digest(s, h):
            return stored[:i] + stored[i + 1 :]
    return None

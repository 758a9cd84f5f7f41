"""Mailgun's webhook signature, checked without I/O: hex HMAC-SHA256 keyed by the account's
webhook signing key over timestamp + token. (Freshness and replays are the hub's to judge.)"""

from __future__ import annotations

import hashlib
import hmac


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    return hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def mailgun_signature_ok(signing_key: str, timestamp: str, token: str, signature: str) -> bool:
    if not (signing_key and timestamp and token and signature):
        return False
    return hmac.compare_digest(mailgun_signature(signing_key, timestamp, token), signature.strip().lower())

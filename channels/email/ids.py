"""Message-IDs, reply addresses and subjects: the pieces threading is made of. Pure functions.

RFC 5322 3.6.4: a reply carries In-Reply-To = the parent's Message-ID and References = the parent's
References plus its Message-ID. Ids are compared without their angle brackets, case kept; one
longer than the hub stores is named by its hash, the same way everywhere.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from base64 import b32encode

MAX_ID = 200  # what a provider message id may be in the timeline
MAX_REFERENCES = 30  # the newest of a long References chain are enough to thread by
_BRACKETED = re.compile(r"<([^<>\s]{1,2000})>")
_TOKEN = re.compile(r"^reply\+([a-z2-7]{16})@", re.IGNORECASE)
_RE = re.compile(r"^\s*(?:(?:re|aw|sv|vs|rv|r|ref|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def id_key(message_id: str) -> str:
    """The form an id is stored and looked up in."""
    value = message_id.strip().strip("<>").strip()
    if len(value) <= MAX_ID:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def ids_in(header: str | None) -> list[str]:
    """The ids a Message-ID, In-Reply-To or References header names, in order, as keys."""
    if not header:
        return []
    found = _BRACKETED.findall(header)
    if not found:  # some clients leave the brackets out
        found = [w for w in header.split() if "@" in w]
    out: list[str] = []
    for value in found:
        key = id_key(value)
        if key and key not in out:
            out.append(key)
    return out


def hash_id(raw: bytes) -> str:
    """An id for a message that has none of its own: its bytes, so a retry is the same message."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def new_reply_token() -> str:
    """16 characters of base32 (80 bits), lower case: some mail systems lower-case addresses."""
    return b32encode(secrets.token_bytes(10)).decode().lower()


def reply_address(token: str, domain: str) -> str:
    return f"reply+{token}@{domain}"


def token_in(address: str) -> str | None:
    match = _TOKEN.match(address.strip().strip("<>"))
    return match.group(1).lower() if match else None


def reply_subject(subject: str | None, default: str) -> str:
    """ "Re: <the thread's subject>", with no pile of "Re: RE: Fwd:" in front."""
    base = _RE.sub("", subject or "").strip()
    return f"Re: {base}" if base else default

"""Proving who is writing before the bot discloses anything: a date of birth that matches the
record, then a one-time code sent to a contact point on file (pure parts).

Dates are read as people write them: 03/09/1984, 3-9-84, 1984-03-09, "March 9, 1984",
"9 de marzo de 1984", "9 marzo 1984". A numeric date is ambiguous between month-first (US) and
day-first (most Spanish speakers): every reading is a candidate, and the record decides.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import date, datetime, timedelta

from babel import Locale

from channels.base import fold

_NUMERIC = re.compile(r"\b(\d{1,4})[\s/.\-](\d{1,2})[\s/.\-](\d{2,4})\b")
_WORDS = re.compile(r"[a-z]+|\d+")


def _months() -> dict[str, int]:
    """Month names and abbreviations in English and Spanish, from CLDR via babel."""
    names: dict[str, int] = {}
    for tag in ("en", "es"):
        locale = Locale.parse(tag)
        for width in ("wide", "abbreviated"):
            for number, name in locale.months["format"][width].items():
                names[fold(name).rstrip(".")] = number
    names["sept"] = names["setiembre"] = 9
    return names


MONTHS = _months()


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # 84 -> 1984, 05 -> 2005: nobody writing to a clinic was born in 2084
        year += 2000 if year <= date.today().year % 100 else 1900
    return year


def _valid(y: int, m: int, d: int) -> date | None:
    try:
        found = date(y, m, d)
    except ValueError:
        return None
    return found if 1900 <= found.year <= date.today().year else None


def birth_dates(text: str) -> list[date]:
    """Every date the text could mean, most likely first; empty when it holds none, or more
    than one date."""
    readings: list[list[date]] = []  # per date written: what it can mean
    for a, b, c in _NUMERIC.findall(text):
        if len(a) == 4:  # 1984-03-09
            readings.append([d for d in [_valid(int(a), int(b), int(c))] if d])
        else:
            year = _year(c)
            readings.append([d for d in (_valid(year, int(a), int(b)), _valid(year, int(b), int(a))) if d])
    words = _WORDS.findall(fold(text))
    for i, word in enumerate(words):
        month = MONTHS.get(word.rstrip("."))
        if month is None:
            continue
        numbers = [w for w in words[max(0, i - 3) : i + 4] if w.isdigit()]
        days = [int(n) for n in numbers if len(n) <= 2 and 1 <= int(n) <= 31]
        years = [_year(n) for n in numbers if len(n) == 4]
        if days and years:
            readings.append([d for d in [_valid(years[0], month, days[0])] if d])
    readings = [r for r in readings if r]
    if not readings:
        return []
    # One date, however often it is written: only what every date written can mean. A message
    # listing several dates is no answer (else one message with every day of a year would pass).
    common = set(readings[0]).intersection(*readings[1:])
    return list(dict.fromkeys(d for d in readings[0] if d in common))


# A check holds for the contact point it was made from, for this long: a message from another
# address or channel (a forged From, another browser linked to the record) is not the person
# who proved who they are, and an old check is not today's.
VERIFIED_FOR = timedelta(hours=1)


def still_verified(verified_at: datetime | None, now: datetime) -> bool:
    return verified_at is not None and now - verified_at <= VERIFIED_FOR


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_digest(key: bytes, conversation_id: int, code: str) -> str:
    """Only this is kept: the code, bound to the conversation it was sent for."""
    return hmac.new(key, f"bot:{conversation_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_in(text: str) -> str | None:
    """A 6-digit code in a reply ("my code is 123 456" counts)."""
    digits = re.sub(r"[\s-]", "", text)
    match = re.search(r"(?<!\d)\d{6}(?!\d)", digits)
    return match.group(0) if match else None

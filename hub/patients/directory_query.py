"""Reading a directory query: one box, taken apart into the *lanes* it can be searched by.

- an email address (has '@'): *email*, exact in any case;
- a date of birth (1984-03-07; 03/07/1984, read as March 7 *and* 3 July; 7 mar 1984; 7 de marzo
  de 1984): *dob*;
- a phone number in any format, or its start ((650) 555-0198, 650555, +44 20 7946 0958): *phone*,
  a prefix of the E.164 address;
- one token with a digit (A1001, Z-42, 000777): *mrn*, a record number exactly as typed or in
  capitals;
- words (maria nunez, NÚÑEZ, gonz): *name*, every word the start of a word of the name.

Name words and a numeric date together ("maria 1984-03-07") is a name search among patients born
on that day. Pure: no database (hub/patients/directory_lanes.py turns a lane into SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import phonenumbers

from channels.base import fold
from hub.patients.contacts import InvalidContact, normalise_email, normalise_phone
from hub.patients.names import name_terms

MAX_QUERY = 200
MAX_WORDS = 6
MIN_PHONE_DIGITS = 3

MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # Spanish (folded: no accents)
    "enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4, "abr": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "ago": 8, "septiembre": 9, "setiembre": 9, "set": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12, "dic": 12,
}  # fmt: skip
_FILLER = {"de", "del", "of", "the"}
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|o|º|ª)?$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")


class BadQuery(ValueError):
    """The query cannot be searched; the message says why (the caller words the refusal)."""


def _valid(y: int, m: int, d: int) -> date | None:
    if not 1850 <= y <= 2200:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def numeric_dates(token: str) -> list[date]:
    """1984-03-07 -> [1984-03-07]; 03/07/1984 -> [March 7, 3 July] (both readings when both are
    dates; one when the other is not, as 25/12/1975); two-digit years are not read."""
    m = _NUMERIC_DATE.match(token)
    if not m:
        return []
    a, b, c = m.groups()
    if len(a) == 4:
        found = [_valid(int(a), int(b), int(c))]
    elif len(c) == 4 and len(a) <= 2:
        found = [_valid(int(c), int(a), int(b)), _valid(int(c), int(b), int(a))]
    else:
        return []
    return sorted({d for d in found if d is not None})


def worded_dates(text: str) -> list[date]:
    """7 mar 1984, March 7, 1984, 7 de marzo de 1984, 1984 march 7 -> [1984-03-07]."""
    words = [w for w in re.split(r"[\s,./-]+", fold(text)) if w and w not in _FILLER]
    if len(words) != 3:
        return []
    month = [i for i, w in enumerate(words) if w in MONTHS]
    if len(month) != 1:
        return []
    rest = [w for i, w in enumerate(words) if i != month[0]]
    year = [w for w in rest if len(w) == 4 and w.isdigit()]
    day = [m.group(1) for w in rest if (m := _ORDINAL.match(w))]
    if len(year) != 1 or len(day) != 1:
        return []
    found = _valid(int(year[0]), MONTHS[words[month[0]]], int(day[0]))
    return [found] if found else []


def phone_prefixes(text: str, region: str) -> list[str]:
    """The E.164 starts a phone query can be: '(650) 555-01' -> ['+165055501']; a whole number in its
    country's own format too: '020 7946 0958' in GB -> '+442079460958'. Shortest first, and none that
    another already covers."""
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS:
        return []
    found: set[str] = set()
    if text.strip().startswith("+"):
        found.add("+" + digits)
    else:
        code = str(phonenumbers.country_code_for_region(region) or "")
        found.add(f"+{code}{digits}")
        if code and digits.startswith(code) and len(digits) > len(code) + 2:
            found.add("+" + digits)  # 1 650 555 0198: the country code typed without its '+'
    try:
        found.add(normalise_phone(text, region))
    except InvalidContact:
        pass
    out: list[str] = []
    for prefix in sorted(found, key=len):
        if not any(prefix.startswith(shorter) for shorter in out):
            out.append(prefix)
    return out


@dataclass
class Reading:
    """What a query is taken to mean: each lane is searched in this order."""

    emails: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    record_numbers: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    born: list[date] = field(default_factory=list)  # with words: only patients born on one of these days

    def lanes(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = [("mrn", self.record_numbers)] if self.record_numbers else []
        out += [("phone", p) for p in self.phones]
        out += [("email", e) for e in self.emails]
        if self.dates:
            out.append(("dob", self.dates))
        if self.words:
            out.append(("name", (self.words, self.born)))
        return out


def read_query(q: str, region: str) -> Reading:
    """Take a query apart into lanes (see the module's table). BadQuery when it cannot be searched."""
    text = q.strip()
    if "\x00" in text:
        raise BadQuery("the query has a NUL character")
    if len(text) > MAX_QUERY:
        raise BadQuery(f"the query is longer than {MAX_QUERY} characters")
    r = Reading()
    if not text:
        return r
    if "@" in text:
        try:
            r.emails = [normalise_email(text)]
        except InvalidContact:
            r.emails = [text.lower()]  # still an exact look-up: a stored address is always normalised
        return r
    r.dates = numeric_dates(text) or worded_dates(text)
    if r.dates:
        return r
    if _PHONE_CHARS.match(text):
        r.phones = phone_prefixes(text, region)
    tokens = text.split()
    if len(tokens) == 1 and any(c.isdigit() for c in text) and len(text) <= 120:
        r.record_numbers = sorted({text, text.upper()})
    if any(c.isdigit() for c in text):
        dated = [numeric_dates(t) for t in tokens]
        rest = [t for t, d in zip(tokens, dated, strict=True) if not d]
        if any(dated) and rest and not any(c.isdigit() for t in rest for c in t):
            r.born = sorted({d for ds in dated for d in ds})
            r.words = _words(" ".join(rest))
        return r
    r.words = _words(text)
    return r


def _words(text: str) -> list[str]:
    words = sorted(name_terms(text), key=lambda w: (-len(w), w))
    return words[:MAX_WORDS]

"""The patient directory's search: one box, read as whatever it can be.

A query is read as one or more *lanes*, each an index range scan that yields patients in a fixed
order, so a page is a keyset (the lane and the last key) and page 1000 costs what page 1 does:

- an email address (has '@'): *email*, exact in any case, on contact_points (kind, address);
- a date of birth (1984-03-07; 03/07/1984, read as March 7 *and* 3 July; 7 mar 1984; 7 de marzo
  de 1984): *dob*, on patients (date_of_birth);
- a phone number in any format, or its start ((650) 555-0198, 650555, +44 20 7946 0958): *phone*,
  a prefix of the E.164 address, on contact_points (kind, address);
- one token with a digit (A1001, Z-42, 000777): *mrn*, a record number exactly as typed or in
  capitals, on patient_identifiers (value);
- words (maria nunez, NÚÑEZ, gonz): *name*, every word the start of a word of the name, on
  patient_search_terms (term, patient_id).

Name words and a numeric date together ("maria 1984-03-07") is a name search among patients born
on that day. Records merged into another are never listed. Folded name words hold letters and
digits only, so a prefix's range [word, word with its last letter moved one on) means the same in
SQLite's binary order and in any PostgreSQL collation that orders words letter by letter.

What staff see of each patient (the rule): everyone sees the name, the record numbers and when the
patient was last in contact. Supervisors and admins see the date of birth and the phone numbers and
email addresses in full; agents see the year of birth only, phones as their last four digits and
emails as their first letter and domain, enough to tell two Marías apart while the patient on the
line says the rest. The full record is the profile's, opened in the agent's reach and audited.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec
import phonenumbers
from sqlalchemy import ColumnElement, Select, and_, exists, false, func, intersect, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from channels.base import fold
from hub.agents.roles import Principal
from hub.db.models import ContactPoint, Conversation, Patient, PatientIdentifier, PatientSearchTerm
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


# --- reading the query ---------------------------------------------------------------------------


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


def after(prefix: str) -> str:
    """The first string past every string that starts with `prefix`: its last character moved one on."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


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


# --- the cursor ------------------------------------------------------------------------------------


def encode_cursor(lane: int, key: list[Any]) -> str:
    raw = json.dumps([lane, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, lanes: int) -> tuple[int, list[Any]]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        lane, *key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise BadQuery("the page marker is not one this search gave") from None
    if not isinstance(lane, int) or not 0 <= lane < max(lanes, 1) or len(key) != 2:
        raise BadQuery("the page marker is not one this search gave")
    if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in key):
        raise BadQuery("the page marker is not one this search gave")
    return lane, key


# --- the lanes as SQL ---------------------------------------------------------------------------------

LIVE = Patient.merged_into_id.is_(None)


def _lane_query(kind: str, arg: Any, key: list[Any] | None, limit: int) -> Select[Any]:
    """Rows (key part 1, key part 2, patient id), in key order, past `key`."""
    if kind == "all":
        q = (
            select(Patient.id.label("a"), Patient.id.label("b"), Patient.id.label("pid"))
            .where(LIVE)
            .order_by(Patient.id.desc())
        )
        return (q.where(Patient.id < int(key[1])) if key else q).limit(limit)
    if kind == "mrn":
        pi = PatientIdentifier
        q = (
            select(pi.value, pi.patient_id.label("b"), pi.patient_id.label("pid"))
            .join(Patient, Patient.id == pi.patient_id)
            .where(pi.value.in_(arg), LIVE)
            .order_by(pi.value, pi.patient_id)
        )
        return (q.where(tuple_(pi.value, pi.patient_id) > tuple_(str(key[0]), int(key[1]))) if key else q).limit(limit)
    if kind in ("phone", "email"):
        cp = ContactPoint
        if kind == "phone":
            lo, hi = arg, after(arg)
            other = aliased(ContactPoint)
            first_of_patient = ~exists().where(
                other.patient_id == cp.patient_id,
                other.kind == "phone",
                other.address >= lo,
                other.address < cp.address,
            )
            match: ColumnElement[bool] = and_(cp.kind == "phone", cp.address >= lo, cp.address < hi, first_of_patient)
        else:
            match = and_(cp.kind == "email", cp.address == arg)
        q = (
            select(cp.address, cp.id, cp.patient_id)
            .join(Patient, Patient.id == cp.patient_id)
            .where(match, LIVE)
            .order_by(cp.address, cp.id)
        )
        return (q.where(tuple_(cp.address, cp.id) > tuple_(str(key[0]), int(key[1]))) if key else q).limit(limit)
    if kind == "dob":
        q = select(Patient.date_of_birth, Patient.id.label("b"), Patient.id.label("pid")).where(
            Patient.date_of_birth.in_(arg), LIVE
        )
        q = q.order_by(Patient.date_of_birth, Patient.id)
        if key:
            q = q.where(
                tuple_(Patient.date_of_birth, Patient.id) > tuple_(date.fromisoformat(str(key[0])), int(key[1]))
            )
        return q.limit(limit)
    if kind == "names":
        return _names_query(arg, key, limit)
    if kind == "name":
        words, born = arg
        lead, rest = words[0], words[1:]
        t = aliased(PatientSearchTerm)
        other = aliased(PatientSearchTerm)
        conditions = [
            t.term >= lead,
            t.term < after(lead),
            LIVE,
            # a patient with two words that start so ('maria mariana') is listed at the first only
            ~exists().where(other.patient_id == t.patient_id, other.term >= lead, other.term < t.term),
        ]
        for word in rest:
            w = aliased(PatientSearchTerm)
            conditions.append(exists().where(w.patient_id == t.patient_id, w.term >= word, w.term < after(word)))
        if born:
            conditions.append(Patient.date_of_birth.in_(born))
        q = (
            select(t.term, t.patient_id.label("b"), t.patient_id.label("pid"))
            .join(Patient, Patient.id == t.patient_id)
            .where(*conditions)
            .order_by(t.term, t.patient_id)
        )
        return (q.where(tuple_(t.term, t.patient_id) > tuple_(str(key[0]), int(key[1]))) if key else q).limit(limit)
    raise AssertionError(kind)


def _word(word: str) -> Select[Any]:
    t = aliased(PatientSearchTerm)
    return select(t.patient_id).where(t.term >= word, t.term < after(word))


def _names_query(arg: tuple[list[str], list[str]], key: list[Any] | None, limit: int) -> Select[Any]:
    """Several name words: the patients every one of the rarer words finds (the intersection of
    their index ranges), then the common words checked patient by patient; by patient id."""
    drive, check = arg
    found = intersect(*(_word(w) for w in drive)).subquery() if len(drive) > 1 else _word(drive[0]).subquery()
    pid = found.c.patient_id
    conditions = [LIVE]
    for word in check:
        w = aliased(PatientSearchTerm)
        conditions.append(exists().where(w.patient_id == pid, w.term >= word, w.term < after(word)))
    q = (
        select(pid.label("a"), pid.label("b"), pid.label("pid"))
        .distinct()
        .join(Patient, Patient.id == pid)
        .where(*conditions)
        .order_by(pid)
    )
    return (q.where(pid > int(key[1])) if key else q).limit(limit)


RARE = 20_000  # index entries counted per word, at most (about 1 ms for 10,000 on SQLite)


async def _plan_names(s: AsyncSession, words: list[str]) -> tuple[list[str], list[str]]:
    """Which words to intersect and which to check on each patient found. Scanning an index range
    costs about a twentieth of checking one patient, and two words leave few patients: the two
    rarest words are intersected, the others checked. A word's entries are counted up to RARE only
    (counting costs what scanning does: the two most common words of a full name on 1M patients
    take ~1.5 ms); past that, the longer word is taken for the rarer, and a second word of one or
    two letters (a range of a tenth of the directory) is checked rather than scanned."""
    counted = [select(func.count()).select_from(_word(w).limit(RARE + 1).subquery()).scalar_subquery() for w in words]
    sizes = dict(zip(words, (await s.execute(select(*counted))).one(), strict=True))  # one round trip
    ranked = sorted(words, key=lambda w: (sizes[w], -len(w), w))
    second = ranked[1]
    drive = ranked[:2] if sizes[second] <= RARE or len(second) >= 3 else ranked[:1]
    return drive, ranked[len(drive) :]


# --- a page ---------------------------------------------------------------------------------------


class DirectoryContact(msgspec.Struct):
    kind: str  # phone or email
    address: str  # in full for supervisors and admins; masked for agents
    verified: bool
    opted_out: bool


class DirectoryEntry(msgspec.Struct):
    id: int
    name: str | None
    date_of_birth: date | None  # supervisors and admins only
    birth_year: int | None
    contacts: list[DirectoryContact]
    record_numbers: list[str]
    last_contact_at: datetime | None
    matched: str  # which reading of the query found them: name, phone, email, mrn, dob (all: no query)


class DirectoryPage(msgspec.Struct):
    patients: list[DirectoryEntry]
    next_cursor: str | None  # ask again with cursor=<this> for the next page
    masked: bool  # dates of birth and addresses are masked for this reader
    lanes: list[str]  # how the query was read


def mask_phone(e164: str) -> str:
    return "•••• " + e164[-4:] if len(e164) > 4 else "••••"


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def sees_in_full(principal: Principal) -> bool:
    return principal.sees_everything  # supervisors and admins


async def search_directory(
    s: AsyncSession, principal: Principal, reading: Reading, cursor: str | None, limit: int
) -> DirectoryPage:
    lanes = reading.lanes() or [("all", None)]
    for i, (kind, arg) in enumerate(lanes):
        words, born = arg if kind == "name" else ([], [])
        if len(words) > 1 and not born:  # several words: by the rarest (with a date: by the date, as it is)
            lanes[i] = ("names", await _plan_names(s, words))
    start, key = decode_cursor(cursor, len(lanes)) if cursor else (0, None)
    rows: list[tuple[int, str, Any, Any, int]] = []  # (lane, kind, key 1, key 2, patient id)
    for index in range(start, len(lanes)):
        kind, arg = lanes[index]
        wanted = limit + 1 - len(rows)
        found = (await s.execute(_lane_query(kind, arg, key if index == start else None, wanted))).all()
        rows += [(index, kind, a, b, pid) for a, b, pid in found]
        if len(rows) > limit:
            break
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        lane, _kind, a, b, _pid = rows[-1]
        next_cursor = encode_cursor(lane, [a.isoformat() if isinstance(a, date) else a, b])
    order: dict[int, str] = {}
    for _lane, kind, _a, _b, pid in rows:
        order.setdefault(pid, "name" if kind == "names" else kind)  # two readings, one patient: listed once
    entries = await _entries(s, order, full=sees_in_full(principal))
    return DirectoryPage(entries, next_cursor, not sees_in_full(principal), [k for k, _ in reading.lanes()] or ["all"])


async def _entries(s: AsyncSession, order: dict[int, str], full: bool) -> list[DirectoryEntry]:
    """The page's patients in two queries: the people (with their last contact), then their phones,
    emails and record numbers together."""
    ids = list(order)
    if not ids:
        return []
    last = select(func.max(Conversation.last_message_at)).where(Conversation.patient_id == Patient.id).scalar_subquery()
    people = {
        p.id: p
        for p in await s.execute(
            select(Patient.id, Patient.name, Patient.date_of_birth, last.label("last")).where(Patient.id.in_(ids))
        )
    }
    points = select(
        ContactPoint.patient_id,
        ContactPoint.kind,
        ContactPoint.address,
        ContactPoint.verified,
        ContactPoint.opted_out_at.is_not(None),
        ContactPoint.id,
    ).where(ContactPoint.patient_id.in_(ids), ContactPoint.kind.in_(("phone", "email")))
    numbers = select(
        PatientIdentifier.patient_id,
        literal("mrn"),
        PatientIdentifier.value,
        false(),
        false(),
        PatientIdentifier.id,
    ).where(PatientIdentifier.patient_id.in_(ids))
    contacts: dict[int, list[DirectoryContact]] = {pid: [] for pid in ids}
    mrns: dict[int, list[str]] = {pid: [] for pid in ids}
    for pid, kind, value, verified, opted_out, _id in sorted(
        await s.execute(union_all(points, numbers)), key=lambda r: (r[1] == "mrn", r[1] != "phone", r[5])
    ):
        if kind == "mrn":
            mrns[pid].append(value)
        else:
            shown = value if full else (mask_phone(value) if kind == "phone" else mask_email(value))
            contacts[pid].append(DirectoryContact(kind, shown, bool(verified), bool(opted_out)))
    out = []
    for pid in ids:
        p = people[pid]
        dob = p.date_of_birth
        out.append(
            DirectoryEntry(
                pid,
                p.name,
                dob if full else None,
                dob.year if dob else None,
                contacts[pid],
                mrns[pid],
                p.last,
                order[pid],
            )
        )
    return out


__all__ = ["BadQuery", "DirectoryPage", "read_query", "search_directory"]

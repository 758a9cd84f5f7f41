"""The directory's lanes as SQL: each lane an index range scan that yields patients in a fixed
order (key part 1, key part 2, patient id), so a page is a keyset and page 1000 costs what page 1
does. Indexes: email and phone on contact_points (kind, address), dob on patients (date_of_birth),
mrn on patient_identifiers (value), name words on patient_search_terms (term, patient_id).

Records merged into another are never listed. Folded name words hold letters and digits only, so a
prefix's range [word, word with its last letter moved one on) means the same in SQLite's binary
order and in any PostgreSQL collation that orders words letter by letter.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, intersect, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.db.models import ContactPoint, Patient, PatientIdentifier, PatientSearchTerm

LIVE = Patient.merged_into_id.is_(None)


def after(prefix: str) -> str:
    """The first string past every string that starts with `prefix`: its last character moved one on."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def lane_query(kind: str, arg: Any, key: list[Any] | None, limit: int) -> Select[Any]:
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


async def plan_names(s: AsyncSession, words: list[str]) -> tuple[list[str], list[str]]:
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

"""The patient directory's search: one box, read as whatever it can be (hub/patients/directory_query.py
says how), each reading searched as a lane of an index (hub/patients/directory_lanes.py), the lanes
one after another; a page is a keyset (the lane and the last key), given back as a cursor.

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
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import false, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub.agents.roles import Principal
from hub.db.models import ContactPoint, Conversation, Patient, PatientIdentifier
from hub.patients.directory_lanes import lane_query, plan_names
from hub.patients.directory_query import MAX_QUERY, BadQuery, Reading, read_query

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
            lanes[i] = ("names", await plan_names(s, words))
    start, key = decode_cursor(cursor, len(lanes)) if cursor else (0, None)
    rows: list[tuple[int, str, Any, Any, int]] = []  # (lane, kind, key 1, key 2, patient id)
    for index in range(start, len(lanes)):
        kind, arg = lanes[index]
        wanted = limit + 1 - len(rows)
        found = (await s.execute(lane_query(kind, arg, key if index == start else None, wanted))).all()
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


# Reading a query is part of the directory's interface: hub/search and the routes import it from here.
__all__ = ["MAX_QUERY", "BadQuery", "DirectoryPage", "read_query", "search_directory"]

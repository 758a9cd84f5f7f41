"""Patients from a CSV file, for clinics without an EHR link: the rows checked against the records
(a dry run), then imported. The file is read by hub/patients/csv_file.py and its rows checked by
hub/patients/csv_rows.py.

- **Matching.** A row matches an existing patient by MRN (any system), then by a verified phone or
  email, then by a phone or email on record for a patient of the same name: it updates them (or
  changes nothing). A phone or email another patient already has is not moved: a warning, and staff
  merge the records if they are one person.
- **Importing: all or nothing.** The whole file is one writer transaction that checks every row
  again against the records as they are then: either every row without an error is stored, with its
  search words and the audit rows, or (on any failure) nothing is, and the run says it failed. The
  rows are read and normalised before, in a thread (the slow part: ~0.1 ms a row), so the
  transaction only matches and writes; the cost of all or nothing is that it holds the single
  writer while it runs: a 20,000-row file (the cap) held it about 2 s on SQLite on the 2-core
  machine under load, and messages arriving meanwhile were acknowledged that much later (none
  lost). Larger lists are split, or come through the EHR link, which commits page by page. The
  file's text is dropped from the run once it is imported.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.db.models import ContactPoint, Patient, PatientIdentifier
from hub.db.types import utcnow
from hub.i18n import _
from hub.patients.csv_rows import Row
from hub.patients.names import index_new_names, name_terms, reindex_name

MRN_SYSTEM = "urn:puente:mrn"  # the clinic's own record numbers, as a CSV gives them
CHUNK = 500

TAKEN = {
    "phone": _("Another patient has this phone number: it stays theirs (merge the records if they are one person)."),
    "email": _("Another patient has this email address: it stays theirs (merge the records if they are one person)."),
}


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def match(s: Session, rows: list[Row]) -> None:
    """Each row without errors: create, update (with what changes) or unchanged; errors and
    warnings from the records (an MRN on two patients, a phone or email another patient has)."""
    good = [r for r in rows if not r.errors]
    mrns = sorted({r.mrn for r in good if r.mrn})
    by_mrn: dict[str, set[int]] = {}
    for chunk in _chunks(mrns):
        for value, pid, merged in s.execute(
            select(PatientIdentifier.value, PatientIdentifier.patient_id, Patient.merged_into_id)
            .join(Patient, Patient.id == PatientIdentifier.patient_id)
            .where(PatientIdentifier.value.in_(chunk))
        ):
            by_mrn.setdefault(value, set()).add(merged or pid)
    points: dict[tuple[str, str], tuple[int, bool]] = {}
    for kind in ("phone", "email"):
        addresses = sorted({a for r in good if (a := r.phone if kind == "phone" else r.email)})
        for chunk in _chunks(addresses):
            for address, pid, verified, merged in s.execute(
                select(ContactPoint.address, ContactPoint.patient_id, ContactPoint.verified, Patient.merged_into_id)
                .join(Patient, Patient.id == ContactPoint.patient_id)
                .where(ContactPoint.kind == kind, ContactPoint.address.in_(chunk))
            ):
                points[(kind, address)] = (merged or pid, verified)
    candidates = {pid for pids in by_mrn.values() for pid in pids} | {pid for pid, _v in points.values()}
    people: dict[int, Any] = {}
    for chunk in _chunks(sorted(candidates)):
        for p in s.execute(
            select(Patient.id, Patient.name, Patient.date_of_birth, Patient.preferred_language).where(
                Patient.id.in_(chunk)
            )
        ):
            people[p.id] = p
    numbers: dict[int, set[str]] = {}
    for chunk in _chunks(sorted(candidates)):
        for pid, value in s.execute(
            select(PatientIdentifier.patient_id, PatientIdentifier.value).where(PatientIdentifier.patient_id.in_(chunk))
        ):
            numbers.setdefault(pid, set()).add(value)
    claimed: dict[int, int] = {}  # patient id -> the line that updates them
    for r in good:
        pid = None
        if r.mrn and r.mrn in by_mrn:
            if len(by_mrn[r.mrn]) > 1:
                r.error("ambiguous_mrn", "mrn", _("Record number {mrn} belongs to more than one patient."), mrn=r.mrn)
                continue
            [pid] = by_mrn[r.mrn]
        mine = [(k, a) for k, a in (("phone", r.phone), ("email", r.email)) if a]
        if pid is None:
            verified = {points[p][0] for p in mine if p in points and points[p][1]}
            same_name = {
                points[p][0]
                for p in mine
                if p in points and name_terms(people[points[p][0]].name) == name_terms(r.name)
            }
            found = verified or same_name
            if len(found) > 1:
                r.error("two_patients", "phone", _("The phone and the email belong to two different patients."))
                continue
            pid = next(iter(found), None)
        if pid is not None and pid in claimed:
            r.error("same_patient", "name", _("Line {line} already updates the same patient."), line=claimed[pid])
            continue
        for kind, address in mine:
            owner = points.get((kind, address))
            if owner is not None and owner[0] != pid:
                r.warn("taken", kind, TAKEN[kind])
        if pid is None:
            r.action = "create"
            continue
        claimed[pid] = r.line
        r.patient_id = pid
        p = people[pid]
        r.changes = [
            f
            for f, new, old in (
                ("name", r.name, p.name),
                ("date_of_birth", r.date_of_birth, p.date_of_birth),
                ("language", r.language, p.preferred_language),
            )
            if new is not None and new != old
        ]
        r.changes += [k for k, a in mine if (k, a) not in points]
        if r.mrn and r.mrn not in numbers.get(pid, set()):
            r.changes.append("mrn")
        r.action = "update" if r.changes else "unchanged"
    for r in rows:
        if r.errors:
            r.action = "error"


def counts(rows: list[Row]) -> dict[str, int]:
    out = {"rows": len(rows), "create": 0, "update": 0, "unchanged": 0, "error": 0, "warnings": 0}
    for r in rows:
        out[r.action] += 1
        out["warnings"] += bool(r.warnings)
    return out


def store(s: Session, rows: list[Row]) -> tuple[list[int], list[int]]:
    """Write what match() decided, in the caller's transaction: (created ids, updated ids)."""
    now = utcnow()
    new = [r for r in rows if r.action == "create"]
    created: list[int] = []
    if new:
        patients = Patient.__table__
        for chunk in _chunks(new):
            ids = s.execute(
                patients.insert().returning(patients.c.id, sort_by_parameter_order=True),
                [
                    {"name": r.name, "date_of_birth": r.date_of_birth, "preferred_language": r.language,
                     "source": "csv", "created_at": now, "updated_at": now}
                    for r in chunk
                ],
            ).scalars().all()  # fmt: skip
            for r, pid in zip(chunk, ids, strict=True):
                r.patient_id = pid
            created += ids
        index_new_names(s, [(r.patient_id, r.name) for r in new])  # type: ignore[misc]
    updated: list[int] = []
    for r in rows:
        if r.action != "update":
            continue
        assert r.patient_id is not None
        values: dict[str, Any] = {"updated_at": now}
        if "name" in r.changes:
            values["name"] = r.name
            reindex_name(s, r.patient_id, r.name)
        if "date_of_birth" in r.changes:
            values["date_of_birth"] = r.date_of_birth
        if "language" in r.changes:
            values["preferred_language"] = r.language
        s.execute(update(Patient).where(Patient.id == r.patient_id).values(**values))
        updated.append(r.patient_id)
    points, identifiers = [], []
    for r in rows:
        if r.action not in ("create", "update"):
            continue
        taken = {w[1] for w in r.warnings if w[0] == "taken"}
        for kind, address in (("phone", r.phone), ("email", r.email)):
            if address and kind not in taken and (r.action == "create" or kind in r.changes):
                points.append(
                    {"patient_id": r.patient_id, "kind": kind, "address": address, "verified": False, "created_at": now}
                )  # noqa: E501
        if r.mrn and (r.action == "create" or "mrn" in r.changes):
            identifiers.append(
                {"patient_id": r.patient_id, "system": MRN_SYSTEM, "value": r.mrn, "label": "MRN", "created_at": now}
            )  # noqa: E501
    for chunk in _chunks(points):
        s.execute(ContactPoint.__table__.insert(), chunk)
    for chunk in _chunks(identifiers):
        s.execute(PatientIdentifier.__table__.insert(), chunk)
    return created, updated

"""An import's page: its patients or appointments and the import's cursor, in ONE writer
transaction, so a hub killed mid-import resumes at the page it was on and nothing is stored half-way.

Idempotent by resource id and version: the same version again changes nothing (counted as
unchanged). A patient new to the hub is matched to a record it already has as
hub/patients/fhir/matching.py says; what the EHR says wins, and what it leaves empty keeps what the
hub has. The run the page belongs to is started and claimed by hub/patients/fhir/runs.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import insert, select

from hub.audit.record import AuditAction, AuditRecord, Origin, audit_row
from hub.db.models import Appointment, AuditEntry, ImportRun, Patient
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.patients.fhir.mapping import AppointmentRecord, PatientRecord
from hub.patients.fhir.matching import Known, follow
from hub.patients.fhir.runs import COUNTERS, RunSnapshot
from hub.patients.names import reindex_name

MAX_PROBLEMS = 200  # resource ids kept with their reason; the count goes on


class Problem(msgspec.Struct, frozen=True):
    resource: str  # 'Patient/123'
    reason: str


class PageWrite(msgspec.Struct, frozen=True):
    run_id: int
    claimant: str
    kind: str  # Patient or Appointment
    patients: list[PatientRecord] = []
    appointments: list[AppointmentRecord] = []
    problems: list[Problem] = []
    invalid_contacts: int = 0
    resources: int = 0
    state: dict[str, Any] = {}  # the cursor after this page
    done: bool = False


class LostRun(Exception):
    """The import is no longer this process's (another took it over, or an admin's change)."""


def _own(s: Any, run_id: int, claimant: str) -> ImportRun:
    run = s.get(ImportRun, run_id, with_for_update=True)
    if run is None or run.status != "running" or (run.state or {}).get("owner") != claimant:
        raise LostRun(f"import {run_id} is no longer this process's")
    return run


def _upsert_patients(
    s: Any, records: list[PatientRecord], counts: dict[str, int], now: datetime
) -> list[tuple[int, bool, str]]:
    """The page's patients; (patient id, created, FHIR id) of each one written. Same version:
    counted unchanged, nothing written."""
    latest = {r.fhir_id: r for r in records}  # a resource twice in a page: its last version
    counts["patients_unchanged"] += len(records) - len(latest)
    known = Known(s, list(latest.values()))
    work: list[tuple[PatientRecord, Patient, bool, bool]] = []  # record, patient, created, renamed
    for rec in latest.values():
        p = known.by_fhir.get(rec.fhir_id)
        if p is not None and p.fhir_version == rec.version:
            counts["patients_unchanged"] += 1
            continue
        if p is None:
            p = known.match(rec)
            if p is not None:
                counts["patients_matched"] += 1
        created = p is None
        if p is None:
            p = Patient(source="fhir", name=rec.name, created_at=now)
            s.add(p)
        p.fhir_id, p.fhir_version, p.updated_at = rec.fhir_id, rec.version, now
        # A record staff merged into another keeps its FHIR id (and version); what the EHR says
        # goes to the record it was merged into.
        p = follow(s, p) or p
        renamed = rec.name is not None and (created or rec.name != p.name)
        p.updated_at = now
        # What the EHR says wins; what it leaves empty keeps what the hub has.
        if rec.name is not None:
            p.name = rec.name
        if rec.date_of_birth is not None:
            p.date_of_birth = rec.date_of_birth
        if rec.language is not None:
            p.preferred_language = rec.language
        if rec.time_zone is not None:
            p.time_zone = rec.time_zone
        known.by_fhir[rec.fhir_id] = p
        work.append((rec, p, created, renamed))
    s.flush()  # the new patients' ids, in one round of inserts
    changed: list[tuple[int, bool, str]] = []
    with s.no_autoflush:  # one flush at the end, not one per statement
        for rec, p, created, renamed in work:
            if renamed:
                reindex_name(s, p.id, p.name)
            known.attach(p, rec, counts)
            counts["patients_created" if created else "patients_updated"] += 1
            changed.append((p.id, created, rec.fhir_id))
    s.flush()
    return changed


def _upsert_appointments(
    s: Any, records: list[AppointmentRecord], counts: dict[str, int], problems: list[Problem]
) -> None:
    """The page's appointments, each on its patient (by the patient's FHIR id); same version:
    counted unchanged."""
    existing = {
        a.fhir_id: a
        for a in s.execute(select(Appointment).where(Appointment.fhir_id.in_([r.fhir_id for r in records]))).scalars()
    }
    patients = {
        p.fhir_id: p
        for p in s.execute(select(Patient).where(Patient.fhir_id.in_({r.patient_fhir_id for r in records}))).scalars()
    }
    now = utcnow()
    for rec in records:
        a = existing.get(rec.fhir_id)
        if a is not None and a.fhir_version == rec.version:
            counts["appointments_unchanged"] += 1
            continue
        patient = follow(s, patients.get(rec.patient_fhir_id))
        if patient is None:
            counts["errors"] += 1
            problems.append(Problem(f"Appointment/{rec.fhir_id}", "its patient was not imported"))
            continue
        created = a is None
        if a is None:
            a = existing[rec.fhir_id] = Appointment(fhir_id=rec.fhir_id)
            s.add(a)
        a.patient_id, a.fhir_version, a.status = patient.id, rec.version, rec.status
        a.start, a.end, a.service_type = rec.start, rec.end, rec.service_type
        a.practitioner, a.location, a.description = rec.practitioner, rec.location, rec.description
        a.updated_at = now
        counts["appointments_created" if created else "appointments_updated"] += 1
    s.flush()


def apply_page(tx: Tx, items: list[PageWrite]) -> list[Any]:
    """A page's records and the cursor after it, or LostRun (then nothing of it is written)."""
    out: list[Any] = []
    for page in items:
        s = tx.session
        try:
            run = _own(s, page.run_id, page.claimant)
        except LostRun as exc:
            out.append(exc)
            continue
        now = utcnow()
        counts = {k: int((run.counts or {}).get(k, 0)) for k in COUNTERS}
        problems = list(page.problems)
        counts["errors"] += len(page.problems)
        counts["invalid_contacts"] += page.invalid_contacts
        counts["pages"] += 1
        counts["resources"] += page.resources
        changed = _upsert_patients(s, page.patients, counts, now) if page.patients else []
        if page.appointments:
            _upsert_appointments(s, page.appointments, counts, problems)
        if changed:
            origin = Origin(None, "puente fhir import")
            s.execute(
                insert(AuditEntry),
                [
                    audit_row(
                        AuditRecord(
                            AuditAction.FHIR_PATIENT_IMPORT,
                            run.started_by,
                            origin,
                            patient_id,
                            detail={"run": run.id, "created": created, "fhir_id": fhir_id},
                        )
                    )
                    for patient_id, created, fhir_id in changed
                ],
            )
        kept = list((run.state or {}).get("errors") or [])
        kept += [{"resource": p.resource, "reason": p.reason} for p in problems][: max(0, MAX_PROBLEMS - len(kept))]
        run.state = {**page.state, "owner": page.claimant, "errors": kept}
        run.counts = counts
        run.updated_at = now
        if page.done:
            run.status, run.finished_at = "done", now
        out.append(RunSnapshot(run.id, dict(run.state), dict(counts)))
    return out

"""An import's writes: each page's patients or appointments and the import's cursor, in ONE writer
transaction, so a hub killed mid-import resumes at the page it was on and nothing is stored half-way.

Idempotent by resource id and version: the same version again changes nothing (counted as
unchanged). A patient is matched to an existing record by its FHIR id, else by a record number
(system and value), else by a VERIFIED phone or email only: an address nobody proved is no proof
that two records are one person. A record number or address already on another patient is never
taken from them: it is left where it is and counted as a conflict, for staff to merge if it is one
person.

Imported contact points are unverified. The EHR's telecom was typed in by the front desk; the
patient has never shown us they hold it. It is on the record, so the assistant's one-time code may
go there (the code is what proves it), but until then it cannot make two records one.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import insert, select

from hub.audit.record import AuditAction, AuditRecord, Origin, audit_row
from hub.db.models import Appointment, AuditEntry, ContactPoint, ImportRun, Patient, PatientIdentifier
from hub.db.types import utcnow
from hub.db.writer import Tx, takes_lock_first
from hub.patients.fhir.mapping import AppointmentRecord, PatientRecord
from hub.patients.names import reindex_name

KINDS = ("Patient", "Appointment")  # patients first: an appointment names its patient
LEASE = timedelta(seconds=120)  # a running import nobody has written to this long is taken over
MAX_PROBLEMS = 200  # resource ids kept with their reason; the count goes on
_RUN_LOCK = 0x46484952  # PostgreSQL advisory lock: one process at a time decides which import runs
COUNTERS = (
    "patients_created",
    "patients_updated",
    "patients_unchanged",
    "patients_matched",  # an existing record (by number or verified address) linked to the EHR's
    "appointments_created",
    "appointments_updated",
    "appointments_unchanged",
    "errors",  # resources skipped (malformed, an appointment whose patient is unknown)
    "invalid_contacts",  # phones and emails that reach nobody, dropped
    "conflicts",  # a number or address that belongs to another patient, left there
    "pages",
    "resources",
)


class RunSnapshot(msgspec.Struct, frozen=True):
    id: int
    state: dict[str, Any]
    counts: dict[str, Any]


class Owner(msgspec.Struct, frozen=True):
    """A hub process that works on imports: host, pid, and this start's nonce."""

    claimant: str

    @classmethod
    def here(cls, nonce: str) -> Owner:
        return cls(f"{socket.gethostname()[:40]}:{os.getpid()}:{nonce}")

    def dead(self, other: str | None) -> bool:
        """Whether `other` is a process on this host that is gone (a crash, a kill -9, a restart
        of the container that reused its pid)."""
        if not other:
            return True
        host, _, rest = other.partition(":")
        pid, _, nonce = rest.partition(":")
        mine_host, _, mine_rest = self.claimant.partition(":")
        mine_pid, _, mine_nonce = mine_rest.partition(":")
        if host != mine_host or not pid.isdigit():
            return False  # another machine: only its lease running out tells
        if pid == mine_pid:
            return nonce != mine_nonce
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class NewRun(msgspec.Struct, frozen=True):
    kind: str  # fhir
    started_by: int | None
    full: bool  # everything, not only what changed since the last import
    origin: Origin | None = None  # None: started by the sync interval


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


class Finish(msgspec.Struct, frozen=True):
    run_id: int
    claimant: str
    error: str | None  # None: done


class LostRun(Exception):
    """The import is no longer this process's (another took it over, or an admin's change)."""


# --- starting and claiming ---------------------------------------------------------------------------


def _last_done_since(s: Any) -> dict[str, str | None]:
    last = s.execute(
        select(ImportRun).where(ImportRun.kind == "fhir", ImportRun.status == "done").order_by(ImportRun.id.desc())
    ).scalar()
    return dict((last.state or {}).get("since_next") or {}) if last else {}


@takes_lock_first(_RUN_LOCK)
def start_run(tx: Tx, items: list[NewRun]) -> list[Any]:
    """A new import, unless one is queued or running (then that one's id, and False)."""
    out: list[Any] = []
    for item in items:
        s = tx.session
        active = s.execute(
            select(ImportRun.id).where(ImportRun.kind == item.kind, ImportRun.status.in_(("queued", "running")))
        ).scalar()
        if active is not None:
            out.append((active, False))
            continue
        since = {} if item.full else _last_done_since(s)
        run = ImportRun(
            kind=item.kind,
            status="queued",
            state={"phase": KINDS[0], "next": None, "since": since, "full": item.full, "errors": []},
            counts=dict.fromkeys(COUNTERS, 0),
            started_by=item.started_by,
            updated_at=utcnow(),
        )
        s.add(run)
        s.flush()
        if item.origin is not None:
            s.execute(
                insert(AuditEntry),
                [
                    audit_row(
                        AuditRecord(
                            AuditAction.FHIR_IMPORT_START,
                            item.started_by,
                            item.origin,
                            detail={"run": run.id, "full": item.full},
                        )
                    )
                ],
            )
        out.append((run.id, True))
    return out


class Resume(msgspec.Struct, frozen=True):
    run_id: int
    agent_id: int
    origin: Origin


@takes_lock_first(_RUN_LOCK)
def resume_run(tx: Tx, items: list[Resume]) -> list[Any]:
    """A failed import queued again from its cursor; None when it is not a failed one (or another
    is active)."""
    out: list[Any] = []
    for item in items:
        s = tx.session
        run = s.get(ImportRun, item.run_id, with_for_update=True)
        active = s.execute(
            select(ImportRun.id).where(ImportRun.kind == "fhir", ImportRun.status.in_(("queued", "running")))
        ).scalar()
        if run is None or run.kind != "fhir" or run.status != "failed" or active is not None:
            out.append(None)
            continue
        run.status, run.error, run.finished_at, run.updated_at = "queued", None, None, utcnow()
        s.execute(
            insert(AuditEntry),
            [
                audit_row(
                    AuditRecord(
                        AuditAction.FHIR_IMPORT_START,
                        item.agent_id,
                        item.origin,
                        detail={"run": run.id, "resumed": True},
                    )
                )
            ],
        )
        out.append(run.id)
    return out


@takes_lock_first(_RUN_LOCK)
def claim_run(tx: Tx, items: list[Owner]) -> list[RunSnapshot | None]:
    """The import this process should work on: queued, or running but left by a dead process (or
    not written to for LEASE); now ours."""
    out: list[RunSnapshot | None] = []
    for owner in items:
        s = tx.session
        now = utcnow()
        found: RunSnapshot | None = None
        for run in s.execute(
            select(ImportRun)
            .where(ImportRun.kind == "fhir", ImportRun.status.in_(("queued", "running")))
            .order_by(ImportRun.id)
            .with_for_update()
        ).scalars():
            holder = (run.state or {}).get("owner")
            if run.status == "running" and holder != owner.claimant:
                stale = run.updated_at is None or run.updated_at < now - LEASE
                if not (stale or owner.dead(holder)):
                    continue
            run.status = "running"
            run.state = {**(run.state or {}), "owner": owner.claimant}
            run.updated_at = now
            found = RunSnapshot(run.id, dict(run.state), dict(run.counts or {}))
            break
        out.append(found)
    return out


# --- a page --------------------------------------------------------------------------------------------


def _own(s: Any, run_id: int, claimant: str) -> ImportRun:
    run = s.get(ImportRun, run_id, with_for_update=True)
    if run is None or run.status != "running" or (run.state or {}).get("owner") != claimant:
        raise LostRun(f"import {run_id} is no longer this process's")
    return run


def _follow(s: Any, patient: Patient | None) -> Patient | None:
    """A record merged into another stands for that one."""
    for _ in range(5):
        if patient is None or patient.merged_into_id is None:
            return patient
        patient = s.get(Patient, patient.merged_into_id)
    return patient


class _Known:
    """What the database already holds for a page's patients, read in a few queries up front (not
    a handful per patient), and kept current as the page adds to it."""

    def __init__(self, s: Any, records: list[PatientRecord]) -> None:
        self.s = s
        self.by_fhir: dict[str, Patient] = {
            p.fhir_id: p
            for p in s.execute(select(Patient).where(Patient.fhir_id.in_([r.fhir_id for r in records]))).scalars()
        }
        values = {i.value for r in records for i in r.identifiers}
        self.identifiers: dict[tuple[str, str], int] = {
            (row.system, row.value): row.patient_id
            for row in s.execute(
                select(PatientIdentifier.system, PatientIdentifier.value, PatientIdentifier.patient_id).where(
                    PatientIdentifier.value.in_(values)
                )
            )
        }
        addresses = {a for r in records for _, a in r.contacts}
        self.contacts: dict[tuple[str, str], tuple[int, bool]] = {
            (row.kind, row.address): (row.patient_id, row.verified)
            for row in s.execute(
                select(ContactPoint.kind, ContactPoint.address, ContactPoint.patient_id, ContactPoint.verified).where(
                    ContactPoint.address.in_(addresses)
                )
            )
        }

    def patient(self, patient_id: int) -> Patient | None:
        return _follow(self.s, self.s.get(Patient, patient_id))

    def match(self, rec: PatientRecord) -> Patient | None:
        """An existing record for this EHR patient: by a record number, else a verified address;
        never one already linked to another EHR patient."""
        for ident in rec.identifiers:
            owner = self.identifiers.get((ident.system, ident.value))
            p = self.patient(owner) if owner is not None else None
            if p is not None and p.fhir_id in (None, rec.fhir_id):
                return p
        for point in rec.contacts:
            owner, verified = self.contacts.get(point, (None, False))
            p = self.patient(owner) if owner is not None and verified else None
            if p is not None and p.fhir_id in (None, rec.fhir_id):
                return p
        return None

    def attach(self, p: Patient, rec: PatientRecord, counts: dict[str, int]) -> None:
        """The record's numbers and addresses on the patient, unless another patient holds them."""
        for ident in rec.identifiers:
            owner = self.identifiers.get((ident.system, ident.value))
            if owner is None:
                self.s.add(
                    PatientIdentifier(patient_id=p.id, system=ident.system, value=ident.value, label=ident.label)
                )
                self.identifiers[(ident.system, ident.value)] = p.id
            elif owner != p.id:
                counts["conflicts"] += 1
        for kind, address in rec.contacts:
            owner, _ = self.contacts.get((kind, address), (None, False))
            if owner is None:
                self.s.add(ContactPoint(patient_id=p.id, kind=kind, address=address, verified=False))
                self.contacts[(kind, address)] = (p.id, False)
            elif owner != p.id:
                counts["conflicts"] += 1


def _upsert_patients(
    s: Any, records: list[PatientRecord], counts: dict[str, int], now: datetime
) -> list[tuple[int, bool, str]]:
    """The page's patients; (patient id, created, FHIR id) of each one written. Same version:
    counted unchanged, nothing written."""
    latest = {r.fhir_id: r for r in records}  # a resource twice in a page: its last version
    counts["patients_unchanged"] += len(records) - len(latest)
    known = _Known(s, list(latest.values()))
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
        p = _follow(s, p) or p
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
        patient = _follow(s, patients.get(rec.patient_fhir_id))
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


def finish_run(tx: Tx, items: list[Finish]) -> list[None]:
    """An import that could not go on: failed, with the reason; its cursor kept for a resume."""
    for item in items:
        run = tx.session.get(ImportRun, item.run_id, with_for_update=True)
        if run is None or run.status != "running" or (run.state or {}).get("owner") != item.claimant:
            continue
        run.status, run.error, run.finished_at, run.updated_at = "failed", (item.error or "")[:500], utcnow(), utcnow()
    return [None] * len(items)


def release_run(tx: Tx, items: list[str]) -> list[None]:
    """A stopping hub hands its import back: queued again, resumed from its cursor by the next start."""
    for claimant in items:
        for run in tx.session.execute(
            select(ImportRun).where(ImportRun.kind == "fhir", ImportRun.status == "running").with_for_update()
        ).scalars():
            if (run.state or {}).get("owner") == claimant:
                run.status, run.updated_at = "queued", utcnow()
    return [None] * len(items)

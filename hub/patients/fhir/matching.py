"""A page's EHR patients matched to the records the hub already holds: by FHIR id, else by a
record number (system and value), else by a VERIFIED phone or email only: an address nobody proved
is no proof that two records are one person. A record number or address already on another patient
is never taken from them: it is left where it is and counted as a conflict, for staff to merge if
it is one person.

Imported contact points are unverified. The EHR's telecom was typed in by the front desk; the
patient has never shown us they hold it. It is on the record, so the assistant's one-time code may
go there (the code is what proves it), but until then it cannot make two records one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.db.models import ContactPoint, Patient, PatientIdentifier
from hub.patients.fhir.mapping import PatientRecord


def follow(s: Any, patient: Patient | None) -> Patient | None:
    """A record merged into another stands for that one."""
    for _ in range(5):
        if patient is None or patient.merged_into_id is None:
            return patient
        patient = s.get(Patient, patient.merged_into_id)
    return patient


class Known:
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
        return follow(self.s, self.s.get(Patient, patient_id))

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

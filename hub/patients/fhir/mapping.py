"""FHIR R4 resources to the hub's records: pure functions, no I/O.

A resource whose shape is not FHIR's (a field of the wrong type, no id, a date that is no date) is
`Malformed`: the import skips it and reports its id. A telecom that is no reachable phone or email
is dropped and counted, the rest of the patient kept."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from channels.base import PuenteError
from hub.patients.contacts import InvalidContact, normalise_email, normalise_phone

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR's id datatype
MRN_CODES = {"MR", "MRN"}  # identifier.type.coding code (v2 table 0203) of a medical record number
LANGUAGES = ("en", "es")  # what the clinic speaks; another preferred language is left unset
# Extensions that carry an IANA time zone on an address (or the patient): FHIR's own, and names
# EHRs are known to use.
TZ_EXTENSIONS = (
    "http://hl7.org/fhir/StructureDefinition/timezone",
    "http://hl7.org/fhir/StructureDefinition/tz-code",
)


class Malformed(PuenteError, ValueError):
    """A resource the import cannot read; the message names what, never the patient's data."""


# --- the parts of FHIR's shapes the import reads (unknown fields are ignored) -----------------------


class Coding(msgspec.Struct):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(msgspec.Struct):
    coding: list[Coding] = []
    text: str | None = None


class Extension(msgspec.Struct):
    url: str = ""
    valueCode: str | None = None  # noqa: N815 - FHIR's names
    valueString: str | None = None  # noqa: N815


class Identifier(msgspec.Struct):
    system: str | None = None
    value: str | None = None
    type: CodeableConcept | None = None
    use: str | None = None


class HumanName(msgspec.Struct):
    use: str | None = None
    text: str | None = None
    family: str | None = None
    given: list[str] = []
    prefix: list[str] = []


class ContactPointF(msgspec.Struct):
    system: str | None = None
    value: str | None = None
    use: str | None = None


class Communication(msgspec.Struct):
    language: CodeableConcept | None = None
    preferred: bool | None = None


class Address(msgspec.Struct):
    use: str | None = None
    extension: list[Extension] = []


class Meta(msgspec.Struct):
    versionId: str | None = None  # noqa: N815
    lastUpdated: str | None = None  # noqa: N815


class Reference(msgspec.Struct):
    reference: str | None = None
    display: str | None = None


class Participant(msgspec.Struct):
    actor: Reference | None = None
    status: str | None = None


class FhirPatient(msgspec.Struct):
    resourceType: str  # noqa: N815
    id: str
    meta: Meta = msgspec.field(default_factory=Meta)
    identifier: list[Identifier] = []
    name: list[HumanName] = []
    birthDate: str | None = None  # noqa: N815
    telecom: list[ContactPointF] = []
    communication: list[Communication] = []
    address: list[Address] = []
    extension: list[Extension] = []
    active: bool | None = None


class FhirAppointment(msgspec.Struct):
    resourceType: str  # noqa: N815
    id: str
    status: str
    meta: Meta = msgspec.field(default_factory=Meta)
    start: str | None = None
    end: str | None = None
    serviceType: list[CodeableConcept] = []  # noqa: N815
    description: str | None = None
    participant: list[Participant] = []


# --- what the hub keeps --------------------------------------------------------------------------


class IdentifierRecord(msgspec.Struct, frozen=True):
    system: str
    value: str
    label: str


class PatientRecord(msgspec.Struct, frozen=True):
    fhir_id: str
    version: str
    last_updated: str | None
    name: str | None
    date_of_birth: date | None
    language: str | None
    time_zone: str | None
    identifiers: list[IdentifierRecord]
    contacts: list[tuple[str, str]]  # (kind, normalised address)
    invalid_contacts: int  # telecoms that are no reachable phone or email


class AppointmentRecord(msgspec.Struct, frozen=True):
    fhir_id: str
    version: str
    last_updated: str | None
    patient_fhir_id: str
    status: str
    start: datetime | None
    end: datetime | None
    service_type: str | None
    practitioner: str | None
    location: str | None
    description: str | None


def resource_id(resource: Any) -> str:
    """A resource's id as reports show it ('Patient/123'), or what stands for it."""
    if isinstance(resource, dict):
        kind = resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else "?"
        rid = resource.get("id")
        if isinstance(rid, str) and _ID.match(rid):
            return f"{kind}/{rid}"
        return f"{kind}/(no valid id)"
    return "(not a resource)"


def _clean(value: str | None, limit: int) -> str | None:
    """A string as the database may keep it: no NUL, no surrounding blanks, at most `limit`."""
    if value is None:
        return None
    value = " ".join(value.replace("\x00", "").split())
    return value[:limit] or None


def _convert(resource: Any, shape: type[Any], kind: str) -> Any:
    if not isinstance(resource, dict) or resource.get("resourceType") != kind:
        raise Malformed(f"not a {kind}")
    try:
        out = msgspec.convert(resource, shape)
    except msgspec.ValidationError as exc:
        # msgspec's message names the field and the expected type, never the value
        raise Malformed(str(exc)[:200]) from None
    if not _ID.match(out.id):
        raise Malformed("its id is not a FHIR id")
    return out


def _version(meta: Meta) -> str:
    # Without a versionId, lastUpdated tells one version from the next.
    version = meta.versionId or meta.lastUpdated
    if not version:
        raise Malformed("no meta.versionId nor meta.lastUpdated")
    if len(version) > 64 or "\x00" in version:
        raise Malformed("meta.versionId is not a FHIR id")
    return version


def _name(names: list[HumanName]) -> str | None:
    order = {"official": 0, "usual": 1, None: 2, "nickname": 3, "maiden": 4, "old": 5, "anonymous": 6}
    candidates = sorted(names, key=lambda n: order.get(n.use, 3))
    for n in candidates:
        if n.use == "old":
            continue
        words = [*n.given, n.family or ""] if (n.given or n.family) else [n.text or ""]
        name = _clean(" ".join(w for w in words if w), 200)
        if name:
            return name
    return None


def _birth_date(raw: str | None) -> date | None:
    """YYYY-MM-DD; a partial date (1984, 1984-03) is no date of birth to check against."""
    if raw is None or len(raw) < 10:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise Malformed("birthDate is not a date") from None


def _language(communication: list[Communication]) -> str | None:
    ranked = sorted(communication, key=lambda c: not c.preferred)
    for c in ranked:
        codes = [(k.code or "") for k in (c.language.coding if c.language else [])]
        for code in codes:
            base = code.lower().split("-")[0]
            if base in LANGUAGES:
                return base
        if c.preferred:
            return None  # preferred, but not a language the clinic speaks: leave it to the default
    return None


def _time_zone(patient: FhirPatient) -> str | None:
    extensions = [*patient.extension, *(e for a in patient.address if a.use != "old" for e in a.extension)]
    for ext in extensions:
        if ext.url in TZ_EXTENSIONS or ext.url.endswith("/timezone"):
            zone = ext.valueCode or ext.valueString
            if zone and len(zone) <= 64:
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
                return zone
    return None


def _identifiers(identifiers: list[Identifier]) -> list[IdentifierRecord]:
    out: list[IdentifierRecord] = []
    seen: set[tuple[str, str]] = set()
    for i in identifiers:
        codes = {(c.code or "").upper() for c in (i.type.coding if i.type else [])}
        if not codes & MRN_CODES or i.use == "old":
            continue  # record numbers only: no SSN, driver's licence or passport is kept
        system, value = _clean(i.system, 1000), _clean(i.value, 1000)
        if not system or not value or len(system) > 200 or len(value) > 120:
            continue  # cut short it would be another number: not kept
        if (system, value) not in seen:
            seen.add((system, value))
            out.append(IdentifierRecord(system, value, "MRN"))
    return out


def _contacts(telecom: list[ContactPointF], region: str) -> tuple[list[tuple[str, str]], int]:
    out: list[tuple[str, str]] = []
    invalid = 0
    for t in telecom:
        if not t.value or t.system not in ("phone", "sms", "email"):
            continue  # fax, pager, url: not a way the hub reaches anyone
        if t.use == "old":
            continue
        try:
            point = (
                ("email", normalise_email(t.value))
                if t.system == "email"
                else ("phone", normalise_phone(t.value, region))
            )
        except InvalidContact:
            invalid += 1
            continue
        if point not in out:
            out.append(point)
    return out, invalid


def patient_record(resource: Any, region: str = "US") -> PatientRecord:
    p: FhirPatient = _convert(resource, FhirPatient, "Patient")
    contacts, invalid = _contacts(p.telecom, region)
    return PatientRecord(
        fhir_id=p.id,
        version=_version(p.meta),
        last_updated=p.meta.lastUpdated,
        name=_name(p.name),
        date_of_birth=_birth_date(p.birthDate),
        language=_language(p.communication),
        time_zone=_time_zone(p),
        identifiers=_identifiers(p.identifier),
        contacts=contacts,
        invalid_contacts=invalid,
    )


def _instant(raw: str | None, field: str) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"{field} is not an instant") from None
    if value.tzinfo is None:
        raise Malformed(f"{field} has no time zone")
    return value.astimezone(UTC)


def _actor(participants: list[Participant], kind: str) -> Reference | None:
    for p in participants:
        ref = p.actor
        if ref and ref.reference and ref.reference.split("/")[-2:-1] == [kind]:
            return ref
    return None


def appointment_record(resource: Any) -> AppointmentRecord:
    a: FhirAppointment = _convert(resource, FhirAppointment, "Appointment")
    patient = _actor(a.participant, "Patient")
    if patient is None or not patient.reference:
        raise Malformed("no Patient participant")
    patient_id = patient.reference.rstrip("/").split("/")[-1]
    if not _ID.match(patient_id):
        raise Malformed("its Patient reference is not a FHIR id")
    practitioner, location = _actor(a.participant, "Practitioner"), _actor(a.participant, "Location")
    service = next((c.text or next((k.display for k in c.coding if k.display), None) for c in a.serviceType), None)
    status = _clean(a.status, 24)
    if not status:
        raise Malformed("no status")
    return AppointmentRecord(
        fhir_id=a.id,
        version=_version(a.meta),
        last_updated=a.meta.lastUpdated,
        patient_fhir_id=patient_id,
        status=status,
        start=_instant(a.start, "start"),
        end=_instant(a.end, "end"),
        service_type=_clean(service, 200),
        practitioner=_clean(practitioner.display if practitioner else None, 200),
        location=_clean(location.display if location else None, 200),
        description=_clean(a.description, 500),
    )

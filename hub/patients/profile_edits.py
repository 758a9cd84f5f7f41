"""A patient's profile edited by role (hub/patients/profile.py reads it).

Who may change what:
- agents (and everyone above): language, preferred channel, time zone; add a phone or an email;
  record the patient's consent to a channel (or its refusal) as the patient told them. These are
  what an agent needs to answer the patient the way they asked, and none of them says who the
  patient is.
- supervisors and admins: also the name, the date of birth and record numbers (MRN), and remove a
  phone or email. These identify the patient: the assistant's identity check compares the date of
  birth, the EHR link matches by record number, and a wrong one sends one patient's data to another,
  so they are changed by the people who answer for the record (and who may merge it).
A break-glass grant reads a record; it never edits one. A record merged into another is edited there.

Every change is audited, and is also a timeline event (which fields, never their values) in the
patient's latest conversation, sent to open inboxes after commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.agents.roles import Principal, Role
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Consent, ContactPoint, Conversation, Patient, PatientIdentifier
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, ConversationStatus, EventKind
from hub.i18n import _
from hub.patients.contacts import InvalidContact, normalise
from hub.patients.names import reindex_name
from hub.patients.profile import CONSENT_CHANNEL, may_see
from hub.refusals import Problem, Refused, one_by_one
from hub.timeline.append import append_event

IDENTITY_FIELDS = frozenset({"name", "date_of_birth"})  # supervisors and admins
CONTACT_FIELDS = frozenset({"preferred_language", "preferred_channel", "time_zone"})  # every agent
CHANNELS = ("sms", "email", "webchat", "api")
DEFAULT_MRN_SYSTEM = "urn:puente:mrn"

NO_PATIENT = _("No patient {id} that you can see.")
MERGED = _("Patient {id} was merged into patient {into}: edit that record instead.")
NEEDS_SUPERVISOR = _("Only supervisors and admins can change a patient's name, date of birth or record numbers.")
NEEDS_SUPERVISOR_REMOVE = _("Only supervisors and admins can remove a contact point.")
CONTACT_TAKEN = {
    "phone": _("This phone number belongs to another patient ({id}). Merge the two records if they are one person."),
    "email": _("This email address belongs to another patient ({id}). Merge the two records if they are one person."),
}
CONTACT_HERE = {
    "phone": _("This patient has this phone number already."),
    "email": _("This patient has this email address already."),
}
NOT_VALID = {
    "phone": _("That is not a phone number the hub can text: {why}"),
    "email": _("That is not an email address: {why}"),
}
IDENTIFIER_TAKEN = _("This record number belongs to another patient ({id}).")
IDENTIFIER_HERE = _("This patient has this record number already.")
BAD_ZONE = _("{zone} is not a time zone (use a name such as America/Los_Angeles).")
BAD_DOB = _("A date of birth must be between 1900-01-01 and today.")
NO_CONTACT = _("This patient has no contact point {id}.")
ONLY_PHONE_EMAIL = _("Only phone numbers and email addresses can be added or removed here.")
NOTHING = _("Nothing to change.")


class Edit(msgspec.Struct, frozen=True):
    """Fields to set (only those given): name, date_of_birth, preferred_language, preferred_channel,
    time_zone."""

    patient_id: int
    by: Principal
    origin: Origin
    changes: dict[str, Any]


class AddContact(msgspec.Struct, frozen=True):
    patient_id: int
    by: Principal
    origin: Origin
    kind: str
    address: str  # as typed
    region: str
    consent: bool | None = None  # the patient's answer, if asked: recorded for the channel it reaches
    consent_source: str | None = None


class RemoveContact(msgspec.Struct, frozen=True):
    patient_id: int
    by: Principal
    origin: Origin
    contact_point_id: int


class AddIdentifier(msgspec.Struct, frozen=True):
    patient_id: int
    by: Principal
    origin: Origin
    value: str
    system: str = DEFAULT_MRN_SYSTEM
    label: str = "MRN"


class RecordConsent(msgspec.Struct, frozen=True):
    patient_id: int
    by: Principal
    origin: Origin
    channel: str
    granted: bool
    source: str


class Changed(msgspec.Struct):
    patient_id: int
    seq: int | None  # the timeline event that records it (None: the patient has no conversation yet)
    fields: list[str] = []
    contact_point_id: int | None = None
    identifier_id: int | None = None


ProfileCommand = Edit | AddContact | RemoveContact | AddIdentifier | RecordConsent


def check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused(400, BAD_ZONE, zone=zone) from None


def check_birth_date(value: date) -> None:
    if not date(1900, 1, 1) <= value <= utcnow().date():
        raise Refused(400, BAD_DOB)


def _patient(tx: Tx, cmd: ProfileCommand) -> Patient:
    s = tx.session
    p = s.get(Patient, cmd.patient_id, with_for_update=True)
    if p is None or not may_see(s, cmd.by, cmd.patient_id):  # a break-glass grant is read-only
        raise Refused(404, NO_PATIENT, id=cmd.patient_id)
    if p.merged_into_id is not None:
        raise Refused(409, MERGED, id=p.id, into=p.merged_into_id)
    return p


def _senior(by: Principal, message: str = NEEDS_SUPERVISOR) -> None:
    if by.role.rank < Role.SUPERVISOR.rank:
        raise Refused(403, message)


def _do(tx: Tx, cmd: ProfileCommand) -> Changed:
    p = _patient(tx, cmd)
    if isinstance(cmd, Edit):
        return _edit(tx, p, cmd)
    if isinstance(cmd, AddContact):
        return _add_contact(tx, p, cmd)
    if isinstance(cmd, RemoveContact):
        return _remove_contact(tx, p, cmd)
    if isinstance(cmd, AddIdentifier):
        return _add_identifier(tx, p, cmd)
    return _record_consent(tx, p, cmd)


do_profile_commands = one_by_one(_do)


def _edit(tx: Tx, p: Patient, cmd: Edit) -> Changed:
    changes = {k: v for k, v in cmd.changes.items() if getattr(p, k) != v}
    if not cmd.changes:
        raise Refused(400, NOTHING)
    if IDENTITY_FIELDS & cmd.changes.keys():
        _senior(cmd.by)
    if changes.get("time_zone"):
        check_zone(changes["time_zone"])
    if changes.get("date_of_birth"):
        check_birth_date(changes["date_of_birth"])
    if not changes:
        return Changed(p.id, None)
    for k, v in changes.items():
        setattr(p, k, v)
    p.updated_at = utcnow()
    if "name" in changes:
        reindex_name(tx.session, p.id, p.name)
    fields = sorted(changes)
    return _record(tx, p, cmd, AuditAction.PATIENT_UPDATE, {"fields": fields}, {"fields": fields}, fields=fields)


def _add_contact(tx: Tx, p: Patient, cmd: AddContact) -> Changed:
    s = tx.session
    if cmd.kind not in CONSENT_CHANNEL:
        raise Refused(400, ONLY_PHONE_EMAIL)
    try:
        address = normalise(cmd.kind, cmd.address, cmd.region)
    except InvalidContact as exc:
        raise Refused(400, NOT_VALID[cmd.kind], why=str(exc)) from None
    owner = s.execute(
        select(ContactPoint.patient_id).where(ContactPoint.kind == cmd.kind, ContactPoint.address == address)
    ).scalar_one_or_none()
    if owner == p.id:
        raise Refused(409, CONTACT_HERE[cmd.kind])
    if owner is not None:
        message = CONTACT_TAKEN[cmd.kind]
        taken = Problem("contact_taken", message, {"id": owner}, {"patient_id": owner})
        raise Refused(409, message, [taken], id=owner)
    point = ContactPoint(patient_id=p.id, kind=cmd.kind, address=address, verified=False, created_at=utcnow())
    s.add(point)
    s.flush()
    shown: dict[str, Any] = {"contact_added": {"kind": cmd.kind, "address": address}}
    if cmd.consent is not None:
        channel = CONSENT_CHANNEL[cmd.kind]
        _set_consent(tx, p.id, channel, cmd.consent, cmd.consent_source or f"recorded by {cmd.by.display_name}")
        shown["consent"] = {"channel": channel, "granted": cmd.consent}
    out = _record(tx, p, cmd, AuditAction.CONTACT_ADD, {**shown, "contact_point_id": point.id}, shown)
    out.contact_point_id = point.id
    return out


def _remove_contact(tx: Tx, p: Patient, cmd: RemoveContact) -> Changed:
    _senior(cmd.by, NEEDS_SUPERVISOR_REMOVE)
    point = tx.session.get(ContactPoint, cmd.contact_point_id)
    if point is None or point.patient_id != p.id:
        raise Refused(404, NO_CONTACT, id=cmd.contact_point_id)
    if point.kind not in CONSENT_CHANNEL:
        raise Refused(400, ONLY_PHONE_EMAIL)
    shown = {"contact_removed": {"kind": point.kind, "address": point.address}}
    tx.session.delete(point)
    tx.session.flush()
    out = _record(tx, p, cmd, AuditAction.CONTACT_REMOVE, {**shown, "contact_point_id": cmd.contact_point_id}, shown)
    out.contact_point_id = cmd.contact_point_id
    return out


def _add_identifier(tx: Tx, p: Patient, cmd: AddIdentifier) -> Changed:
    _senior(cmd.by)
    s = tx.session
    value, system = cmd.value.strip(), cmd.system.strip() or DEFAULT_MRN_SYSTEM
    if not value:
        raise Refused(400, _("Say the record number."))
    owner = s.execute(
        select(PatientIdentifier.patient_id).where(PatientIdentifier.system == system, PatientIdentifier.value == value)
    ).scalar_one_or_none()
    if owner == p.id:
        raise Refused(409, IDENTIFIER_HERE)
    if owner is not None:
        taken = Problem("identifier_taken", IDENTIFIER_TAKEN, {"id": owner}, {"patient_id": owner})
        raise Refused(409, IDENTIFIER_TAKEN, [taken], id=owner)
    row = PatientIdentifier(patient_id=p.id, system=system, value=value, label=cmd.label, created_at=utcnow())
    s.add(row)
    s.flush()
    shown = {"identifier_added": {"label": cmd.label, "system": system, "value": value}}
    out = _record(tx, p, cmd, AuditAction.IDENTIFIER_ADD, {**shown, "identifier_id": row.id}, shown)
    out.identifier_id = row.id
    return out


def _record_consent(tx: Tx, p: Patient, cmd: RecordConsent) -> Changed:
    _set_consent(tx, p.id, cmd.channel, cmd.granted, cmd.source)
    shown = {"consent": {"channel": cmd.channel, "granted": cmd.granted}}
    return _record(tx, p, cmd, AuditAction.CONSENT_RECORD, {**shown, "source": cmd.source}, shown)


def _set_consent(tx: Tx, patient_id: int, channel: str, granted: bool, source: str) -> None:
    row = tx.session.execute(
        select(Consent).where(Consent.patient_id == patient_id, Consent.channel == channel)
    ).scalar_one_or_none()
    if row is None:
        tx.session.add(Consent(patient_id=patient_id, channel=channel, granted=granted, source=source[:120]))
    else:
        row.granted, row.source, row.changed_at = granted, source[:120], utcnow()
    tx.session.flush()


def latest_conversation(s: Session, patient_id: int) -> Conversation | None:
    """Where a change to the record is told: the latest unresolved conversation, else the latest."""
    return s.execute(
        select(Conversation)
        .where(Conversation.patient_id == patient_id)
        .order_by((Conversation.status != ConversationStatus.RESOLVED).desc(), Conversation.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _record(
    tx: Tx,
    p: Patient,
    cmd: ProfileCommand,
    action: AuditAction,
    audit: dict[str, Any],
    shown: dict[str, Any],
    fields: list[str] | None = None,
) -> Changed:
    """The audit row, and the timeline event open inboxes get after commit."""
    conv = latest_conversation(tx.session, p.id)
    seq = None
    if conv is not None:
        event = append_event(
            tx,
            conv,
            EventKind.PROFILE_CHANGE,
            author_type=AuthorType.AGENT,
            author_id=cmd.by.id,
            author_name=cmd.by.display_name,
            data=shown,
        )
        seq = event.seq
    add_audit(tx, AuditRecord(action, cmd.by.id, cmd.origin, p.id, conv.id if conv else None, {**audit, "seq": seq}))
    tx.session.expire(p)
    return Changed(p.id, seq, fields or [])

"""A patient's profile, read as the reader may see it (hub/patients/profile_edits.py says who may
change what).

The date of birth: supervisors and admins see it (they correct and merge records). An agent sees
it only while the patient's identity is verified (date of birth and a one-time code, still valid)
in an unresolved conversation the agent may see: the patient has just proved it, and the agent
may need it to help. Otherwise an agent sees that one is on file, not what it is, so an agent can
never be the one who discloses it, nor be talked into confirming it.

Every read is audited (by the routes, before the profile is answered).
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hub.agents.roles import Principal, Role
from hub.bot.identity import still_verified
from hub.db.models import Agent, Appointment, Conversation, Patient, PatientIdentifier
from hub.db.types import utcnow
from hub.events import ConversationStatus
from hub.patients.merge_history import MergeOut, merge_history
from hub.patients.reach import ReplyChannel, reply_channels
from hub.timeline.reads import visible

CONSENT_CHANNEL = {"phone": "sms", "email": "email"}  # what consent a contact point's kind needs


class ContactPointOut(msgspec.Struct):
    kind: str
    address: str
    verified: bool
    opted_out_at: datetime | None
    id: int = 0
    consent: bool | None = None  # the patient's recorded consent to the channel this reaches (None: none recorded)


class ConsentOut(msgspec.Struct):
    channel: str
    granted: bool
    source: str
    changed_at: datetime


class IdentifierOut(msgspec.Struct):
    id: int
    label: str
    system: str
    value: str


class AppointmentOut(msgspec.Struct):
    id: int
    status: str
    start: datetime | None
    end: datetime | None
    service_type: str | None
    practitioner: str | None
    location: str | None


class ConversationBrief(msgspec.Struct):
    id: int
    status: str
    channel: str
    last_inbound_channel: str | None
    opened_at: datetime
    last_message_at: datetime | None
    last_event_seq: int
    assignee_name: str | None


class Permissions(msgspec.Struct):
    edit: bool  # language, preferred channel, time zone, add contact points, consent
    edit_identity: bool  # name, date of birth, record numbers, remove contact points
    merge: bool  # merge and unmerge
    start: bool  # write first


class PatientOut(msgspec.Struct):
    id: int
    name: str | None
    date_of_birth: date | None  # None when there is none, or when this reader may not see it
    preferred_language: str | None
    preferred_channel: str | None
    time_zone: str | None
    contact_points: list[ContactPointOut]
    consents: list[ConsentOut]
    reply_channels: list[ReplyChannel]
    date_of_birth_on_file: bool = False
    date_of_birth_masked: bool = False  # on file, hidden from this reader (see the module's rule)
    identifiers: list[IdentifierOut] = []
    appointments: list[AppointmentOut] = []
    conversations: list[ConversationBrief] = []
    merges: list[MergeOut] = []
    merged_into_id: int | None = None
    source: str = "message"
    updated_at: datetime | None = None
    can: Permissions | None = None


def may_see(s: Session, principal: Principal, patient_id: int) -> bool:
    """hub.timeline.reads.may_see_patient, inside the writer's transaction."""
    if principal.sees_everything:
        return s.get(Patient, patient_id) is not None
    return bool(s.execute(select(exists().where(Conversation.patient_id == patient_id, visible(principal)))).scalar())


def shows_birth_date(s: Session, reader: Principal, patient_id: int) -> bool:
    """The module's rule: supervisors and admins; an agent while the patient is verified in an
    unresolved conversation the agent may see."""
    if reader.sees_everything:
        return True
    rows = s.execute(
        select(Conversation.verified_at).where(
            Conversation.patient_id == patient_id,
            Conversation.status != ConversationStatus.RESOLVED,
            Conversation.verified_at.is_not(None),
            visible(reader),
        )
    ).scalars()
    now = utcnow()
    return any(still_verified(at, now) for at in rows)


def permissions(reader: Principal, break_glass: bool, merged: bool) -> Permissions:
    writable = not break_glass and not merged
    senior = reader.role.rank >= Role.SUPERVISOR.rank
    return Permissions(writable, writable and senior, writable and senior, writable)


def read_profile(s: Session, reader: Principal, seen_as: Principal, patient_id: int, break_glass: bool) -> PatientOut:
    """The profile as `reader` may see it; `seen_as`: whom they read as (a break-glass grant reads
    every conversation of the patient)."""
    p = s.get(Patient, patient_id)
    assert p is not None
    consents = {c.channel: c.granted for c in p.consents}
    shown = shows_birth_date(s, reader, patient_id)
    convs = s.execute(
        select(Conversation, Agent.display_name)
        .outerjoin(Agent, Agent.id == Conversation.assignee_id)
        .where(Conversation.patient_id == patient_id, visible(seen_as))
        .order_by(Conversation.id.desc())
        .limit(100)
    ).all()
    appointments = s.execute(
        select(Appointment).where(Appointment.patient_id == patient_id).order_by(Appointment.start.desc()).limit(50)
    ).scalars()
    identifiers = s.execute(
        select(PatientIdentifier).where(PatientIdentifier.patient_id == patient_id).order_by(PatientIdentifier.id)
    ).scalars()
    return PatientOut(
        p.id,
        p.name,
        p.date_of_birth if shown else None,
        p.preferred_language,
        p.preferred_channel,
        p.time_zone,
        [
            ContactPointOut(
                c.kind, c.address, c.verified, c.opted_out_at, c.id, consents.get(CONSENT_CHANNEL.get(c.kind, ""))
            )
            for c in sorted(p.contact_points, key=lambda c: c.id)
        ],
        [ConsentOut(c.channel, c.granted, c.source, c.changed_at) for c in p.consents],
        reply_channels(s, patient_id),
        date_of_birth_on_file=p.date_of_birth is not None,
        date_of_birth_masked=p.date_of_birth is not None and not shown,
        identifiers=[IdentifierOut(i.id, i.label, i.system, i.value) for i in identifiers],
        appointments=[
            AppointmentOut(a.id, a.status, a.start, a.end, a.service_type, a.practitioner, a.location)
            for a in appointments
        ],
        conversations=[
            ConversationBrief(
                c.id,
                c.status,
                c.channel,
                c.last_inbound_channel,
                c.opened_at,
                c.last_message_at,
                c.last_event_seq,
                assignee,
            )
            for c, assignee in convs
        ],
        merges=merge_history(s, patient_id),
        merged_into_id=p.merged_into_id,
        source=p.source,
        updated_at=p.updated_at,
        can=permissions(reader, break_glass, p.merged_into_id is not None),
    )

"""The relational model: patients and how to reach them, conversations, one timeline, agents, audit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hub.db.types import JSONType, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Counter(Base):
    """Named counters. The 'seq' row hands out timeline sequence numbers; its row lock
    is held until commit, so numbers are allocated in commit order on every backend."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_es: Mapped[str | None] = mapped_column(String(120))  # its Spanish name, when it differs
    # Opening hours in the clinic's time zone: {"mon": [["08:00", "17:00"]], ..., "sun": []}.
    hours: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")


class Holiday(Base):
    """A day a team (or, with no team, the whole clinic) is closed."""

    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("team_id", "day", name="uq_holidays_team_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120))


class RedFlag(Base):
    """A phrase that signals an emergency, in one language: data admins review and edit."""

    __tablename__ = "red_flags"
    __table_args__ = (UniqueConstraint("language", "phrase", name="uq_red_flags_language_phrase"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    phrase: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))  # cardiac, breathing, stroke, self_harm, bleeding...
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


agent_teams = Table(
    "agent_teams",
    Base.metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)


class Agent(Base):
    """A staff user. Role: agent, supervisor or admin."""

    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ui_language: Mapped[str | None] = mapped_column(String(16))  # the inbox's language; None: the browser's
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Routing: conversations are auto-assigned only to agents who said they are available and whose
    # inbox is open (last_seen_at is kept fresh by their live stream), up to their capacity.
    available: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Sign-in (hub/agents/): bumped when a password, the account's MFA or its active flag changes, so
    # every session signed in before it ends (a session carries the epoch it was made in).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A one-time password-reset code an admin made (its HMAC only) and until when it works.
    reset_code_hash: Mapped[str | None] = mapped_column(String(64))
    reset_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP (RFC 6238): the shared secret (base32), the last time step accepted (a code is never taken
    # twice), and the recovery codes' HMACs (each one usable once: used ones are removed).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovery_codes: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")
    teams: Mapped[list[Team]] = relationship(secondary=agent_teams, lazy="selectin")


class RolePolicy(Base):
    """What admins require of each role: MFA at sign-in."""

    __tablename__ = "role_policies"
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    mfa_required: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BreakGlass(Base):
    """Access to a patient outside a staff member's reach, asked for with a reason: read-only, for a
    limited time, audited, and announced to supervisors."""

    __tablename__ = "break_glass"
    __table_args__ = (Index("ix_break_glass_agent_patient", "agent_id", "patient_id", "expires_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date, index=True)
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when this record was found to be another patient's (a web-chat visitor who proved an
    # address): everything of it moved there; the row stays so the audit trail can be followed.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    # Where the record came from (message, staff, fhir, csv) and, for the EHR's, its resource id and
    # version: a re-import of the same version changes nothing.
    source: Mapped[str] = mapped_column(String(16), default="message", server_default="message")
    fhir_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    fhir_version: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_points: Mapped[list[ContactPoint]] = relationship(back_populates="patient", lazy="selectin")
    consents: Mapped[list[Consent]] = relationship(back_populates="patient", lazy="selectin")


class ContactPoint(Base):
    """One way to reach a patient: kind (phone, email, webchat) + normalised address."""

    __tablename__ = "contact_points"
    __table_args__ = (UniqueConstraint("kind", "address"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    patient: Mapped[Patient] = relationship(back_populates="contact_points")


class PatientIdentifier(Base):
    """A number the clinic knows the patient by: an MRN (system = the issuing system's URI)."""

    __tablename__ = "patient_identifiers"
    __table_args__ = (UniqueConstraint("system", "value"), Index("ix_patient_identifiers_value", "value"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(120))
    label: Mapped[str] = mapped_column(String(40), default="MRN")  # MR, MRN, SSN-free by design
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatientSearchTerm(Base):
    """One folded word of a patient's name, so the directory finds 'maria' in 'María José Núñez'
    by an index range scan on a million patients."""

    __tablename__ = "patient_search_terms"
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True, index=True)


class Appointment(Base):
    """A visit on the clinic's calendar (from the EHR, a CSV or the API), for the reminders."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_patient_start", "patient_id", "start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    fhir_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    fhir_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))  # FHIR's: booked, cancelled, fulfilled, noshow...
    start: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service_type: Mapped[str | None] = mapped_column(String(200))
    practitioner: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportRun(Base):
    """One import of patients (FHIR or CSV): its progress, and where it resumes after a failure."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # fhir, csv
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, running, done, failed
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # the cursor: next page, watermark
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # created, updated, unchanged...
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PatientMerge(Base):
    """Staff merged `source` into `target`; `moves` lists every row that changed hands
    ([table, row id, column, old value]) and `before` the target's fields, so an unmerge puts each
    back exactly."""

    __tablename__ = "patient_merges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(500))
    moves: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    before: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class Consent(Base):
    """A patient's consent to be contacted on a channel, and where it came from."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("patient_id", "channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    patient: Mapped[Patient] = relationship(back_populates="consents")


class Conversation(Base):
    """An episode of contact with a patient, from first message to resolution."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_patient_status", "patient_id", "status"),
        Index("ix_conversations_status_last", "status", "last_event_seq"),
        Index("ix_conversations_urgent_since", "urgent_since"),
        Index("ix_conversations_team_assigned", "team_id", "assigned_at"),
        Index("ix_conversations_team_resolved", "team_id", "resolved_at"),
        Index("ix_conversations_snoozed_until", "snoozed_until"),
        # The inbox's views, newest activity first, a page at a time (hub/conversations/lists.py).
        Index("ix_conversations_last_event", "last_event_seq"),
        Index("ix_conversations_assignee_last", "assignee_id", "last_event_seq"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    handler: Mapped[str] = mapped_column(String(8), default="agent")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_channel: Mapped[str | None] = mapped_column(String(16))
    preview: Mapped[str | None] = mapped_column(String(160))
    # The newest event staff have read in this conversation: the patient's "read" receipts.
    agent_read_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The bot: the newest inbound message it has answered, and what it is in the middle of
    # ({"failures": 1, "pending": "verify_code", ...}); it answers only while handler is "bot".
    bot_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    bot_state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    language: Mapped[str | None] = mapped_column(String(16))  # the conversation's, for routing by skill
    intent: Mapped[str | None] = mapped_column(String(32))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # waiting for an agent since
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # identity checked (date of birth + code)
    # Who holds it and since when, and how long it waited for them: what wait estimates are made of.
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waited_s: Mapped[int | None] = mapped_column(Integer)
    # An urgent conversation (a red flag) nobody has taken yet (hub/routing/urgent.py): since when, the
    # circle of staff alerted so far (0 none, 1 the emergency team, 2 the floor, 3 everyone signed
    # in), and when they were last alerted (None: nobody could be, yet).
    urgent_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Snoozed by staff: out of the open views until then, when it comes back by itself (hub/conversations/snooze.py),
    # or at once when the patient writes.
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CsatSurvey(Base):
    """The one satisfaction question a resolved conversation gets (hub/csat/): due when it was
    resolved (or held until the patient's morning), asked on the patient's channel, answered once;
    skipped when its channel has CSAT off or the patient cannot be reached there (opted out)."""

    __tablename__ = "csat_surveys"
    __table_args__ = (
        Index("ix_csat_surveys_state_due", "state", "due_at"),
        Index("ix_csat_surveys_patient_state", "patient_id", "state"),
    )
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(16))  # where it is (was) asked
    state: Mapped[str] = mapped_column(String(12), default="due")  # due, asked, answered, skipped
    reason: Mapped[str | None] = mapped_column(String(24))  # why skipped: off, opted_out, unreachable
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    asked_seq: Mapped[int | None] = mapped_column(BigInteger)  # the csat_asked event
    locale: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CsatChannel(Base):
    """CSAT switched on or off per channel by admins (no row: on)."""

    __tablename__ = "csat_channels"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class TimelineEvent(Base):
    """Everything that happens in a patient's timeline. `seq` is server-assigned and strictly
    increasing across the whole hub, so "everything after N" is never ambiguous."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        # A provider's id names one message per channel and direction: an outbound message's
        # id (from a delivery report) never shadows an inbound one.
        UniqueConstraint("channel", "kind", "provider_message_id", name="uq_timeline_events_provider_id"),
        Index("ix_timeline_events_patient_seq", "patient_id", "seq"),
        Index("ix_timeline_events_channel_kind_seq", "channel", "kind", "seq"),  # a channel's outbox
        Index("ix_timeline_events_conversation_seq", "conversation_id", "seq"),
    )
    # On SQLite an INTEGER primary key is the rowid itself: one b-tree, not two.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str | None] = mapped_column(String(16))
    author_type: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The text folded for search (hub/search/fold.py), written with the event; never shown.
    search_text: Mapped[str | None] = mapped_column(Text, deferred=True)


class OutboxItem(Base):
    """An outbound message waiting for its channel's sender. Written in the same transaction
    as the message itself, so a stored reply is never forgotten and never sent twice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The timeline message being sent; none for a one-time code, which is no part of any record.
    message_seq: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.seq", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    # reply: to the patient's reachable contact point, looked up at sending time;
    # opt_out_confirmation: to to_address although it just opted out (its one confirmation);
    # code: a one-time code to to_address (checked against opt-outs), text in `body`.
    purpose: Mapped[str] = mapped_column(String(24), default="reply", server_default="reply")
    to_address: Mapped[str | None] = mapped_column(String(320))
    # What to send when it is not a timeline message's text; cleared once settled, so a
    # one-time code does not outlive its sending.
    body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending, sending, sent, failed
    # Which hub process claimed it for sending, and when: a restarting hub fails only claims
    # that are stale, never one another live process is sending right now.
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Media(Base):
    """A file a patient sent (an MMS photo, a voice note) that the hub fetches from the channel's
    provider and keeps under data_dir/media, named by its sha256. Queued in the same transaction
    as its message, so none is lost; staff get it from the hub, never from the provider's URL."""

    __tablename__ = "media"
    __table_args__ = (
        UniqueConstraint("message_seq", "position", name="uq_media_message_position"),
        Index("ix_media_state_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_seq: Mapped[int] = mapped_column(ForeignKey("timeline_events.seq", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # its index in the message's attachments
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str] = mapped_column(Text)  # the provider's; never shown to clients
    declared_type: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending, fetching, stored, failed
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_type: Mapped[str | None] = mapped_column(String(100))  # as sniffed from the bytes
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(300))
    error_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VoiceNote(Base):
    """A patient's voice note: an audio file the hub keeps (a media row), measured, made playable
    in every browser and transcribed in the background (hub/voice/). Queued in the transaction
    that stored the audio; claimed like media fetches, so a restart resumes what was under way."""

    __tablename__ = "voice_notes"
    __table_args__ = (Index("ix_voice_notes_state_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), unique=True)
    message_seq: Mapped[int] = mapped_column(ForeignKey("timeline_events.seq", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending, working, done, failed
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # refreshed while the work runs
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the audio is checked: its length, measured from the samples, and a copy browsers
    # everywhere play (AAC in MP4, under data_dir/media) when the original is not such a file.
    duration_s: Mapped[float | None] = mapped_column(Float)
    playable_sha256: Mapped[str | None] = mapped_column(String(64))
    playable_size: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)  # the transcript (also the transcript event's text)
    language: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    low_confidence: Mapped[bool] = mapped_column(Boolean, default=False)
    engine: Mapped[str | None] = mapped_column(String(60))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(300))
    error_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebchatVerification(Base):
    """A web-chat visitor proving they own a phone or email with a one-time code. Only the
    code's HMAC is kept; a visitor is linked to the patient behind that address once proven."""

    __tablename__ = "webchat_verifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The visitor's own contact point (web-chat visitor or portal user).
    contact_point_id: Mapped[int] = mapped_column(ForeignKey("contact_points.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # phone or email
    address: Mapped[str] = mapped_column(String(320))  # normalised
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailMessage(Base):
    """Every email in or out, by its Message-ID: the conversation it belongs to (threading), the
    chain it answers (References), and where its original is kept (data_dir/media, by sha256).
    One row per Message-ID: the same message never lands twice."""

    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_messages_conversation", "conversation_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)  # without brackets
    direction: Mapped[str] = mapped_column(String(3))  # in, out
    kind: Mapped[str] = mapped_column(String(12))  # message, auto_reply, bounce
    source: Mapped[str] = mapped_column(String(12))  # smtp, sendgrid, mailgun, outbox
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    message_seq: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.seq", ondelete="CASCADE"), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(320))  # the patient's: who sent it, or who it went to
    refs: Mapped[list[str]] = mapped_column(JSONType, default=list)  # the ids it answers, oldest first
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    raw_size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailReplyToken(Base):
    """A conversation's reply address, reply+<token>@domain: unguessable, so a reply finds its
    conversation whatever its client does to In-Reply-To."""

    __tablename__ = "email_reply_tokens"
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Template(Base):
    """A bilingual message template: a key, what it is for, and its versions."""

    __tablename__ = "templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    purpose: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TemplateVersion(Base):
    """One version of a template's text: per channel (sms, email, chat), per locale. A template
    has at most one draft (proposed by a supervisor or an admin) and one published version;
    publishing retires the one before. Versions are never edited after they leave draft."""

    __tablename__ = "template_versions"
    __table_args__ = (
        UniqueConstraint("template_id", "number", name="uq_template_versions_number"),
        Index("ix_template_versions_template_state", "template_id", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))  # draft, published, retired, discarded
    # {"sms": {"en": {"body": ...}, "es": {...}}, "email": {"en": {"subject": ..., "body": ...}}, "chat": {...}}
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(String(300))
    based_on: Mapped[int | None] = mapped_column(Integer)  # the version number it was restored from
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CannedReply(Base):
    """A short reply an agent keeps (personal: owner_id set) or the clinic shares (owner_id null,
    kept by supervisors and admins), typed as /shortcut in the composer: one text per language, in
    the templates' syntax, filled in with the patient's data (hub/canned/)."""

    __tablename__ = "canned_replies"
    __table_args__ = (Index("ix_canned_replies_owner_shortcut", "owner_id", "shortcut"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    shortcut: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    texts: Mapped[dict[str, str]] = mapped_column(JSONType)  # {"en": "...", "es": "..."}
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who did what to which patient's data, when and from where. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "at"),
        Index("ix_audit_log_agent_at", "agent_id", "at"),
        # the audit viewer pages newest first by id (keyset), filtered by any of these
        Index("ix_audit_log_patient_id", "patient_id", "id"),
        Index("ix_audit_log_agent_id", "agent_id", "id"),
        Index("ix_audit_log_action_id", "action", "id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class ReportConversation(Base):
    """One conversation's report facts (hub/reports/facts.py), kept up to date after each commit
    that touches it (hub/reports/rollup.py): what every KPI is aggregated from, by day and filter,
    instead of scanning the timeline per request. docs/kpis.md defines each field."""

    __tablename__ = "report_conversations"
    __table_args__ = (
        Index("ix_report_conversations_day", "day", "team_id", "channel"),
        Index("ix_report_conversations_agent_day", "agent_id", "day"),
    )
    # Not a foreign key: a derived row, and the key check would lock the conversation's row on
    # PostgreSQL (a refresh waiting behind whoever holds it).
    conversation_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    patient_id: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(BigInteger)  # the conversation's newest event these facts include
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)  # the opening's day, week (its Monday) and month, in the clinic's zone
    week: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 Monday
    hour: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    messages_in: Mapped[int] = mapped_column(Integer)
    messages_out: Mapped[int] = mapped_column(Integer)  # people's messages only
    bot_messages: Mapped[int] = mapped_column(Integer)
    assistant: Mapped[bool] = mapped_column(Boolean)
    bot_resolved: Mapped[bool] = mapped_column(Boolean)
    handed_off: Mapped[bool] = mapped_column(Boolean)
    handoff_reason: Mapped[str | None] = mapped_column(String(40))
    bot_s: Mapped[int | None] = mapped_column(Integer)
    to_people_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_s: Mapped[int | None] = mapped_column(Integer)
    first_response_business_s: Mapped[int | None] = mapped_column(Integer)
    wait_s: Mapped[int | None] = mapped_column(Integer)
    handle_s: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_s: Mapped[int | None] = mapped_column(Integer)
    reopened: Mapped[bool] = mapped_column(Boolean)
    transferred: Mapped[bool] = mapped_column(Boolean)
    abandon_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opt_outs: Mapped[int] = mapped_column(Integer)
    red_flag: Mapped[bool] = mapped_column(Boolean)
    red_flag_s: Mapped[int | None] = mapped_column(Integer)
    csat_asked: Mapped[bool] = mapped_column(Boolean)
    csat_score: Mapped[int | None] = mapped_column(Integer)

"""Every event type the hub emits, in one place.

Timeline event kinds are what the database stores; stream frames are what an agent's
WebSocket receives. All are msgspec structs that reject unknown fields, and all are
published only after the transaction that made them has committed.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

import msgspec

from channels.base import Attachment  # the types channels and the hub share


class EventKind(StrEnum):
    MESSAGE_IN = "message_in"
    MESSAGE_OUT = "message_out"
    NOTE = "note"
    HANDOFF = "handoff"  # to people (a team's queue), or back to the bot (data.to == "bot")
    TRANSFER = "transfer"  # from one team or agent to another
    ASSIGNMENT = "assignment"
    STATUS_CHANGE = "status_change"
    DELIVERY_STATUS = "delivery_status"
    CONSENT_CHANGE = "consent_change"
    CONTACT_VERIFIED = "contact_verified"  # a web-chat visitor proved a phone or email is theirs
    IDENTITY_VERIFIED = "identity_verified"  # the bot checked date of birth and a one-time code
    MEDIA_STATUS = "media_status"  # a message's attachment was fetched and stored, or finally failed
    # Voice notes (hub/voice/), both about an audio attachment of an earlier message (data.message_seq,
    # data.media_id): VOICE_NOTE once the audio is checked: data.duration_s (measured) and
    # data.playable_url (a copy every browser plays, or null when the original is one).
    VOICE_NOTE = "voice_note"
    # TRANSCRIPT, the final outcome, once per note: data.state "done" with `text` the transcript, read
    # like the patient's own text (search, the bot's red-flag check), data.language (what the voice was
    # in, as detected), data.confidence (0..1 or null), data.low_confidence, data.engine and, when the
    # engine gives them, data.language_probability and data.segments ([{start, end, text, confidence}]);
    # the bot hands a low-confidence, empty or unserved-language transcript to a person (reason
    # "voice_unclear") after its red-flag check; or data.state "failed" with text null and
    # data.reason (English), data.reason_code. author_type is system, channel the message's. A message
    # whose audio attachment has `voice` set gets exactly one per note: a reader (the bot) may wait for
    # it rather than take the message for one without words.
    TRANSCRIPT = "transcript"
    # URGENT_ALERT: staff were alerted to an urgent conversation nobody has taken yet (hub/routing/urgent.py):
    # data.circle (Circle: 1 the emergency team, 2 the floor, 3 everyone signed in), data.reason
    # ("handoff": at once; "not_taken": the interval passed; "someone_online": the first person to
    # alert came online), data.alerted (how many staff were signed in to be alerted; 0: nobody yet),
    # data.waiting_s (since the hand-off).
    URGENT_ALERT = "urgent_alert"
    # Staff changed the patient's record (hub/patients/profile_edits.py): which fields, never their values
    # (an agent's inbox may not show a date of birth), and a contact point or record number added or removed.
    PROFILE_CHANGE = "profile_change"
    # Staff merged two records of one person, or undid it (hub/patients/merge.py): in each conversation
    # that changed patient, and in the kept record's latest one.
    PATIENT_MERGED = "patient_merged"
    PATIENT_UNMERGED = "patient_unmerged"
    # Staff snoozed the conversation until data.until (ISO 8601, UTC): out of the open views until then
    # (hub/conversations/snooze.py). SNOOZE_ENDED: it came back, data.reason "time" (the hub woke it),
    # "patient_wrote" or "staff" (someone ended the snooze, reopened or resolved it).
    SNOOZED = "snoozed"
    SNOOZE_ENDED = "snooze_ended"
    # Patient feedback after resolution (hub/csat/): CSAT_ASKED when the one question went out (once
    # per conversation; data.channel, data.template, data.locale, data.message_seq: the outbound
    # message that asks, absent for web chat's stars, which the widget draws from this event).
    # CSAT_ANSWERED: data.score (1-5), data.comment (optional, the patient's words), data.channel
    # (where the answer came from), data.asked_seq (the CSAT_ASKED it answers). author_type patient.
    # KPIs read these two: response rate = answered / asked, CSAT = share of scores 4-5 (and the mean).
    CSAT_ASKED = "csat_asked"
    CSAT_ANSWERED = "csat_answered"


# --- each event kind's payload (TimelineEventOut.data), typed -------------------------------------
# Stored and sent as the JSON object a client reads; checked against its kind's struct whenever it
# is written (unknown fields and wrong types refused: a typo is a failed test, not a silent field),
# and read back typed with payload(). Only the fields a writer sets are stored.


class _Payload(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class MessageInData(_Payload, kw_only=True):
    via: int | None = None  # the contact point it came from: where replies on its channel go
    sent_at: str | None = None  # when the sender says it was sent (ISO 8601)
    auto_reply: bool = False  # an out-of-office or other automatic mail: never answered
    email: dict[str, Any] | None = None  # subject, addresses, ids... of an email (hub/email/)


class MessageOutData(_Payload, kw_only=True):
    status: str = "queued"  # its delivery status, moved forward only (hub/timeline/delivery.py)
    error_code: str | None = None
    error: str | None = None
    template: str | None = None  # the template it was written from, and in which locale
    locale: str | None = None
    missing_translation: bool = False  # the patient's language had no text: another was sent
    to: int | None = None  # web chat: the visitor (contact point) it answers
    email: dict[str, Any] | None = None  # subject, Message-ID, recipient of an email reply


class NoteData(_Payload, kw_only=True):
    pass


class HandoffData(_Payload, kw_only=True):
    reason: str  # why people (or, with to="bot", the assistant) take it
    to: Literal["bot"] | None = None
    team_id: int | None = None
    team_name: str | None = None
    urgent: bool = False
    previous_team_id: int | None = None
    previous_assignee_id: int | None = None
    verified: bool = False  # the patient's identity was checked before
    category: str | None = None  # a red flag's category, and the phrases found
    phrases: list[str] = []
    why: str | None = None  # a voice note nobody can rely on: why, and which
    message_seq: int | None = None
    media_id: int | None = None
    language: str | None = None
    confidence: float | None = None


class TransferData(_Payload, kw_only=True):
    team_id: int | None = None
    team_name: str | None = None
    assignee_id: int | None = None
    assignee_name: str | None = None
    previous_team_id: int | None = None
    previous_assignee_id: int | None = None


class AssignmentData(_Payload, kw_only=True):
    assignee_id: int | None = None  # None: unassigned
    assignee_name: str | None = None
    previous_assignee_id: int | None = None
    automatic: bool = False  # routing chose the agent
    took_urgent: bool = False  # a person took an urgent conversation: its alerts stop


class StatusChangeData(_Payload, kw_only=True):
    to: str
    # the status before ("from" on the wire)
    previous: str | None = msgspec.field(default=None, name="from")
    reason: str | None = None  # e.g. "email_reply": the patient's email reopened it


class DeliveryStatusData(_Payload, kw_only=True):
    message_seq: int
    status: str
    error_code: str | None = None
    error: str | None = None


class ConsentChangeData(_Payload, kw_only=True):
    channel: str
    granted: bool
    address: str
    keyword: str | None = None  # STOP, START...
    reason: str | None = None  # e.g. the carrier reports an opt-out


class ContactVerifiedData(_Payload, kw_only=True):
    kind: str
    address: str
    merged_from: int | None = None  # the visitor's record merged into this patient's


class IdentityVerifiedData(_Payload, kw_only=True):
    method: str | None = None  # "date_of_birth+code"
    code_to: str | None = None  # where the code went, masked
    channel: str | None = None  # where the proof came from
    via: int | None = None
    dropped: str | None = None  # the check no longer holds: "expired" or "other_sender"


class MediaStatusData(_Payload, kw_only=True):
    message_seq: int
    media_id: int
    position: int = 0
    state: str
    content_type: str | None = None
    size: int | None = None
    error_code: str | None = None
    error: str | None = None


class VoiceNoteData(_Payload, kw_only=True):
    message_seq: int
    media_id: int
    position: int = 0
    duration_s: float | None = None
    playable_url: str | None = None


class TranscriptData(_Payload, kw_only=True):
    message_seq: int
    media_id: int
    position: int = 0
    state: Literal["done", "failed"]
    language: str | None = None
    confidence: float | None = None
    low_confidence: bool = False
    engine: str | None = None
    segments: list[dict[str, Any]] = []
    language_probability: float | None = None
    duration_s: float | None = None
    reason_code: str | None = None
    reason: str | None = None
    reason_params: dict[str, Any] = {}


class UrgentAlertData(_Payload, kw_only=True):
    circle: int
    reason: str
    alerted: int
    waiting_s: int


class ProfileChangeData(_Payload, kw_only=True):
    fields: list[str] = []  # the names of the fields changed: name, date_of_birth, preferred_language...
    contact_added: dict[str, Any] | None = None  # {kind, address}
    contact_removed: dict[str, Any] | None = None
    identifier_added: dict[str, Any] | None = None  # {label, system, value}
    consent: dict[str, Any] | None = None  # {channel, granted}


class PatientMergeData(_Payload, kw_only=True):
    merge_id: int
    source_id: int  # the record merged away (kept, pointing at target)
    target_id: int  # the record kept
    moved: int = 0  # rows that changed hands (or came back)


class SnoozedData(_Payload, kw_only=True):
    until: str  # ISO 8601, UTC
    preset: Literal["hour", "tomorrow_morning"] | None = None  # how the time was chosen, if not picked


class SnoozeEndedData(_Payload, kw_only=True):
    reason: Literal["time", "patient_wrote", "staff"]
    until: str | None = None  # the time it was snoozed until


class CsatAskedData(_Payload, kw_only=True):
    channel: str  # sms, webchat, email: the patient's channel, where the question went
    template: str  # e.g. csat_ask_sms
    locale: str | None = None  # the language it was asked in
    message_seq: int | None = None  # the outbound message carrying the question (SMS, email)


class CsatAnsweredData(_Payload, kw_only=True):
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: str | None = None
    channel: str  # where the answer came from: sms, webchat, email (the survey page)
    asked_seq: int | None = None  # the CSAT_ASKED event it answers


PAYLOADS: dict[str, type[_Payload]] = {
    EventKind.MESSAGE_IN: MessageInData,
    EventKind.MESSAGE_OUT: MessageOutData,
    EventKind.NOTE: NoteData,
    EventKind.HANDOFF: HandoffData,
    EventKind.TRANSFER: TransferData,
    EventKind.ASSIGNMENT: AssignmentData,
    EventKind.STATUS_CHANGE: StatusChangeData,
    EventKind.DELIVERY_STATUS: DeliveryStatusData,
    EventKind.CONSENT_CHANGE: ConsentChangeData,
    EventKind.CONTACT_VERIFIED: ContactVerifiedData,
    EventKind.IDENTITY_VERIFIED: IdentityVerifiedData,
    EventKind.MEDIA_STATUS: MediaStatusData,
    EventKind.VOICE_NOTE: VoiceNoteData,
    EventKind.TRANSCRIPT: TranscriptData,
    EventKind.URGENT_ALERT: UrgentAlertData,
    EventKind.PROFILE_CHANGE: ProfileChangeData,
    EventKind.PATIENT_MERGED: PatientMergeData,
    EventKind.PATIENT_UNMERGED: PatientMergeData,
    EventKind.SNOOZED: SnoozedData,
    EventKind.SNOOZE_ENDED: SnoozeEndedData,
    EventKind.CSAT_ASKED: CsatAskedData,
    EventKind.CSAT_ANSWERED: CsatAnsweredData,
}


def checked_data(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` as written, once it is proved to be `kind`'s payload (msgspec.ValidationError if not)."""
    msgspec.convert(data, PAYLOADS[kind], strict=False)
    return data


def payload(kind: str, data: dict[str, Any]) -> Any:
    """An event's data, read back typed: payload(e.kind, e.data).urgent."""
    return msgspec.convert(data, PAYLOADS[kind], strict=False)


class Circle(IntEnum):
    """Who is alerted to an urgent conversation nobody has taken: each step widens the last."""

    NONE = 0
    TEAM = 1  # the emergency team's available agents (and supervisors)
    FLOOR = 2  # supervisors and every available agent, whatever their team; all agents may open it
    EVERYONE = 3  # every staff member signed in, available or not


class AuthorType(StrEnum):
    PATIENT = "patient"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"


class TimelineEventOut(msgspec.Struct, forbid_unknown_fields=True):
    """One timeline event as clients see it, over REST and over the stream alike."""

    seq: int
    kind: EventKind
    conversation_id: int
    patient_id: int
    channel: str | None
    author_type: AuthorType
    author_id: int | None
    author_name: str | None
    text: str | None
    attachments: list[Attachment]
    provider_message_id: str | None
    data: dict[str, Any]
    created_at: datetime


class ConversationOut(msgspec.Struct, forbid_unknown_fields=True):
    """A conversation as the inbox list shows it."""

    id: int
    patient_id: int
    patient_name: str
    status: ConversationStatus
    handler: str
    assignee_id: int | None
    assignee_name: str | None
    team_id: int | None
    priority: int
    channel: str
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    last_event_seq: int
    last_message_at: datetime | None
    last_inbound_channel: str | None
    preview: str | None
    queued_at: datetime | None = None  # waiting in its team's queue since (no agent yet)
    language: str | None = None
    verified_at: datetime | None = None  # the patient's identity was checked in this conversation
    urgent_since: datetime | None = None  # urgent and not yet taken by anyone, since
    escalation: Circle = Circle.NONE  # while urgent_since: who has been alerted so far
    snoozed_until: datetime | None = None  # snoozed: out of the open views until then
    # the patient's latest message: they wait for a reply while it is the conversation's latest (last_message_at)
    last_inbound_at: datetime | None = None


# --- frames on an agent's WebSocket -----------------------------------------------------------


class Reach(msgspec.Struct, forbid_unknown_fields=True):
    """What decides which staff may see a conversation."""

    team_id: int | None
    assignee_id: int | None
    escalation: Circle = Circle.NONE


class EventFrame(msgspec.Struct, tag="event", forbid_unknown_fields=True):
    """A timeline event and its conversation's state: as of the commit that stored it when
    live, as of now when read back (a reconnect's backfill). Clients keep the newest state.
    `was`: the conversation's reach just before this event, when the event changed it (live
    frames only): whoever could see it then is sent the frame too, so their row can go."""

    seq: int
    event: TimelineEventOut
    conversation: ConversationOut
    was: Reach | None = None


class ReadyFrame(msgspec.Struct, tag="ready", forbid_unknown_fields=True):
    """Sent once the backfill is done: from here on, frames are live."""

    last_seq: int
    backfilled: int


class ResyncFrame(msgspec.Struct, tag="resync", forbid_unknown_fields=True):
    """Too much was missed to replay: the client should reload its state and reconnect."""

    reason: str
    last_seq: int


class TypingFrame(msgspec.Struct, tag="typing", forbid_unknown_fields=True):
    """Someone is writing in a conversation: the patient (agent_id None) or a staff member.
    Not stored; it fades on the client after a few seconds without another."""

    conversation_id: int
    patient_id: int
    agent_id: int | None
    name: str | None


class ViewingFrame(msgspec.Struct, tag="viewing", forbid_unknown_fields=True):
    """Another staff member has a conversation open (`viewing`), or no longer has. Not stored:
    said again every few seconds while it stays open, and gone on the client after `expires_in`
    seconds without another (a hub process that died says nothing more). `viewer` is one open
    inbox (a socket): the same person in two tabs is two viewers."""

    conversation_id: int
    viewer: str
    agent_id: int
    name: str
    viewing: bool
    expires_in: float


class BreakGlassFrame(msgspec.Struct, tag="break_glass", forbid_unknown_fields=True):
    """To supervisors and admins: a staff member opened a patient outside their reach (hub/agents/breakglass.py)."""

    agent_id: int
    agent_name: str
    patient_id: int
    patient_name: str
    reason: str
    expires_at: datetime


class FloorFrame(msgspec.Struct, tag="floor", forbid_unknown_fields=True):
    """To supervisors and admins: the live floor as it is now (hub/floor/): `floor` is a
    hub.floor.figures.FloorOut, encoded once for every socket. Sent when a commit or a presence
    change may have moved it (coalesced), and every few seconds while it changes on its own."""

    floor: msgspec.Raw


class PresenceFrame(msgspec.Struct, tag="presence", forbid_unknown_fields=True):
    """To the agent concerned: their availability changed (by_id: a supervisor who set it, or themselves)."""

    agent_id: int
    available: bool
    by_id: int
    by_name: str


StreamFrame = (
    EventFrame | ReadyFrame | ResyncFrame | TypingFrame | ViewingFrame | BreakGlassFrame | FloorFrame | PresenceFrame
)


# --- frames on a web-chat visitor's WebSocket ---------------------------------------------------
# A visitor sees only their own web-chat messages and the replies to them: never notes, other
# channels, assignments or anything about staff beyond the first name of who answers.

VisitorAuthor = Literal["you", "agent", "bot", "clinic"]


class VisitorMessageFrame(msgspec.Struct, tag="message", forbid_unknown_fields=True, omit_defaults=True):
    seq: int
    id: str | None  # the widget's own id, for a message the visitor sent
    author: VisitorAuthor
    name: str | None
    text: str | None
    created_at: datetime
    survey: bool = False  # the satisfaction question (hub/csat/): the widget shows stars under it


class VisitorReadyFrame(msgspec.Struct, tag="ready", forbid_unknown_fields=True):
    last_seq: int
    read_upto: int  # staff have read the visitor's messages up to this seq


class VisitorReadFrame(msgspec.Struct, tag="read", forbid_unknown_fields=True):
    upto: int


class VisitorTypingFrame(msgspec.Struct, tag="typing", forbid_unknown_fields=True):
    name: str | None


class VisitorResyncFrame(msgspec.Struct, tag="resync", forbid_unknown_fields=True):
    """The visitor's identity changed (verified and linked): reconnect from the start."""

    reason: str


VisitorFrame = VisitorMessageFrame | VisitorReadyFrame | VisitorReadFrame | VisitorTypingFrame | VisitorResyncFrame


# --- signals between hub processes: not stored, not ordered, best effort -------------------------


class TypingSignal(msgspec.Struct, tag="typing", forbid_unknown_fields=True):
    conversation_id: int
    patient_id: int
    team_id: int | None
    assignee_id: int | None
    agent_id: int | None  # None: the patient
    name: str | None
    # Staff typing: the web-chat visitor (contact point) the conversation's replies go to; only
    # their widget is told, and a portal user's (None: no anonymous visitor's).
    visitor: int | None = None
    escalation: int = 0  # the conversation's Circle: who else may see it


class ViewingSignal(msgspec.Struct, tag="viewing", forbid_unknown_fields=True):
    """A staff member's inbox opened a conversation (or left it: `viewing` false), with the
    conversation's reach as it is now: only staff who may see it are told (hub.realtime.presence)."""

    conversation_id: int
    viewer: str
    agent_id: int
    name: str
    team_id: int | None
    assignee_id: int | None
    escalation: int
    viewing: bool


class ReadSignal(msgspec.Struct, tag="read", forbid_unknown_fields=True):
    """Staff read a patient's messages up to `upto` (sent after the commit that recorded it)."""

    patient_id: int
    upto: int
    visitor: int | None = None  # the web-chat visitor whose chat it is (see TypingSignal)


class VisitorLinkedSignal(msgspec.Struct, tag="linked", forbid_unknown_fields=True):
    """A visitor's contact point now belongs to another patient (sent after commit)."""

    kind: str
    address: str
    patient_id: int


class StaffChangedSignal(msgspec.Struct, tag="staff", forbid_unknown_fields=True):
    """A staff account changed (deactivated, role, teams, password, MFA): every process forgets its
    cached copy, and that person's open sockets close (sent after commit)."""

    agent_id: int


class BreakGlassSignal(msgspec.Struct, tag="break_glass", forbid_unknown_fields=True):
    frame: BreakGlassFrame


class PresenceSignal(msgspec.Struct, tag="presence", forbid_unknown_fields=True):
    """An agent's availability changed (sent after commit): their sockets are told, floors recomputed."""

    frame: PresenceFrame


Signal = (
    TypingSignal
    | ViewingSignal
    | ReadSignal
    | VisitorLinkedSignal
    | StaffChangedSignal
    | BreakGlassSignal
    | PresenceSignal
)


class Published(msgspec.Struct):
    """What the writer hands to the realtime layer after commit: a frame and who may see it."""

    frame: EventFrame
    team_id: int | None
    assignee_id: int | None


encode = msgspec.json.Encoder().encode

"""Every event type the hub emits, in one place.

Timeline event kinds are what the database stores; stream frames are what an agent's
WebSocket receives. All are msgspec structs that reject unknown fields, and all are
published only after the transaction that made them has committed.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal

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


class BreakGlassFrame(msgspec.Struct, tag="break_glass", forbid_unknown_fields=True):
    """To supervisors and admins: a staff member opened a patient outside their reach (hub/agents/breakglass.py)."""

    agent_id: int
    agent_name: str
    patient_id: int
    patient_name: str
    reason: str
    expires_at: datetime


StreamFrame = EventFrame | ReadyFrame | ResyncFrame | TypingFrame | BreakGlassFrame


# --- frames on a web-chat visitor's WebSocket ---------------------------------------------------
# A visitor sees only their own web-chat messages and the replies to them: never notes, other
# channels, assignments or anything about staff beyond the first name of who answers.

VisitorAuthor = Literal["you", "agent", "bot", "clinic"]


class VisitorMessageFrame(msgspec.Struct, tag="message", forbid_unknown_fields=True):
    seq: int
    id: str | None  # the widget's own id, for a message the visitor sent
    author: VisitorAuthor
    name: str | None
    text: str | None
    created_at: datetime


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


Signal = TypingSignal | ReadSignal | VisitorLinkedSignal | StaffChangedSignal | BreakGlassSignal


class Published(msgspec.Struct):
    """What the writer hands to the realtime layer after commit: a frame and who may see it."""

    frame: EventFrame
    team_id: int | None
    assignee_id: int | None


encode = msgspec.json.Encoder().encode

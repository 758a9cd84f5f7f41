"""Staff write first: a message to a patient who has not written, which opens a conversation.

The rules (checked before anything is written; a refusal writes nothing):
- a channel the patient can be reached on: a phone for SMS, an email address for email, and web
  chat only while a visitor is there to read it (they wrote in the last LIVE_MINUTES minutes); an
  address that opted out is never written to;
- consent: a recorded refusal on the channel stops it. SMS also needs consent given (TCPA): recorded
  by staff or the patient (START), or given by the patient texting the clinic from that number;
- the hour: a message the patient did not ask for goes out only between 8 am and 9 pm in the
  patient's time zone (the clinic's when unknown), on SMS and email alike;
- one conversation at a time: a patient with an unresolved conversation is answered there.

It opens the conversation as a message does (open, held by the person who wrote, in their team),
and the message goes the way every reply goes: stored as queued with its outbox row in the same
transaction, sent by the outbox after commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select

from hub.agents.roles import Principal
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Consent, ContactPoint, Conversation, OutboxItem, Patient, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.email.outbound import NOT_SET_UP, MailIdentity, prepare_reply, queue_reply
from hub.events import AuthorType, ConversationStatus, EventKind
from hub.i18n import _
from hub.patients.contacts import InvalidContact, normalise
from hub.patients.profile import may_see
from hub.patients.reach import INITIAL_STATUS
from hub.refusals import Problem, Refused, one_by_one
from hub.routing.queues import hold
from hub.timeline.append import append_event
from hub.timeline.views import preview

LIVE_MINUTES = 30
QUIET_FROM, QUIET_UNTIL = 21, 8  # 9 pm to 8 am, the patient's time
SMS_MAX = 1600
KIND = {"sms": "phone", "email": "email", "webchat": "webchat"}

NO_PATIENT = _("No patient {id} that you can see.")
MERGED = _("Patient {id} was merged into patient {into}: write from that record.")
OPEN_ALREADY = _("This patient already has an open conversation ({id}): write there.")
NO_ADDRESS_ON = {
    "sms": _("The patient has no phone number on file."),
    "email": _("The patient has no email address on file."),
    "webchat": _("The patient has never used the web chat."),
}
NOT_ON_FILE = _("{address} is not one of this patient's addresses.")
OPTED_OUT = {
    "sms": _("This number opted out of text messages: it cannot be written to."),
    "email": _("This email address opted out: it cannot be written to."),
    "webchat": _("This web chat cannot be written to."),
}
REFUSED = {
    "sms": _("The patient said no to text messages."),
    "email": _("The patient said no to email."),
    "webchat": _("The patient said no to web chat."),
}
NO_SMS_CONSENT = _(
    "The patient has not agreed to text messages: record their consent first, or write by another channel."
)
NO_VISITOR = _("Nobody is in the web chat now: web chat reaches a patient only while they are there.")
QUIET = _(
    "It is {time} for the patient ({zone}). A message they did not ask for waits until 8 am their time, "
    "and none goes after 9 pm."
)
TOO_LONG = _("A text message can be at most {limit} characters.")


class Start(msgspec.Struct, frozen=True):
    patient_id: int
    by: Principal
    origin: Origin
    channel: str  # sms, email, webchat
    text: str
    address: str | None = None  # which of the patient's addresses (default: the first that may be written to)
    template: str | None = None  # the template it was written from, and its locale
    locale: str | None = None
    mail: MailIdentity | None = None
    clinic_zone: str = "America/Los_Angeles"
    region: str = "US"


class Started(msgspec.Struct):
    conversation_id: int
    seq: int
    channel: str
    to: str  # the address it goes to


def quiet_now(zone: str, now: datetime) -> datetime | None:
    """The patient's local time, when it is inside the hours nobody is written to unasked."""
    local = now.astimezone(ZoneInfo(zone))
    return local if local.hour >= QUIET_FROM or local.hour < QUIET_UNTIL else None


def _points(tx: Tx, p: Patient, cmd: Start) -> list[ContactPoint]:
    kind = KIND[cmd.channel]
    points = sorted((c for c in p.contact_points if c.kind == kind), key=lambda c: c.id)
    if cmd.channel == "webchat":  # a portal user signs in to the same chat
        points += sorted((c for c in p.contact_points if c.kind == "portal"), key=lambda c: c.id)
    if not points:
        raise Refused(409, NO_ADDRESS_ON[cmd.channel])
    if cmd.address:
        try:
            wanted = normalise(kind, cmd.address, cmd.region) if cmd.channel != "webchat" else cmd.address
        except InvalidContact:
            wanted = cmd.address
        points = [c for c in points if c.address == wanted]
        if not points:
            raise Refused(400, NOT_ON_FILE, address=cmd.address)
    open_points = [c for c in points if c.opted_out_at is None]
    if not open_points:
        raise Refused(409, OPTED_OUT[cmd.channel])
    return open_points


def _choose(tx: Tx, p: Patient, cmd: Start, now: datetime) -> ContactPoint:
    s = tx.session
    points = _points(tx, p, cmd)
    consent = s.execute(
        select(Consent.granted).where(Consent.patient_id == p.id, Consent.channel == cmd.channel)
    ).scalar_one_or_none()
    if consent is False:
        raise Refused(409, REFUSED[cmd.channel])
    if cmd.channel == "webchat":  # whatever was agreed, only a visitor who is there now (wrote just now)
        wrote = _wrote_from(tx, p.id, cmd.channel, now - timedelta(minutes=LIVE_MINUTES))
        points = [c for c in points if c.id in wrote or (c.kind == "portal" and wrote)]
        if not points:
            raise Refused(409, NO_VISITOR)
    elif cmd.channel == "sms" and consent is None:  # consent given by texting the clinic from that number
        wrote = _wrote_from(tx, p.id, cmd.channel, None)
        points = [c for c in points if c.id in wrote]
        if not points:
            raise Refused(409, NO_SMS_CONSENT)
    return points[0]


def _wrote_from(tx: Tx, patient_id: int, channel: str, since: datetime | None) -> set[int]:
    """The contact points the patient wrote from on `channel` (since `since`)."""
    q = select(TimelineEvent.data).where(
        TimelineEvent.patient_id == patient_id,
        TimelineEvent.kind == EventKind.MESSAGE_IN,
        TimelineEvent.channel == channel,
    )
    if since is not None:
        q = q.where(TimelineEvent.created_at >= since)
    rows = tx.session.execute(q.order_by(TimelineEvent.seq.desc()).limit(500)).scalars()
    return {via for data in rows if isinstance(via := (data or {}).get("via"), int)}


def _start(tx: Tx, cmd: Start) -> Started:
    s = tx.session
    p = s.get(Patient, cmd.patient_id)
    if p is None or not may_see(s, cmd.by, cmd.patient_id):
        raise Refused(404, NO_PATIENT, id=cmd.patient_id)
    if p.merged_into_id is not None:
        raise Refused(409, MERGED, id=p.id, into=p.merged_into_id)
    open_conv = s.execute(
        select(Conversation.id)
        .where(Conversation.patient_id == p.id, Conversation.status != ConversationStatus.RESOLVED)
        .order_by(Conversation.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if open_conv is not None:
        where = Problem("open_conversation", OPEN_ALREADY, {"id": open_conv}, {"conversation_id": open_conv})
        raise Refused(409, OPEN_ALREADY, [where], id=open_conv)
    if cmd.channel == "sms" and len(cmd.text) > SMS_MAX:
        raise Refused(400, TOO_LONG, limit=SMS_MAX)
    now = utcnow()
    point = _choose(tx, p, cmd, now)
    if cmd.channel in ("sms", "email"):
        zone = p.time_zone or cmd.clinic_zone
        local = quiet_now(zone, now)
        if local is not None:
            raise Refused(409, QUIET, time=local.strftime("%H:%M"), zone=zone)
    if cmd.channel == "email" and cmd.mail is None:
        raise Refused(400, NOT_SET_UP)
    conv = Conversation(
        patient_id=p.id,
        status=ConversationStatus.OPEN,
        handler="agent",
        priority=0,
        channel=cmd.channel,
        opened_at=now,
        last_event_seq=0,
        team_id=cmd.by.team_ids[0] if cmd.by.team_ids else None,
        language=p.preferred_language,
        escalation=0,
    )
    s.add(conv)
    s.flush()
    # Its refusals (no relay, no address) were checked above: nothing here refuses after a write.
    email = prepare_reply(tx, conv, cmd.mail) if cmd.channel == "email" else None
    if email is not None:
        email = msgspec.structs.replace(email, to=point.address)
    hold(conv, cmd.by.id, now)
    conv.preview = preview(cmd.text, [])
    conv.last_message_at = now
    data: dict[str, Any] = {"status": INITIAL_STATUS.get(cmd.channel, "queued")}
    if cmd.template:
        data.update(template=cmd.template, locale=cmd.locale)
    if email is not None:
        data["email"] = email.shown
    if cmd.channel == "webchat" and point.kind == "webchat":
        data["to"] = point.id
    event = append_event(
        tx,
        conv,
        EventKind.MESSAGE_OUT,
        author_type=AuthorType.AGENT,
        author_id=cmd.by.id,
        author_name=cmd.by.display_name,
        text=cmd.text,
        channel=cmd.channel,
        data=data,
    )
    if cmd.channel == "sms":  # to the number chosen: the outbox checks its opt-out again at sending time
        s.add(
            OutboxItem(
                message_seq=event.seq,
                channel="sms",
                purpose="reply",
                to_address=point.address,
                state="pending",
                attempts=0,
                next_attempt_at=now,
            )
        )
    if email is not None:
        queue_reply(tx, conv, event.seq, cmd.text, email)
    detail = {"seq": event.seq, "channel": cmd.channel, "contact_point_id": point.id, "template": cmd.template}
    add_audit(tx, AuditRecord(AuditAction.CONVERSATION_START, cmd.by.id, cmd.origin, p.id, conv.id, detail))
    add_audit(tx, AuditRecord(AuditAction.MESSAGE_SEND, cmd.by.id, cmd.origin, p.id, conv.id, {"seq": event.seq}))
    return Started(conv.id, event.seq, cmd.channel, point.address)


do_starts = one_by_one(_start)

"""The satisfaction question, inside the writer's transactions (hub/csat/).

A conversation resolved gets one survey row, due at once. When due it is asked once, on the channel
the patient last wrote on (SMS, web chat or email) in their language, with the `csat_ask` template
admins edit, stored and queued like any reply (hub/bot/say.py): unless CSAT is off on that channel,
the patient cannot be reached there (opted out), the conversation was reopened meanwhile, or it is
quiet hours where the patient lives (before 8 am or from 9 pm in their time zone, else the clinic's):
then it waits until 8 am there. An answer counts once, within WINDOW of asking; a comment with a
red flag reopens the conversation and takes the urgent path (hub/routing/queues.hand_off)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from sqlalchemy import select

from hub.bot.redflag_match import red_flags
from hub.bot.redflags import active_phrases
from hub.bot.say import Voice, reply_channel, say
from hub.csat.score import WINDOW
from hub.db.models import Conversation, CsatChannel, CsatSurvey, Patient
from hub.db.writer import Tx
from hub.events import AuthorType, ConversationStatus, EventKind
from hub.patients.reach import reply_channels
from hub.routing.queues import hand_off, team_by_key
from hub.timeline.append import append_event

CHANNELS = ("sms", "webchat", "email")
TEMPLATE = "csat_ask"
DAY_STARTS, DAY_ENDS = time(8, 0), time(21, 0)  # never asked outside 8 am - 9 pm, the patient's time
BATCH = 50

Outcome = Literal["answered", "not_asked", "already", "expired"]


class Asking(msgspec.Struct, frozen=True):
    """What asking needs besides the database."""

    voice: Voice
    survey_url: str  # the survey page, e.g. https://clinic.example/survey.html: ?t=<token> is added
    key: bytes  # signs the email link's token


class Answer(msgspec.Struct, frozen=True):
    conversation_id: int
    score: int
    comment: str | None
    channel: str
    now: datetime
    emergency_team: str
    voice: Voice
    message_seq: int | None = None  # the patient's message it came in (SMS)


# --- the email link's token: the conversation, signed -------------------------------------------


def token_for(key: bytes, conversation_id: int) -> str:
    mac = hmac.new(key, f"csat:{conversation_id}".encode(), hashlib.sha256).digest()[:18]
    return f"{conversation_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def conversation_of(key: bytes, token: str) -> int | None:
    """The conversation a token names, or None when it is not one the hub signed."""
    head, _, _sig = token.partition(".")
    if not head.isdigit() or len(head) > 12:
        return None
    cid = int(head)
    return cid if hmac.compare_digest(token_for(key, cid), token) else None


# --- switches ----------------------------------------------------------------------------------


def channel_switches(session: Any) -> dict[str, bool]:
    off = dict(session.execute(select(CsatChannel.channel, CsatChannel.enabled)).all())
    return {c: bool(off.get(c, True)) for c in CHANNELS}


def set_switches(tx: Tx, items: list[dict[str, bool]]) -> list[dict[str, bool]]:
    for changes in items:
        for channel, enabled in changes.items():
            row = tx.session.get(CsatChannel, channel)
            if row is None:
                tx.session.add(CsatChannel(channel=channel, enabled=enabled))
            else:
                row.enabled = enabled
    tx.session.flush()
    return [channel_switches(tx.session)] * len(items)


# --- planning and asking -----------------------------------------------------------------------


def plan(tx: Tx, items: list[tuple[int, datetime]]) -> list[None]:
    """A batch function: conversations just resolved get their survey, due now (once ever)."""
    for conversation_id, now in items:
        if tx.session.get(CsatSurvey, conversation_id) is not None:
            continue
        conv = tx.session.get(Conversation, conversation_id)
        if conv is None or conv.status != ConversationStatus.RESOLVED:
            continue
        tx.session.add(CsatSurvey(conversation_id=conv.id, patient_id=conv.patient_id, state="due", due_at=now))
    return [None] * len(items)


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def next_allowed(now: datetime, zone: ZoneInfo) -> datetime | None:
    """None when `now` is within the day (8 am - 9 pm there); else the next 8 am there, in UTC."""
    local = now.astimezone(zone)
    if DAY_STARTS <= local.time() < DAY_ENDS:
        return None
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    return datetime.combine(day, DAY_STARTS, tzinfo=zone).astimezone(now.tzinfo)


def ask_due(tx: Tx, items: list[tuple[Asking, datetime]]) -> list[int]:
    """A batch function: ask (or skip, or hold until morning) the surveys that are due."""
    asking, now = items[0]
    due = (
        tx.session.execute(
            select(CsatSurvey)
            .where(CsatSurvey.state == "due", CsatSurvey.due_at <= now)
            .order_by(CsatSurvey.due_at)
            .limit(BATCH)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    switches = channel_switches(tx.session) if due else {}
    asked = 0
    for survey in due:
        asked += _ask(tx, survey, asking, now, switches)
    return [asked] * len(items)


def _skip(survey: CsatSurvey, reason: str) -> int:
    survey.state, survey.reason = "skipped", reason
    return 0


def _ask(tx: Tx, survey: CsatSurvey, asking: Asking, now: datetime, switches: dict[str, bool]) -> int:
    conv = tx.session.get(Conversation, survey.conversation_id)
    patient = tx.session.get(Patient, survey.patient_id)
    if conv is None or patient is None or conv.status != ConversationStatus.RESOLVED:
        return _skip(survey, "reopened")
    wanted = conv.last_inbound_channel or conv.channel
    survey.channel = wanted
    if wanted not in CHANNELS:
        return _skip(survey, "channel")
    if not switches.get(wanted, True):
        return _skip(survey, "off")
    if reply_channel(tx, conv) != wanted:  # opted out there (or no longer reachable): never asked
        reach = {r.channel: r for r in reply_channels(tx.session, conv.patient_id)}
        why = reach.get(wanted)
        return _skip(survey, "opted_out" if why is not None and why.reason == "opted out" else "unreachable")
    later = next_allowed(now, _zone(patient.time_zone, asking.voice.timezone))
    if later is not None:
        survey.due_at = later  # quiet hours: held until the morning
        return 0
    language = conv.language or patient.preferred_language or asking.voice.default_language
    values = {"survey_link": f"{asking.survey_url}?t={token_for(asking.key, conv.id)}"}
    message = say(tx, conv, TEMPLATE, asking.voice, language, values, author=AuthorType.SYSTEM)
    if message is None:
        return _skip(survey, "no_template")
    locale = message.data.get("locale")
    data = {"channel": wanted, "template": TEMPLATE, "locale": locale, "message_seq": message.seq}
    event = append_event(tx, conv, EventKind.CSAT_ASKED, author_type=AuthorType.SYSTEM, channel=wanted, data=data)
    survey.state, survey.asked_at, survey.asked_seq, survey.locale = "asked", now, event.seq, locale
    return 1


# --- answers -------------------------------------------------------------------------------------


def answerable(survey: CsatSurvey | None, now: datetime) -> Outcome | None:
    """Why an answer cannot be taken, or None when it can."""
    if survey is None or survey.state in ("due", "skipped"):
        return "not_asked"
    if survey.state == "answered":
        return "already"
    if survey.asked_at is None or now - survey.asked_at > WINDOW:
        return "expired"
    return None


def record(tx: Tx, items: list[Answer]) -> list[Outcome]:
    """A batch function: each answer on its conversation's timeline, once."""
    out: list[Outcome] = []
    for a in items:
        survey = tx.session.get(CsatSurvey, a.conversation_id, with_for_update=True)
        refused = answerable(survey, a.now)
        if refused is not None:
            out.append(refused)
            continue
        assert survey is not None
        conv = tx.session.get(Conversation, a.conversation_id)
        assert conv is not None
        data: dict[str, Any] = {"score": a.score, "channel": a.channel, "asked_seq": survey.asked_seq}
        if a.comment:
            data["comment"] = a.comment
        append_event(tx, conv, EventKind.CSAT_ANSWERED, author_type=AuthorType.PATIENT, channel=a.channel, data=data)
        survey.state, survey.answered_at = "answered", a.now
        if a.comment:
            _red_flag(tx, conv, a, survey.locale)
        out.append("answered")
    return out


def _red_flag(tx: Tx, conv: Conversation, a: Answer, locale: str | None) -> None:
    """A comment with a red flag: the conversation reopens and goes the urgent way, and the
    patient is told what to do now (the same safety message the assistant sends)."""
    hits = red_flags(a.comment or "", active_phrases(tx.session))
    if not hits:
        return
    previous = conv.status
    conv.status, conv.resolved_at = ConversationStatus.OPEN, None
    append_event(
        tx,
        conv,
        EventKind.STATUS_CHANGE,
        author_type=AuthorType.SYSTEM,
        data={"to": ConversationStatus.OPEN, "from": previous, "reason": "csat_red_flag"},
    )
    category = hits[0].category
    language = locale or conv.language or a.voice.default_language
    say(tx, conv, "bot_emergency_988" if category == "self_harm" else "bot_emergency_911", a.voice, language)
    data = {"category": category, "phrases": sorted({h.phrase for h in hits})[:5]}
    hand_off(
        tx,
        conv,
        team_by_key(tx, a.emergency_team),
        reason="red_flag",
        urgent=True,
        author_type=AuthorType.SYSTEM,
        data=data,
    )


def pending_for_patient(session: Any, patient_id: int, channel: str, now: datetime) -> CsatSurvey | None:
    """The survey a patient's answer on `channel` would answer: the latest asked there, within the window."""
    return session.execute(
        select(CsatSurvey)
        .where(
            CsatSurvey.patient_id == patient_id,
            CsatSurvey.state.in_(("asked", "answered")),  # answered: a second answer is told so (409)
            CsatSurvey.channel == channel,
            CsatSurvey.asked_at >= now - WINDOW,
        )
        .order_by(CsatSurvey.asked_at.desc())
        .limit(1)
    ).scalar_one_or_none()

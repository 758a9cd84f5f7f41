"""The bot's turn, inside the writer's transaction: read what the patient wrote since its last
turn, answer, and hand off to people when it should. One transaction per turn: the messages it
sends, the hand-off, the assignment and its own progress (bot_seq) commit together or not at all,
so a turn is never half done and never done twice (the conversation row is locked).

It answers only while it holds the conversation (handler "bot"); it never writes while an agent
does. Red flags are checked on every message whoever holds it: an emergency is urgent for people
in any case, and when the bot holds the conversation it also answers at once with 911 / 988.
Nothing about appointments, bills, refills or results is disclosed, and no such request goes on,
before the patient is verified: date of birth against the record, then a one-time code sent to a
contact point on file. The bot itself discloses nothing even then; the verified request goes to
the right team, marked verified.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select

from channels.base import Channel
from hub.bot.redflags import active_phrases  # the admins' list, read inside each turn
from hub.bot.say import say
from hub.bot.state import BotConfig, BotState, Turn
from hub.bot.understand import clear_language, detect_language, intent_info, match_intent, red_flags
from hub.bot.verification import Verification
from hub.bot.voice_notes import awaits_transcript, lost_voice_note, voice_unclear
from hub.db.models import Conversation, Holiday, Patient, Team, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import ConversationStatus, EventKind
from hub.i18n import supported
from hub.routing.estimate import wait_estimate
from hub.routing.hours import DEFAULT_HOURS, is_open, next_opening, open_time_after
from hub.routing.queues import able_agents, hand_off, routes, team_by_key

# What the bot reads: the patient's messages, the transcripts of their voice notes, and news of
# media that never arrived (a voice note it was waiting for).
READS = (EventKind.MESSAGE_IN, EventKind.TRANSCRIPT, EventKind.MEDIA_STATUS)
FAQ = {"faq_hours", "faq_address", "faq_parking", "faq_insurance"}


@routes  # a hand-off chooses an agent
def bot_turns(tx: Tx, items: list[Turn]) -> list[int]:
    """A batch function: each conversation's pending turn; returns how many messages were answered."""
    phrases = active_phrases(tx.session) if items else []
    return [_turn(tx, item, phrases) for item in items]


def _turn(tx: Tx, item: Turn, phrases: list[Any]) -> int:
    s = tx.session
    conv = s.execute(
        select(Conversation).where(Conversation.id == item.conversation_id).with_for_update()
    ).scalar_one_or_none()
    if conv is None:
        return 0
    new = (
        s.execute(
            select(TimelineEvent)
            .where(
                TimelineEvent.conversation_id == conv.id,
                TimelineEvent.seq > conv.bot_seq,
                TimelineEvent.kind.in_(READS),
                *([TimelineEvent.created_at >= item.since] if item.since else []),
            )
            .order_by(TimelineEvent.seq)
        )
        .scalars()
        .all()
    )
    if not new:
        return 0
    conv.bot_seq = new[-1].seq
    if conv.status == ConversationStatus.RESOLVED:
        return 0
    patient = s.get(Patient, conv.patient_id)
    assert patient is not None
    bot = _Bot(tx, conv, patient, item.config)
    answered = 0
    for event in new:
        if event.kind == EventKind.MEDIA_STATUS:
            if conv.handler == "bot" and lost_voice_note(s, event):  # no transcript will come
                bot.voice_note_lost()
                answered += 1
            continue
        if (event.data or {}).get("auto_reply"):
            continue  # an out-of-office never gets an answer (nor starts a loop of them)
        bot.keep_verification(event)
        text = event.text or ""
        hits = red_flags(text, phrases)  # every transcript too, however doubtful: an emergency is urgent
        if hits:
            bot.emergency(hits, bot.language_for(text, event))
            answered += 1
        elif conv.handler == "bot":
            unclear = voice_unclear(event)
            if unclear:
                bot.voice_unclear(event, unclear, bot.language_for(text, event))
            else:
                bot.answer(event, text, bot.language_for(text, event))
            answered += 1
    stored = msgspec.to_builtins(bot.state)
    if stored != (conv.bot_state or {}):
        conv.bot_state = stored
    return answered


class _Bot(Verification):
    def __init__(self, tx: Tx, conv: Conversation, patient: Patient, config: BotConfig) -> None:
        self.tx, self.conv, self.patient, self.config = tx, conv, patient, config
        self.state = BotState.of(conv.bot_state)
        self.proof: dict[str, Any] = {}  # where the message being answered came from

    # --- language ---------------------------------------------------------------------------

    def language_for(self, text: str, event: TimelineEvent | None = None) -> str:
        """The language the patient's own words are clearly in (a voice note's: the language the
        engine heard in the voice, when the clinic serves it), over any locale a widget or browser
        gave; else the conversation's so far; else the patient's saved one; else the message's
        weaker signs; else the clinic's. Recorded as the conversation's."""
        preferred = (self.patient.preferred_language or "").split("-")[0] or None
        if event is not None and event.kind == EventKind.TRANSCRIPT:
            clear = guess = supported((event.data or {}).get("language"))
        else:
            clear, guess = clear_language(text), detect_language(text)
        language = clear or self.state.language or preferred or guess or self.config.voice.default_language
        self.state.language = language
        self.conv.language = language
        return language

    def say(self, key: str, language: str, values: dict[str, Any] | None = None) -> None:
        # On web chat, to the browser whose message this answers (another may have written since).
        via = self.proof.get("via") if self.proof.get("channel") == Channel.WEBCHAT else None
        say(self.tx, self.conv, key, self.config.voice, language, values, to=via if isinstance(via, int) else None)

    # --- a message ----------------------------------------------------------------------------

    def answer(self, event: TimelineEvent, text: str, language: str) -> None:
        if not text.strip():
            if event.kind == EventKind.MESSAGE_IN and awaits_transcript(event):
                return  # a voice note: its transcript comes as an event of its own, and is answered then
            # a photo or a file, or a voice note that could not be transcribed: a person looks at it
            self.hand_off(self.state.team or self.config.default_team, "attachment", language)
            return
        match = match_intent(text, language)
        intent = match.intent if match else None
        pending = self.state.pending
        if intent == "human":
            self.hand_off(self._team(), "asked_for_a_person", language)
        elif pending == "verify_dob":
            self.check_birth_date(text, language)
        elif pending == "verify_code":
            self.check_code(text, language)
        elif intent is None:
            self.not_understood(language)
        else:
            self.state.failures = 0
            self.on_intent(intent, language)

    def on_intent(self, intent: str, language: str) -> None:
        if intent == "greeting":
            self.say("bot_welcome", language)
        elif intent == "menu":
            self.say("bot_show_menu", language)
        elif intent == "thanks":
            self.say("bot_thanks", language)
        elif intent in FAQ:
            self.say(intent, language)
            self.say("bot_anything_else", language)
        else:
            team, needs_verification = intent_info(intent)
            self.conv.intent = intent
            self.state.intent, self.state.team = intent, team
            if needs_verification and self.conv.verified_at is None:
                self.start_verification(language)
            else:
                self.hand_off(team, intent, language)

    def voice_unclear(self, event: TimelineEvent, why: str, language: str) -> None:
        """A voice note the assistant cannot rely on (doubtful, empty, failed, or in a language the
        clinic does not serve) is never answered as if understood: a person listens to it."""
        data = event.data or {}
        note = {k: data.get(k) for k in ("message_seq", "media_id", "language", "confidence")}
        note = {k: v for k, v in note.items() if v is not None}
        self.hand_off(self._team(), "voice_unclear", language, data={"why": why, **note})

    def voice_note_lost(self) -> None:
        self.hand_off(self._team(), "attachment", self.state.language or self.language_for(""))

    def not_understood(self, language: str) -> None:
        self.state.failures += 1
        failures = self.state.failures
        if failures >= self.config.failures:
            self.hand_off(self._team(), "not_understood", language)
        else:
            self.say("bot_not_understood", language)

    def _team(self) -> str:
        return self.state.team or self.config.default_team

    # --- people ---------------------------------------------------------------------------

    def emergency(self, hits: list[Any], language: str) -> None:
        category = hits[0].category
        if self.conv.handler == "bot":
            self.say("bot_emergency_988" if category == "self_harm" else "bot_emergency_911", language)
        data = {"category": category, "phrases": sorted({h.phrase for h in hits})[:5]}
        self.hand_off(self.config.emergency_team, "red_flag", language, urgent=True, data=data)

    def hand_off(
        self, team_key: str, reason: str, language: str, urgent: bool = False, data: dict[str, Any] | None = None
    ) -> None:
        """To people: the team's queue (or an agent at once), and the patient is told honestly
        what happens next: who answers; else when the team opens; else their place in the queue,
        with a wait only when the team's own history gives one (hub.routing.estimate); else, with
        nobody free, that a person will reply by the time the clinic promises. After an emergency
        the safety message stands alone: nothing may suggest that help is a minute away."""
        was_bot = self.conv.handler == "bot"
        team = team_by_key(self.tx, team_key)
        verified = {"verified": True} if self.conv.verified_at else {}
        agent = hand_off(self.tx, self.conv, team, reason=reason, urgent=urgent, data={**verified, **(data or {})})
        self.state = BotState(language)
        if not was_bot or urgent:
            return  # an agent holds it already (told by the hand-off event), or the safety message was said
        if agent is not None:
            self.say("bot_handoff_assigned", language, {"agent_first_name": agent.display_name.split()[0]})
            return
        now = utcnow()
        hours, holidays, tz = self._hours(team)
        if not is_open(hours, holidays, now, tz):
            opening = next_opening(hours, holidays, now, tz)
            if opening is not None:
                self.say("after_hours", language, {"opening_time": opening})
                return
        waiting = wait_estimate(self.tx, self.conv, able_agents(self.tx, self.conv, now), now)
        if waiting.agents_available == 0:
            reply_by = open_time_after(hours, holidays, now, tz, self.config.reply_within_minutes)
            if reply_by is not None:
                self.say("nobody_available", language, {"reply_by": reply_by})
                return
            self.say("nobody_available_no_time", language)
        elif waiting.wait_minutes is None:
            self.say("queue_position", language, {"queue_position": waiting.position})
        else:
            self.say("queue_wait", language, {"queue_position": waiting.position, "wait_minutes": waiting.wait_minutes})

    def _hours(self, team: Team | None) -> tuple[dict[str, Any], list[Any], str]:
        rows = self.tx.session.execute(
            select(Holiday.day).where((Holiday.team_id.is_(None)) | (Holiday.team_id == (team.id if team else -1)))
        ).scalars()
        return (team.hours if team and team.hours else DEFAULT_HOURS), list(rows), self.config.voice.timezone

"""The assistant checks who is writing before anything about appointments, bills, refills or results
goes on: the date of birth against the record, then a one-time code sent to a contact point on file;
the check holds for an hour, and only for the channel and address it was made from. A mixin of the
assistant's turn (hub/bot/engine.py), which gives it tx, conv, patient, config, state, proof, say,
hand_off and _team."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from channels.email.outbound import render_text_mail
from hub.bot.identity import birth_dates, code_digest, code_in, new_code, still_verified
from hub.bot.state import BotState
from hub.db.models import ContactPoint, TimelineEvent
from hub.db.types import utcnow
from hub.events import AuthorType, EventKind
from hub.i18n import _, translate
from hub.outbox.queue import enqueue_code
from hub.timeline.append import append_event
from hub.webchat.visitors import mask

CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 3
DOB_ATTEMPTS = 2
CODE_SMS = _("{code} is your {clinic} code. Reply with it in your conversation with us. It expires in 10 minutes.")


class Verification:
    def keep_verification(self, event: TimelineEvent) -> None:
        """Forget the check when this message is not from where it was made, or it is old; the
        drop is an event, so agents see the badge go."""
        self.proof = self._sender(event)
        if self.conv.verified_at is None:
            return
        proof = (
            self.tx.session.execute(
                select(TimelineEvent.data)
                .where(TimelineEvent.conversation_id == self.conv.id, TimelineEvent.kind == EventKind.IDENTITY_VERIFIED)
                .order_by(TimelineEvent.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
            or {}
        )
        if not still_verified(self.conv.verified_at, utcnow()):
            reason = "expired"
        elif self.proof and (proof.get("channel"), proof.get("via")) != (self.proof["channel"], self.proof["via"]):
            reason = "other_sender"
        else:
            return
        self.conv.verified_at = None
        append_event(
            self.tx, self.conv, EventKind.IDENTITY_VERIFIED, author_type=AuthorType.BOT, data={"dropped": reason}
        )

    def _sender(self, event: TimelineEvent) -> dict[str, Any]:
        """Where a patient's words came from: the message itself, or the voice note a transcript
        is of."""
        message: TimelineEvent | None = event
        if event.kind == EventKind.TRANSCRIPT:
            seq = (event.data or {}).get("message_seq")
            message = self.tx.session.get(TimelineEvent, seq) if isinstance(seq, int) else None
        if message is None or message.kind != EventKind.MESSAGE_IN:
            return {}
        return {"channel": message.channel, "via": (message.data or {}).get("via")}

    def start_verification(self, language: str) -> None:
        if self.patient.date_of_birth is None or self._code_destination() is None:
            self.say("bot_cannot_verify", language)  # nothing on file to check against: a person will
            self.hand_off(self._team(), "cannot_verify", language)
            return
        self.state.pending, self.state.dob_attempts = "verify_dob", 0
        self.say("bot_verify_dob", language)

    def check_birth_date(self, text: str, language: str) -> None:
        if self.patient.date_of_birth in birth_dates(text):
            self.send_code(language)
            return
        self.state.dob_attempts += 1
        attempts = self.state.dob_attempts
        if attempts >= DOB_ATTEMPTS:
            self.state.pending = None
            self.say("bot_verify_failed", language)
            self.hand_off(self._team(), "verification_failed", language)
        else:
            self.say("bot_verify_dob_again", language)

    def _code_destination(self) -> ContactPoint | None:
        """Where the code goes: a phone that takes texts, else an email, on the patient's record
        (the one they are writing from first: it proves they hold it now)."""
        kinds = ["phone"] * self.config.texts_can_go + ["email"] * bool(self.config.email_from)
        points = (
            self.tx.session.execute(
                select(ContactPoint).where(
                    ContactPoint.patient_id == self.patient.id,
                    ContactPoint.kind.in_(kinds),
                    ContactPoint.opted_out_at.is_(None),
                )
            )
            .scalars()
            .all()
        )
        writing_from = "phone" if self.conv.last_inbound_channel == "sms" else "email"
        return min(points, key=lambda p: (p.kind != writing_from, p.kind != "phone", p.id), default=None)

    def send_code(self, language: str) -> None:
        point = self._code_destination()
        if point is None:
            self.say("bot_cannot_verify", language)
            self.hand_off(self._team(), "cannot_verify", language)
            return
        code = new_code()
        voice = self.config.voice
        body = translate(language, CODE_SMS, code=code, clinic=voice.clinic_name)
        if point.kind == "email":
            subject = translate(language, _("Your {clinic} code"), clinic=voice.clinic_name)
            body = render_text_mail(self.config.email_from or "", voice.clinic_name, point.address, subject, body)
        enqueue_code(self.tx, "sms" if point.kind == "phone" else "email", point.address, body)
        self.state.pending = "verify_code"
        self.state.code = code_digest(self.config.code_key, self.conv.id, code)
        self.state.code_expires = utcnow() + CODE_TTL
        self.state.code_attempts = 0
        self.state.code_to = mask(point.kind, point.address)
        self.say("bot_verify_code", language, {"code_destination": self.state.code_to})

    def check_code(self, text: str, language: str) -> None:
        expired = self.state.code_expires is None or self.state.code_expires <= utcnow()
        code = code_in(text)
        if (
            not expired
            and code is not None
            and code_digest(self.config.code_key, self.conv.id, code) == self.state.code
        ):
            self.conv.verified_at = utcnow()
            destination = self.state.code_to
            proof = self.proof
            self.state = BotState(
                self.state.language, self.state.failures, intent=self.state.intent, team=self.state.team
            )
            append_event(
                self.tx,
                self.conv,
                EventKind.IDENTITY_VERIFIED,
                author_type=AuthorType.BOT,
                data={"method": "date_of_birth+code", "code_to": destination, **proof},
            )
            self.say("bot_verified", language)
            self.hand_off(self._team(), self.state.intent or "verified", language)
            return
        self.state.code_attempts += 1
        attempts = self.state.code_attempts
        if expired or attempts >= CODE_ATTEMPTS:
            self.state.pending = None
            self.say("bot_verify_failed", language)
            self.hand_off(self._team(), "verification_failed", language)
        else:
            self.say("bot_verify_code_again", language)

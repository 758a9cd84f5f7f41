"""SMS consent keywords applied: STOP and its kin opt a number out (one confirmation, then
silence), START opts it back in, HELP answers with the clinic's name and contact.

The keyword message itself is stored like any message; a retry of it changes nothing and
sends nothing. Each change of consent is a timeline event and an audit row. System replies
come from the gettext catalogs in the patient's language.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import select

from channels.sms.keywords import Keyword, KeywordMatch
from hub.audit.record import Origin
from hub.db.models import ContactPoint, Conversation, Patient
from hub.db.writer import Tx
from hub.events import AuthorType, EventKind
from hub.i18n import SUPPORTED, _, translate
from hub.outbox.queue import enqueue
from hub.patients.consent import change_consent
from hub.settings import ClinicSettings
from hub.timeline.append import append_event
from hub.timeline.door import admit
from hub.timeline.ingest import CheckedInbound, IngestResult

OPTED_OUT = _(
    "You are unsubscribed from {clinic} text messages. No more texts will be sent. Reply START to subscribe again."
)
OPTED_IN = _("You are subscribed again to {clinic} text messages. Reply STOP to unsubscribe.")
HELP = _("{clinic}: for help call {phone}. Reply STOP to unsubscribe.")


class KeywordMessage(msgspec.Struct, frozen=True):
    inbound: CheckedInbound
    match: KeywordMatch
    origin: Origin
    clinic: ClinicSettings


def apply_sms_keywords(tx: Tx, items: list[KeywordMessage]) -> list[IngestResult]:
    out = []
    for item in items:
        (stored,) = admit(tx, [item.inbound])
        out.append(stored)
        if stored.duplicate:  # the provider retried: all of this happened the first time
            continue
        point = tx.session.execute(
            select(ContactPoint).where(ContactPoint.kind == "phone", ContactPoint.address == item.inbound.address)
        ).scalar_one()
        conv = tx.session.get(Conversation, stored.conversation_id)
        patient = tx.session.get(Patient, stored.patient_id)
        assert conv is not None and patient is not None
        language = _language(item.match, patient, item.clinic)
        if item.match.keyword == Keyword.HELP:
            if point.opted_out_at is None:  # an opted-out number gets nothing more until START
                help_text = translate(language, HELP, clinic=item.clinic.name, phone=item.clinic.phone)
                _reply(tx, conv, help_text)
            continue
        opting_out = item.match.keyword == Keyword.OPT_OUT
        if opting_out == (point.opted_out_at is not None):
            continue  # already so: one confirmation only, never a second
        change_consent(
            tx, conv, point, granted=not opting_out, origin=item.origin, data={"keyword": item.match.keyword}
        )
        if opting_out:  # its one confirmation, sent although the number is now opted out
            _reply(tx, conv, translate(language, OPTED_OUT, clinic=item.clinic.name), confirm_opt_out=point.address)
        else:
            _reply(tx, conv, translate(language, OPTED_IN, clinic=item.clinic.name))
    return out


def _language(match: KeywordMatch, patient: Patient, clinic: ClinicSettings) -> str:
    """The patient's language, else the keyword's own (ALTO is Spanish), else the clinic's."""
    for candidate in (patient.preferred_language, match.language, clinic.default_language):
        if candidate and candidate.split("-")[0] in SUPPORTED:
            return candidate.split("-")[0]
    return "en"


def _reply(tx: Tx, conv: Conversation, text: str, confirm_opt_out: str | None = None) -> None:
    """A system SMS to the patient. Only an opt-out confirmation names its number: every other
    one is checked against opt-outs when it is sent."""
    event = append_event(
        tx,
        conv,
        EventKind.MESSAGE_OUT,
        author_type=AuthorType.SYSTEM,
        text=text,
        channel="sms",
        data={"status": "queued"},
    )
    enqueue(tx, event.seq, "sms", opt_out_confirmation_to=confirm_opt_out)

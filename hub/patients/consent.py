"""A patient's consent to be contacted on a channel, changed: on the contact point, in the consent
record, as a timeline event and in the audit trail. SMS keywords (hub/sms/consent.py) and the
carrier's own opt-out reports (hub/outbox/queue.py) both change it here."""

from __future__ import annotations

from sqlalchemy import select

from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Consent, ContactPoint, Conversation, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, EventKind
from hub.timeline.append import append_event

CARRIER = Origin(None, "SMS provider")


def change_consent(
    tx: Tx, conv: Conversation, point: ContactPoint, *, granted: bool, origin: Origin, data: dict[str, object]
) -> None:
    """The number's opt-in or opt-out: on the contact point, in the consent record, as a
    timeline event and in the audit trail."""
    point.opted_out_at = None if granted else utcnow()
    _record_consent(tx, point.patient_id, granted=granted, source=f"SMS from {point.address}")
    event = append_event(
        tx,
        conv,
        EventKind.CONSENT_CHANGE,
        author_type=AuthorType.PATIENT,
        channel="sms",
        data={"channel": "sms", "granted": granted, "address": point.address, **data},
    )
    add_audit(
        tx,
        AuditRecord(
            AuditAction.CONSENT_CHANGE,
            None,
            origin,
            point.patient_id,
            conv.id,
            {"seq": event.seq, "channel": "sms", "granted": granted},
        ),
    )


def record_carrier_opt_out(tx: Tx, patient_id: int, address: str, message_seq: int) -> None:
    """The carrier refused a message because this number opted out (Twilio 21610)."""
    point = tx.session.execute(
        select(ContactPoint).where(
            ContactPoint.patient_id == patient_id, ContactPoint.kind == "phone", ContactPoint.address == address
        )
    ).scalar_one_or_none()
    message = tx.session.get(TimelineEvent, message_seq)
    if point is None or message is None or point.opted_out_at is not None:
        return
    conv = tx.session.get(Conversation, message.conversation_id)
    assert conv is not None
    change_consent(
        tx,
        conv,
        point,
        granted=False,
        origin=CARRIER,
        data={"reason": "the carrier reports this number opted out (21610)"},
    )


def _record_consent(tx: Tx, patient_id: int, *, granted: bool, source: str) -> None:
    consent = tx.session.execute(
        select(Consent).where(Consent.patient_id == patient_id, Consent.channel == "sms")
    ).scalar_one_or_none()
    if consent is None:
        tx.session.add(
            Consent(patient_id=patient_id, channel="sms", granted=granted, source=source, changed_at=utcnow())
        )
    else:
        consent.granted, consent.source, consent.changed_at = granted, source, utcnow()

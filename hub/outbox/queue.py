"""The outbox, database side: enqueue with the message, claim what is due, settle outcomes.

All of it runs in the writer's transactions. A claimed item is marked `sending` before any
request leaves the hub; if the hub stops with items in `sending`, their outcome is unknown,
so they are failed visibly rather than sent again (a patient never gets the same text twice).
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import select, update

from channels.sms.adapter import SendOutcome
from hub.db.models import ContactPoint, OutboxItem, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.timeline.delivery import DeliveryReport, record_delivery_batch

MAX_ATTEMPTS = 5
UNKNOWN_OUTCOME = "the hub stopped while sending; the outcome is unknown, so it was not sent again"


def backoff(attempts: int) -> timedelta:
    """1 s, 4 s, 16 s, 64 s between attempts."""
    return timedelta(seconds=4 ** (attempts - 1))


def enqueue(tx: Tx, message_seq: int, channel: str, to_address: str | None = None) -> None:
    tx.session.add(
        OutboxItem(
            message_seq=message_seq,
            channel=channel,
            to_address=to_address,
            state="pending",
            attempts=0,
            next_attempt_at=utcnow(),
        )
    )


class Due(msgspec.Struct, frozen=True):
    outbox_id: int
    message_seq: int
    patient_id: int
    to: str | None  # the patient's phone, unless every one has opted out
    body: str
    attempt: int


def claim_due(tx: Tx, items: list[tuple[str, int]]) -> list[list[Due]]:
    """For each (channel, limit): pending items whose time has come, now marked sending."""
    out: list[list[Due]] = []
    for channel, limit in items:
        rows = tx.session.execute(
            select(OutboxItem, TimelineEvent)
            .join(TimelineEvent, TimelineEvent.seq == OutboxItem.message_seq)
            .where(OutboxItem.channel == channel, OutboxItem.state == "pending", OutboxItem.next_attempt_at <= utcnow())
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        due = []
        for item, message in rows:
            item.state, item.attempts = "sending", item.attempts + 1
            phone = (
                item.to_address
                or tx.session.execute(
                    select(ContactPoint.address)
                    .where(
                        ContactPoint.patient_id == message.patient_id,
                        ContactPoint.kind == "phone",
                        ContactPoint.opted_out_at.is_(None),
                    )
                    .order_by(ContactPoint.id)
                    .limit(1)
                ).scalar_one_or_none()
            )
            due.append(Due(item.id, message.seq, message.patient_id, phone, message.text or "", item.attempts))
        out.append(due)
    return out


def settle(tx: Tx, items: list[tuple[Due, SendOutcome]]) -> list[None]:
    """Record what the provider said about each attempt."""
    for due, outcome in items:
        item = tx.session.get(OutboxItem, due.outbox_id)
        assert item is not None
        if outcome.kind == "accepted":
            item.state, item.last_error = "sent", None
            record_delivery_batch(
                tx,
                [
                    (
                        "sms",
                        DeliveryReport(
                            status=outcome.status or "queued",  # type: ignore[arg-type]
                            message_seq=due.message_seq,
                            provider_message_id=outcome.provider_message_id,
                        ),
                    )
                ],
            )
            continue
        item.last_error = (outcome.error or outcome.kind)[:300]
        if outcome.kind == "retry" and due.attempt < MAX_ATTEMPTS:
            item.state, item.next_attempt_at = "pending", utcnow() + backoff(due.attempt)
            continue
        item.state = "failed"
        if outcome.kind == "opted_out" and due.to:
            # The carrier says this number replied STOP: no SMS to it until it opts back in.
            tx.session.execute(
                update(ContactPoint)
                .where(
                    ContactPoint.patient_id == due.patient_id,
                    ContactPoint.kind == "phone",
                    ContactPoint.address == due.to,
                    ContactPoint.opted_out_at.is_(None),
                )
                .values(opted_out_at=utcnow())
            )
        record_delivery_batch(
            tx,
            [
                (
                    "sms",
                    DeliveryReport(
                        status="failed",
                        message_seq=due.message_seq,
                        error_code=outcome.error_code,
                        error=item.last_error,
                    ),
                )
            ],
        )
    return [None] * len(items)


def fail_interrupted(tx: Tx, _: list[None]) -> list[int]:
    """At start: items left `sending` by a stopped hub are failed, visibly, not resent."""
    rows = tx.session.execute(select(OutboxItem).where(OutboxItem.state == "sending")).scalars().all()
    for item in rows:
        item.state, item.last_error = "failed", UNKNOWN_OUTCOME
        record_delivery_batch(
            tx,
            [
                (
                    item.channel,
                    DeliveryReport(status="failed", message_seq=item.message_seq, error=UNKNOWN_OUTCOME[:500]),
                )
            ],
        )
    return [len(rows)]

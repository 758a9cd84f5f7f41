"""The outbox, database side: enqueue with the message, claim what is due, settle outcomes.

All of it runs in the writer's transactions. A claimed item is marked `sending` (with the
claiming process and time) before any request leaves the hub. A claim whose outcome never
got recorded (the hub stopped, or recording failed) is failed visibly once it is stale,
rather than sent again: a patient never gets the same text twice.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import select

from channels.sms.adapter import SendOutcome
from hub.db.models import ContactPoint, OutboxItem, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.timeline.delivery import DeliveryReport, record_delivery_batch

MAX_ATTEMPTS = 5
STALE_CLAIM = timedelta(seconds=60)  # far beyond the sender's HTTP timeout
UNKNOWN_OUTCOME = "sending was interrupted; the outcome is unknown, so it was not sent again"


def backoff(attempts: int) -> timedelta:
    """1 s, 4 s, 16 s, 64 s between attempts."""
    return timedelta(seconds=4 ** (attempts - 1))


def enqueue(tx: Tx, message_seq: int, channel: str, opt_out_confirmation_to: str | None = None) -> None:
    """Queue a stored outbound message. Only an opt-out confirmation names its number: it is
    the one message a number that just opted out still gets."""
    tx.session.add(
        OutboxItem(
            message_seq=message_seq,
            channel=channel,
            purpose="opt_out_confirmation" if opt_out_confirmation_to else "reply",
            to_address=opt_out_confirmation_to,
            state="pending",
            attempts=0,
            next_attempt_at=utcnow(),
        )
    )


class Due(msgspec.Struct, frozen=True):
    outbox_id: int
    message_seq: int
    patient_id: int
    to: str | None  # None: no phone of the patient accepts SMS (any more)
    body: str
    attempt: int
    claimed_by: str


def claim_due(tx: Tx, items: list[tuple[str, int, str]]) -> list[list[Due]]:
    """For each (channel, limit, claimant): pending items whose time has come, now marked
    sending by that claimant."""
    out: list[list[Due]] = []
    for channel, limit, claimant in items:
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
            item.state, item.attempts, item.claimed_by, item.claimed_at = (
                "sending",
                item.attempts + 1,
                claimant,
                utcnow(),
            )
            # Opt-out is checked now, at sending time: whatever was queued before a STOP stays unsent.
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
            due.append(
                Due(item.id, message.seq, message.patient_id, phone, message.text or "", item.attempts, claimant)
            )
        out.append(due)
    return out


def settle(tx: Tx, items: list[tuple[Due, SendOutcome]]) -> list[None]:
    """Record what the provider said about each attempt (only for claims still ours)."""
    for due, outcome in items:
        item = tx.session.get(OutboxItem, due.outbox_id, with_for_update=True)
        if item is None or item.state != "sending" or item.claimed_by != due.claimed_by:
            continue  # settled already (failed as stale): the timeline says so
        item.claimed_by = item.claimed_at = None
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
            # The carrier says this number replied STOP to us: the same consent change as a STOP here.
            from hub.sms.consent import record_carrier_opt_out  # here: consent queues its replies through us

            record_carrier_opt_out(tx, due.patient_id, due.to, due.message_seq)
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


def fail_stale_claims(tx: Tx, _: list[None]) -> list[int]:
    """Claims nobody settled in time (a stopped hub, a failed write) are failed, visibly."""
    rows = (
        tx.session.execute(
            select(OutboxItem)
            .where(OutboxItem.state == "sending", OutboxItem.claimed_at < utcnow() - STALE_CLAIM)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for item in rows:
        item.state, item.last_error, item.claimed_by, item.claimed_at = "failed", UNKNOWN_OUTCOME, None, None
        record_delivery_batch(
            tx, [(item.channel, DeliveryReport(status="failed", message_seq=item.message_seq, error=UNKNOWN_OUTCOME))]
        )
    return [len(rows)]

"""The outbox, database side: enqueue with the message, claim what is due, settle outcomes.

All of it runs in the writer's transactions. A claimed item is marked `sending` (with the
claiming process and time) before any request leaves the hub. An attempt whose outcome is
unknown (no clear answer came back, or the hub stopped before recording it) becomes `unknown`:
on a channel whose provider can be asked (SMS), the next claim asks it first, adopts the message
when the provider has it and sends it only when it does not, so a patient never gets the same
text twice; elsewhere (email) it is failed visibly. A provider that refuses for a while (429, 503,
unreachable) is retried with capped backoff for a window of hours, and a recipient's messages
leave in the order written: a later one waits behind an earlier one not yet settled.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from sqlalchemy import select

from channels.sms.adapter import SendOutcome
from hub.db.models import ContactPoint, OutboxItem, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import EventKind
from hub.jobs import backoff
from hub.patients.consent import record_carrier_opt_out
from hub.timeline.append import last_via
from hub.timeline.delivery import DeliveryReport, record_delivery_batch

STALE_CLAIM = timedelta(seconds=60)  # far beyond the sender's HTTP timeout
UNKNOWN_OUTCOME = "sending was interrupted; the outcome is unknown, so it was not sent again"
GAVE_UP = "the provider did not take it for {how_long}; not sent"
# Providers whose messages can be looked up after an unclear answer (hub/outbox/senders.py, reconcile).
ASKABLE = {"sms"}
UNSETTLED = ("pending", "sending", "unknown")


class RetryPolicy(msgspec.Struct, frozen=True):
    window_s: float  # a message the provider keeps refusing is retried this long after it was written
    max_backoff_s: float  # 1 s, 4 s, 16 s... between attempts, at most this


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


def enqueue_code(tx: Tx, channel: str, to_address: str, body: str) -> None:
    """Queue a one-time code: no timeline message, its text kept only until it is settled."""
    tx.session.add(
        OutboxItem(
            message_seq=None,
            channel=channel,
            purpose="code",
            to_address=to_address,
            body=body,
            state="pending",
            attempts=0,
            next_attempt_at=utcnow(),
        )
    )


# The kind of contact point each channel sends to.
CONTACT_KIND = {"sms": "phone", "email": "email"}


class Due(msgspec.Struct, frozen=True):
    outbox_id: int
    channel: str
    message_seq: int | None  # None: a one-time code, in no timeline
    patient_id: int | None
    to: str | None  # None: no contact point of the patient accepts this channel (any more)
    body: str
    attempt: int
    claimed_by: str
    written_at: datetime | None = None  # when it was queued: the provider's list is searched from then
    check_first: bool = False  # an earlier attempt's outcome is unknown: ask the provider before sending
    known_ids: tuple[str, ...] = ()  # provider ids of the recipient's other messages: never adopted as this one


def claim_due(tx: Tx, items: list[tuple[str, int, str, datetime]]) -> list[list[Due]]:
    """For each (channel, limit, claimant, now): items whose time has come (pending, or unknown
    and to be looked up first), now marked sending by that claimant."""
    out: list[list[Due]] = []
    for channel, limit, claimant, now in items:
        # Oldest first, and one at a time per recipient: a patient gets two texts in the order
        # they were written (the bot's welcome before its answer), never both at once.
        unsettled = tx.session.execute(
            select(OutboxItem, TimelineEvent)
            .outerjoin(TimelineEvent, TimelineEvent.seq == OutboxItem.message_seq)
            .where(OutboxItem.channel == channel, OutboxItem.state.in_(UNSETTLED))
            .order_by(OutboxItem.id)
            .limit(limit * 50)
            .with_for_update(skip_locked=True, of=OutboxItem)
        ).all()
        busy, rows = set(), []
        for item, message in unsettled:
            key = message.patient_id if message is not None else item.to_address
            if key in busy:
                continue
            busy.add(key)  # anything later for this recipient waits for this one
            if item.state in ("pending", "unknown") and item.next_attempt_at <= now and len(rows) < limit:
                rows.append((item, message))
        due = []
        for item, message in rows:
            check_first = item.state == "unknown"
            item.state, item.attempts, item.claimed_by, item.claimed_at = ("sending", item.attempts + 1, claimant, now)
            due.append(
                Due(
                    item.id,
                    channel,
                    message.seq if message else None,
                    message.patient_id if message else None,
                    _recipient(tx, item, message),
                    item.body if item.body is not None else (message.text if message else "") or "",
                    item.attempts,
                    claimant,
                    item.created_at,
                    check_first,
                    _known_ids(tx, message, item.created_at) if check_first else (),
                )
            )
        out.append(due)
    return out


def _known_ids(tx: Tx, message: TimelineEvent | None, since: datetime) -> tuple[str, ...]:
    """The provider ids of the other messages this patient was sent on the channel lately."""
    if message is None:
        return ()
    rows = tx.session.execute(
        select(TimelineEvent.provider_message_id).where(
            TimelineEvent.patient_id == message.patient_id,
            TimelineEvent.kind == EventKind.MESSAGE_OUT,
            TimelineEvent.channel == message.channel,
            TimelineEvent.provider_message_id.is_not(None),
            TimelineEvent.seq != message.seq,
            TimelineEvent.created_at >= since - timedelta(days=2),
        )
    ).scalars()
    return tuple(rows)


def _recipient(tx: Tx, item: OutboxItem, message: TimelineEvent | None) -> str | None:
    """Opt-out is checked now, at sending time: whatever was queued before a STOP stays unsent.
    Only an opt-out confirmation goes to a number that opted out."""
    kind = CONTACT_KIND[item.channel]
    if item.purpose == "opt_out_confirmation":
        return item.to_address
    if item.to_address is not None:
        opted_out = tx.session.execute(
            select(ContactPoint.id).where(
                ContactPoint.kind == kind,
                ContactPoint.address == item.to_address,
                ContactPoint.opted_out_at.is_not(None),
            )
        ).first()
        return None if opted_out else item.to_address
    if message is None:
        return None
    points = tx.session.execute(
        select(ContactPoint.id, ContactPoint.address, ContactPoint.opted_out_at.is_(None).label("takes"))
        .where(ContactPoint.patient_id == message.patient_id, ContactPoint.kind == kind)
        .order_by(ContactPoint.id)
    ).all()
    # Back to the number the patient last wrote from in this conversation (an old or shared
    # number on file must not get today's answer); else the first on file.
    via = last_via(tx.session, message.conversation_id, item.channel, message.seq)
    for cp, address, takes in points:
        if cp == via:  # opted out: not sent, and never redirected to another number on file
            return address if takes else None
    return next((address for _cp, address, takes in points if takes), None)


def settle(tx: Tx, items: list[tuple[Due, SendOutcome, datetime, RetryPolicy]]) -> list[None]:
    """Record what the provider said about each attempt (only for claims still ours)."""
    for due, outcome, now, policy in items:
        item = tx.session.get(OutboxItem, due.outbox_id, with_for_update=True)
        if item is None or item.state != "sending" or item.claimed_by != due.claimed_by:
            continue  # settled already (failed as stale): the timeline says so
        item.claimed_by = item.claimed_at = None
        if outcome.kind == "accepted":
            item.state, item.last_error = "sent", None
            _forget_code(item)
            _report(
                tx,
                due,
                DeliveryReport(status=outcome.status or "queued", provider_message_id=outcome.provider_message_id),
            )  # type: ignore[arg-type]
            continue
        item.last_error = (outcome.error or outcome.kind)[:300]
        # unknown: the provider may have it (or a look-up of it failed): asked first next time
        unknown = outcome.kind == "unknown" or (due.check_first and outcome.kind == "retry")
        if outcome.kind in ("retry", "unknown"):
            if unknown and due.channel not in ASKABLE:
                item.last_error = f"{item.last_error}; {UNKNOWN_OUTCOME}"[:300]  # no way to ask: never twice
            elif (now - item.created_at).total_seconds() < policy.window_s:
                wait = min(backoff(due.attempt), timedelta(seconds=policy.max_backoff_s))
                item.state, item.next_attempt_at = ("unknown" if unknown else "pending"), now + wait
                continue
            else:
                item.last_error = UNKNOWN_OUTCOME if unknown else GAVE_UP.format(how_long=_how_long(policy.window_s))
        item.state = "failed"
        _forget_code(item)
        if outcome.kind == "opted_out" and due.to and due.patient_id is not None and due.message_seq is not None:
            # The carrier says this number replied STOP to us: the same consent change as a STOP here.
            record_carrier_opt_out(tx, due.patient_id, due.to, due.message_seq)
        _report(tx, due, DeliveryReport(status="failed", error_code=outcome.error_code, error=item.last_error))
    return [None] * len(items)


def _how_long(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minutes" if minutes < 120 else f"{round(minutes / 60)} hours"


def _forget_code(item: OutboxItem) -> None:
    if item.purpose == "code":
        item.body = None


def _report(tx: Tx, due: Due, report: DeliveryReport) -> None:
    """A timeline message's delivery status moves forward; a one-time code has no timeline."""
    if due.message_seq is None:
        return
    report = msgspec.structs.replace(report, message_seq=due.message_seq)
    record_delivery_batch(tx, [(due.channel, report)])


def fail_stale_claims(tx: Tx, items: list[datetime]) -> list[int]:
    """Claims nobody settled in time (a stopped hub, a failed write): on a channel whose provider
    can be asked, looked up at the next claim (`unknown`); elsewhere failed, visibly. Item: now."""
    now = min(items)
    rows = (
        tx.session.execute(
            select(OutboxItem)
            .where(OutboxItem.state == "sending", OutboxItem.claimed_at < now - STALE_CLAIM)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for item in rows:
        if item.channel in ASKABLE:
            item.state, item.next_attempt_at, item.claimed_by, item.claimed_at = "unknown", now, None, None
            continue
        item.state, item.last_error, item.claimed_by, item.claimed_at = "failed", UNKNOWN_OUTCOME, None, None
        _forget_code(item)
        if item.message_seq is not None:
            record_delivery_batch(
                tx,
                [(item.channel, DeliveryReport(status="failed", message_seq=item.message_seq, error=UNKNOWN_OUTCOME))],
            )
    return [len(rows)] * len(items)

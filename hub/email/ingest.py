"""Inbound mail into the timeline, inside the writer's group commit: exactly once by Message-ID,
threaded into its conversation, its attachments and original already in file storage.

Threading: the conversation a message answers is found by the reply address it was sent to
(reply+<token>@domain), else by In-Reply-To, else by References (newest first), against every
Message-ID the hub has sent or received. A thread is followed only when the sender's address
belongs to that conversation's patient: a display name or a forwarded reply address links no one.

Where it lands (docs/channels.md, "Email", says the same):
- the thread's conversation is open or pending: there (the patient's current conversation);
- it is resolved, and the patient has another conversation still open: that one;
- it is resolved, and no other is open: a reply within `reopen_days` of the resolution reopens
  it (a status_change event says so); a later one opens a new conversation, which records the
  one it follows;
- no thread: the patient's current conversation, or a new one (as on every channel);
- an auto-reply never reopens or opens anything: on a resolved thread with nothing else open it
  is filed in that conversation as it stands, marked `"auto_reply": true` for the bot and staff.

A bounce is no patient message: it marks our message failed (a delivery_status event with the
diagnostic), found by the Message-ID the report quotes, else by the reply token it came back to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import select

from channels.email.mime import ParsedEmail
from hub.db.models import ContactPoint, Conversation, EmailMessage, EmailReplyToken, Media, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.email.outbound import reply_token
from hub.email.store import Stored
from hub.events import Attachment, AuthorType, ConversationStatus, EventKind, checked_data
from hub.timeline.append import append_event
from hub.timeline.delivery import DeliveryReport, DeliveryResult, record_delivery_batch
from hub.timeline.door import admit
from hub.timeline.ingest import CheckedInbound

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EmailIn:
    parsed: ParsedEmail  # its attachments' bytes are in `stored`, not here
    stored: Stored
    checked: CheckedInbound | None  # None: a bounce, which has no patient
    source: str  # smtp, sendgrid, mailgun
    reopen_within: timedelta


class Received(msgspec.Struct):
    kind: str  # message, auto_reply, bounce
    duplicate: bool
    seq: int | None = None
    conversation_id: int | None = None
    patient_id: int | None = None
    delivery: str | None = None  # a bounce: failed, delivered, delayed or unmatched


def ingest_email(tx: Tx, items: list[EmailIn]) -> list[Received]:
    return [_one(tx, item) for item in items]


def _one(tx: Tx, item: EmailIn) -> Received:
    s = tx.session
    s.flush()
    s.expire_all()  # admit changes rows with Core statements: read conversations afresh
    p = item.parsed
    known = s.execute(select(EmailMessage).where(EmailMessage.message_id == p.message_id)).scalar_one_or_none()
    if known is not None:
        return Received(known.kind, True, known.message_seq, known.conversation_id, known.patient_id)
    if p.bounce is not None or item.checked is None:
        return _bounce(tx, item)
    checked = item.checked
    patient_id = s.execute(
        select(ContactPoint.patient_id).where(
            ContactPoint.kind == checked.kind, ContactPoint.address == checked.address
        )
    ).scalar_one_or_none()
    conv, via = _thread(tx, p, patient_id)
    email: dict[str, Any] = {
        "subject": p.subject,
        "message_id": p.message_id,
        "quote_stripped": p.quote_stripped,
        "html": p.html is not None,
        "source": item.source,
        "thread": via,
        "defects": list(p.defects),
    }
    if p.auto_reply:
        email["auto_reply_reason"] = p.auto_reply
    if conv is not None and conv.status == ConversationStatus.RESOLVED and not _has_current(tx, conv.patient_id):
        if p.auto_reply:
            return _file_in(tx, item, conv, email)
        if conv.resolved_at is not None and utcnow() - conv.resolved_at <= item.reopen_within:
            _reopen(tx, conv)
            email["reopened"] = True
        else:
            email["follows_conversation"] = conv.id
    if p.auto_reply and conv is None and (patient_id is None or not _has_current(tx, patient_id)):
        return _keep_aside(tx, item, patient_id)
    (result,) = admit(tx, [checked])
    if result.duplicate:  # the same provider id came another way first (an integration relaying it)
        return Received(p.kind, True, result.seq, result.conversation_id, result.patient_id)
    _finish(tx, item, result.seq, result.conversation_id, result.patient_id, email)
    return Received(p.kind, False, result.seq, result.conversation_id, result.patient_id)


def _thread(tx: Tx, p: ParsedEmail, patient_id: int | None) -> tuple[Conversation | None, str | None]:
    if patient_id is None:  # a new address: no earlier conversation can be theirs
        return None, None
    s = tx.session
    for token in p.reply_tokens:
        cid = s.execute(
            select(EmailReplyToken.conversation_id).where(EmailReplyToken.token == token)
        ).scalar_one_or_none()
        conv = s.get(Conversation, cid) if cid is not None else None
        if conv is not None and conv.patient_id == patient_id:
            return conv, "reply_token"
    ids = list(dict.fromkeys([*([p.in_reply_to] if p.in_reply_to else []), *reversed(p.references)]))
    if not ids:
        return None, None
    rows = s.execute(
        select(EmailMessage.message_id, EmailMessage.conversation_id).where(
            EmailMessage.message_id.in_(ids), EmailMessage.conversation_id.is_not(None)
        )
    ).all()
    found = dict(rows)
    for mid in ids:
        conv = s.get(Conversation, found[mid]) if mid in found else None
        if conv is not None and conv.patient_id == patient_id:
            return conv, "in_reply_to" if mid == p.in_reply_to else "references"
    return None, None


def _has_current(tx: Tx, patient_id: int) -> bool:
    return (
        tx.session.execute(
            select(Conversation.id)
            .where(Conversation.patient_id == patient_id, Conversation.status != ConversationStatus.RESOLVED)
            .limit(1)
        ).first()
        is not None
    )


def _reopen(tx: Tx, conv: Conversation) -> None:
    """The patient answered a resolved thread soon after: the same episode goes on."""
    conv.status, conv.resolved_at = ConversationStatus.OPEN, None
    if conv.assignee_id is None and conv.handler == "agent":
        conv.queued_at = utcnow()  # back in its team's queue
    append_event(
        tx,
        conv,
        EventKind.STATUS_CHANGE,
        author_type=AuthorType.SYSTEM,
        channel="email",
        data={"from": ConversationStatus.RESOLVED, "to": ConversationStatus.OPEN, "reason": "email_reply"},
    )


def _file_in(tx: Tx, item: EmailIn, conv: Conversation, email: dict[str, Any]) -> Received:
    """An auto-reply to a resolved thread: on the record in that conversation, which stays resolved."""
    checked = item.checked
    assert checked is not None
    event = append_event(
        tx,
        conv,
        EventKind.MESSAGE_IN,
        author_type=AuthorType.PATIENT,
        text=checked.msg.text,
        channel="email",
        data={"sent_at": checked.msg.sent_at.isoformat()} if checked.msg.sent_at else {},
    )
    row = tx.session.get(TimelineEvent, event.seq)
    assert row is not None
    row.provider_message_id = item.parsed.message_id
    _finish(tx, item, event.seq, conv.id, conv.patient_id, email)
    return Received("auto_reply", False, event.seq, conv.id, conv.patient_id)


def _keep_aside(tx: Tx, item: EmailIn, patient_id: int | None) -> Received:
    """An out-of-office that answers nothing we can find (a code mail, say): kept with its raw
    mail, opening no conversation (and no patient record for an address we never knew)."""
    address = item.checked.address if item.checked else None
    _keep_record(tx, item, "auto_reply", None, patient_id, address, list(item.parsed.references))
    return Received("auto_reply", False, None, None, patient_id)


def _keep_record(
    tx: Tx,
    item: EmailIn,
    kind: str,
    conversation_id: int | None,
    patient_id: int | None,
    address: str | None,
    refs: list[str],
) -> None:
    """A mail kept as a record of its own (with its raw mail), no message on any timeline."""
    p = item.parsed
    tx.session.add(
        EmailMessage(
            message_id=p.message_id,
            direction="in",
            kind=kind,
            source=item.source,
            conversation_id=conversation_id,
            patient_id=patient_id,
            message_seq=None,
            subject=p.subject[:300] or None,
            address=address,
            refs=refs,
            raw_sha256=item.stored.raw_sha256,
            raw_size=item.stored.raw_size,
            created_at=utcnow(),
        )
    )


def _finish(tx: Tx, item: EmailIn, seq: int, conversation_id: int, patient_id: int, email: dict[str, Any]) -> None:
    """The stored message gets its email data and its attachments (already in file storage), its
    Message-ID is recorded against the conversation, and the frame agents get says the same."""
    s = tx.session
    p, now = item.parsed, utcnow()
    attachments: list[dict[str, Any]] = []
    for position, f in enumerate(item.stored.files):
        media = Media(
            message_seq=seq,
            position=position,
            patient_id=patient_id,
            channel="email",
            source_url=f"email:{p.message_id}",
            declared_type=f.declared_type,
            state="stored",
            attempts=0,
            next_attempt_at=now,
            content_type=f.served_type,
            size=f.size,
            sha256=f.sha256,
            error_params={},
            created_at=now,
            settled_at=now,
        )
        s.add(media)
        s.flush()
        a: dict[str, Any] = {"content_type": f.shown_type, "url": f"/api/media/{media.id}", "size": f.size}
        if f.name:
            a["name"] = f.name
        attachments.append({**a, "media_id": media.id, "state": "stored"})
    if item.stored.files:
        email["inline_images"] = sum(1 for f in item.stored.files if f.inline)
    row = s.get(TimelineEvent, seq)
    assert row is not None
    row.data = checked_data(
        EventKind.MESSAGE_IN, {**(row.data or {}), "auto_reply": bool(p.auto_reply), "email": email}
    )
    row.attachments = attachments
    s.add(
        EmailMessage(
            message_id=p.message_id,
            direction="in",
            kind=p.kind,
            source=item.source,
            conversation_id=conversation_id,
            patient_id=patient_id,
            message_seq=seq,
            subject=p.subject[:300] or None,
            address=item.checked.address if item.checked else None,
            refs=list(p.references),
            raw_sha256=item.stored.raw_sha256,
            raw_size=item.stored.raw_size,
            created_at=now,
        )
    )
    reply_token(tx, conversation_id)  # every email conversation has its reply address from the start
    for published in tx.published:
        if published.frame.seq == seq:
            event = msgspec.structs.replace(
                published.frame.event,
                data=row.data,
                attachments=msgspec.convert(attachments, list[Attachment]),
                provider_message_id=p.message_id,
            )
            published.frame = msgspec.structs.replace(published.frame, event=event)


def _bounce(tx: Tx, item: EmailIn) -> Received:
    s = tx.session
    p = item.parsed
    bounce = p.bounce
    assert bounce is not None
    ours = None
    if bounce.original_ids:
        ours = s.execute(
            select(EmailMessage)
            .where(EmailMessage.message_id.in_(bounce.original_ids), EmailMessage.direction == "out")
            .order_by(EmailMessage.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    if ours is None and p.reply_tokens:  # it came back to the reply address: the thread's latest
        ours = s.execute(
            select(EmailMessage)
            .join(EmailReplyToken, EmailReplyToken.conversation_id == EmailMessage.conversation_id)
            .where(EmailReplyToken.token.in_(p.reply_tokens), EmailMessage.direction == "out")
            .order_by(EmailMessage.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    delivery = "unmatched"
    if ours is not None and ours.message_seq is not None:
        status = "failed" if bounce.failed else "delivered" if bounce.action in ("delivered", "relayed") else None
        delivery = status or bounce.action
        if status is not None:
            error = bounce.diagnostic or (f"status {bounce.status}" if bounce.status else None)
            report = DeliveryReport(
                status=status,  # type: ignore[arg-type]
                message_seq=ours.message_seq,
                error_code=bounce.status,
                error=f"returned by the recipient's mail server: {error}"[:500] if status == "failed" else None,
            )
            (result,) = record_delivery_batch(tx, [("email", report)])
            if isinstance(result, DeliveryResult) and not result.applied:
                delivery = result.status
    else:
        log.warning("a delivery report about a message the hub did not send was kept, unmatched (%s)", p.message_id)
    _keep_record(
        tx,
        item,
        "bounce",
        ours.conversation_id if ours else None,
        ours.patient_id if ours else None,
        None,
        list(bounce.original_ids),
    )
    return Received(
        "bounce",
        False,
        ours.message_seq if ours else None,
        ours.conversation_id if ours else None,
        ours.patient_id if ours else None,
        delivery,
    )

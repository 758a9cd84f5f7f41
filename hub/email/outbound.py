"""Replies by email, inside the writer's transaction: rendered completely when queued (text and
HTML, our own Message-ID, In-Reply-To and References from the thread, the conversation's reply
address in Reply-To), recorded by Message-ID against the conversation, and handed to the outbox,
which sends the stored bytes through the clinic's relay with retries.

`prepare_reply` refuses before anything is written; `queue_reply` runs once the timeline message
is stored. Anything that answers a patient by email (agents; the bot, templates) uses both.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import select

from channels.email.ids import new_reply_token, reply_address, reply_subject
from channels.email.outbound import new_message_id, render_reply
from hub.db.models import ContactPoint, Conversation, EmailMessage, EmailReplyToken, OutboxItem, Patient
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.i18n import SUPPORTED, _, translate
from hub.refusals import Refused
from hub.settings import Settings

DEFAULT_SUBJECT = _("A message from {clinic}")
NOT_SET_UP = _("Email replies are not set up: the clinic has no address to send from.")
NO_ADDRESS = _("The patient has no email address that accepts mail.")


class MailIdentity(msgspec.Struct, frozen=True):
    """Who the clinic's mail comes from, and where replies to it go."""

    from_address: str
    from_name: str
    reply_domain: str


def mail_identity(settings: Settings) -> MailIdentity | None:
    address = (settings.email.from_address or settings.smtp.from_address).strip()
    if "@" not in address:
        return None
    domain = (settings.email.reply_domain or address.rpartition("@")[2]).strip().lower()
    return MailIdentity(address, settings.email.from_name or settings.clinic.name, domain)


def accepted_domains(settings: Settings) -> frozenset[str]:
    """The domains inbound mail is accepted for."""
    if settings.email.domains:
        return frozenset(d.strip().lower() for d in settings.email.domains if d.strip())
    identity = mail_identity(settings)
    if identity is None:
        return frozenset()
    return frozenset({identity.reply_domain, identity.from_address.rpartition("@")[2].lower()})


class PreparedReply(msgspec.Struct, frozen=True):
    mail: MailIdentity
    to: str
    subject: str
    message_id: str
    reply_to: str
    in_reply_to: str | None
    references: tuple[str, ...]

    @property
    def shown(self) -> dict[str, object]:
        """What the timeline message records about it."""
        return {"subject": self.subject, "message_id": self.message_id, "to": self.to}


def reply_token(tx: Tx, conversation_id: int) -> str:
    """The conversation's reply token, made on first use."""
    s = tx.session
    token = s.execute(
        select(EmailReplyToken.token).where(EmailReplyToken.conversation_id == conversation_id)
    ).scalar_one_or_none()
    if token is None:
        token = new_reply_token()
        s.add(EmailReplyToken(conversation_id=conversation_id, token=token, created_at=utcnow()))
        s.flush()
    return token


def _recipient(tx: Tx, conv: Conversation, last_from: str | None) -> str | None:
    """The address the patient last wrote from in this conversation, if it still takes mail; else
    their first email address that does."""
    rows = tx.session.execute(
        select(ContactPoint.address)
        .where(
            ContactPoint.patient_id == conv.patient_id,
            ContactPoint.kind == "email",
            ContactPoint.opted_out_at.is_(None),
        )
        .order_by(ContactPoint.id)
    ).scalars()
    addresses = list(rows)
    if last_from in addresses:
        return last_from
    return addresses[0] if addresses else None


def prepare_reply(tx: Tx, conv: Conversation, mail: MailIdentity | None) -> PreparedReply:
    if mail is None:
        raise Refused(400, NOT_SET_UP)
    s = tx.session
    thread = s.execute(
        select(EmailMessage)
        .where(EmailMessage.conversation_id == conv.id, EmailMessage.kind == "message")
        .order_by(EmailMessage.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    last_in = s.execute(
        select(EmailMessage.address)
        .where(EmailMessage.conversation_id == conv.id, EmailMessage.direction == "in")
        .order_by(EmailMessage.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    to = _recipient(tx, conv, last_in)
    if to is None:
        raise Refused(400, NO_ADDRESS)
    patient = s.get(Patient, conv.patient_id)
    language = next(
        (lang for lang in (conv.language, patient.preferred_language if patient else None) if lang in SUPPORTED),
        "en",
    )
    default = translate(language, DEFAULT_SUBJECT, clinic=mail.from_name)
    references: tuple[str, ...] = ()
    if thread is not None:
        references = (*(thread.refs or [])[-29:], thread.message_id)
    return PreparedReply(
        mail=mail,
        to=to,
        subject=reply_subject(thread.subject if thread else None, default),
        message_id=new_message_id(mail.from_address.rpartition("@")[2] or mail.reply_domain),
        reply_to=reply_address(reply_token(tx, conv.id), mail.reply_domain),
        in_reply_to=thread.message_id if thread else None,
        references=references,
    )


def queue_reply(tx: Tx, conv: Conversation, message_seq: int, text: str, reply: PreparedReply) -> None:
    """Render the stored reply, record its Message-ID, and queue it for the relay."""
    raw = render_reply(
        from_address=reply.mail.from_address,
        from_name=reply.mail.from_name,
        to=reply.to,
        subject=reply.subject,
        body=text,
        message_id=reply.message_id,
        reply_to=reply.reply_to,
        in_reply_to=reply.in_reply_to,
        references=reply.references,
    )
    now = utcnow()
    s = tx.session
    s.add(
        EmailMessage(
            message_id=reply.message_id,
            direction="out",
            kind="message",
            source="outbox",
            conversation_id=conv.id,
            patient_id=conv.patient_id,
            message_seq=message_seq,
            subject=reply.subject[:300],
            address=reply.to,
            refs=list(reply.references),
            created_at=now,
        )
    )
    s.add(
        OutboxItem(
            message_seq=message_seq,
            channel="email",
            purpose="reply",
            to_address=reply.to,
            body=raw,
            state="pending",
            attempts=0,
            next_attempt_at=now,
        )
    )

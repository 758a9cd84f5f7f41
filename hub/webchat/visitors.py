"""Web-chat visitors, inside the writer's transactions: starting a chat, proving an address
with a one-time code, and linking the visitor to the patient behind that address.

A visitor is a patient record of their own from the first moment (their name as typed, a
web-chat or portal contact point). Typing a phone number or an email proves nothing: only a
code sent there and typed back links the visitor to the patient who owns that address, by
moving everything of the visitor's record into that patient's (the visitor row is kept,
pointing at where it went).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import select, update

from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import (
    ContactPoint,
    Conversation,
    Patient,
    WebchatVerification,
)
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, ConversationStatus, EventKind, VisitorLinkedSignal
from hub.i18n import _
from hub.outbox.queue import enqueue_code
from hub.patients.merge_rows import move_records
from hub.patients.names import reindex_name
from hub.refusals import Refused, one_by_one
from hub.timeline.append import append_event
from hub.webchat.tokens import Visitor, VisitorKind

ProofKind = Literal["phone", "email"]

UNKNOWN_VISITOR = _("This chat has expired. Please start a new one.")
OPTED_OUT_NUMBER = _(
    "This number has opted out of text messages from the clinic. Text START to {phone} from it first, "
    "or use your email."
)
NO_CODE = _("No code is waiting. Ask for a new one.")
TOO_MANY_WRONG = _("Too many wrong codes. Ask for a new one.")
ALREADY_LINKED = _(
    "This chat is already linked to a patient record, so it cannot be joined to another one here. "
    "Please call the clinic at {phone}."
)

# The contact points a chat visitor's own record starts with: a record holding anything else (a
# phone or an email) belongs to a patient, and is never merged into another patient's.
VISITOR_KINDS = ("webchat", "portal")


def mask(kind: str, address: str) -> str:
    """Enough of an address for its owner to recognise it, not enough to learn it."""
    if kind == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"•••{address[-4:]}"


def code_hash(key: bytes, kind: str, address: str, code: str) -> str:
    """Only this is stored: the code, bound to the address it was sent to."""
    return hmac.new(key, f"{kind}:{address}:{code}".encode(), hashlib.sha256).hexdigest()


def _visitor_point(tx: Tx, visitor: Visitor) -> ContactPoint:
    point = tx.session.execute(
        select(ContactPoint).where(ContactPoint.kind == visitor.kind, ContactPoint.address == visitor.address)
    ).scalar_one_or_none()
    if point is None:
        raise Refused(401, UNKNOWN_VISITOR)
    return point


# --- starting a chat ------------------------------------------------------------------------------


class NewVisitor(msgspec.Struct, frozen=True):
    kind: VisitorKind
    address: str
    name: str | None
    language: str | None


class VisitorRecord(msgspec.Struct):
    patient_id: int
    name: str | None
    language: str | None
    verified: bool  # a portal user, or a visitor who proved a phone or email


def start_visitors(tx: Tx, items: list[NewVisitor]) -> list[VisitorRecord]:
    out = []
    for item in items:
        s = tx.session
        point = s.execute(
            select(ContactPoint).where(ContactPoint.kind == item.kind, ContactPoint.address == item.address)
        ).scalar_one_or_none()
        if point is None:
            patient = Patient(name=item.name, preferred_language=item.language, preferred_channel="webchat")
            s.add(patient)
            s.flush()
            reindex_name(s, patient.id, patient.name)
            point = ContactPoint(
                patient_id=patient.id, kind=item.kind, address=item.address, verified=item.kind == "portal"
            )
            s.add(point)
            s.flush()
        else:  # a portal user coming back: their record, filled in where it was empty
            patient = s.get(Patient, point.patient_id)
            assert patient is not None
            if not patient.name and item.name:
                patient.name = item.name
                reindex_name(s, patient.id, patient.name)
            patient.preferred_language = patient.preferred_language or item.language
        verified = s.execute(
            select(ContactPoint.id).where(
                ContactPoint.patient_id == patient.id,
                ContactPoint.verified.is_(True),
                ContactPoint.kind.in_(("phone", "email", "portal")),
            )
        ).first()
        out.append(VisitorRecord(patient.id, patient.name, patient.preferred_language, verified is not None))
    return out


# --- one-time codes ----------------------------------------------------------------------------


class CodeRequest(msgspec.Struct, frozen=True):
    visitor: Visitor
    kind: ProofKind
    address: str  # normalised
    code_hash: str
    expires_at: datetime
    body: str  # the SMS text, or the whole rendered mail
    clinic_phone: str
    origin: Origin


class CodeSent(msgspec.Struct):
    kind: ProofKind
    to: str  # masked
    expires_at: datetime


def request_code(tx: Tx, item: CodeRequest) -> CodeSent:
    s = tx.session
    point = _visitor_point(tx, item.visitor)
    owner = s.execute(
        select(ContactPoint).where(ContactPoint.kind == item.kind, ContactPoint.address == item.address)
    ).scalar_one_or_none()
    if item.kind == "phone" and owner is not None and owner.opted_out_at is not None:
        raise Refused(409, OPTED_OUT_NUMBER, phone=item.clinic_phone)
    now = utcnow()
    # A new code replaces any earlier one still waiting.
    s.execute(
        update(WebchatVerification)
        .where(
            WebchatVerification.contact_point_id == point.id,
            WebchatVerification.verified_at.is_(None),
            WebchatVerification.expires_at > now,
        )
        .values(expires_at=now)
    )
    s.add(
        WebchatVerification(
            contact_point_id=point.id,
            kind=item.kind,
            address=item.address,
            code_hash=item.code_hash,
            attempts=0,
            created_at=now,
            expires_at=item.expires_at,
        )
    )
    enqueue_code(tx, "sms" if item.kind == "phone" else "email", item.address, item.body)
    to = mask(item.kind, item.address)
    # On the trail of the patient who owns the address, if any: someone asked to be linked to them.
    add_audit(
        tx,
        AuditRecord(
            AuditAction.WEBCHAT_CODE_SENT,
            None,
            item.origin,
            owner.patient_id if owner else point.patient_id,
            detail={"kind": item.kind, "to": to, "visitor_patient_id": point.patient_id},
        ),
    )
    return CodeSent(item.kind, to, item.expires_at)


request_codes = one_by_one(request_code)


class CodeAttempt(msgspec.Struct, frozen=True):
    visitor: Visitor
    code: str
    key: bytes
    max_attempts: int
    clinic_phone: str
    origin: Origin


class WrongCode(msgspec.Struct):
    tries_left: int


class Linked(msgspec.Struct):
    """The visitor proved the address; their record is now `patient_id`'s."""

    kind: ProofKind
    to: str  # masked
    patient_id: int
    merged_from: int | None
    signal: VisitorLinkedSignal | None  # to send after commit when the visitor changed patient


def confirm_code(tx: Tx, item: CodeAttempt) -> Linked | WrongCode:
    s = tx.session
    point = _visitor_point(tx, item.visitor)
    v = s.execute(
        select(WebchatVerification)
        .where(WebchatVerification.contact_point_id == point.id, WebchatVerification.verified_at.is_(None))
        .order_by(WebchatVerification.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    now = utcnow()
    if v is None or v.expires_at <= now:
        raise Refused(410, NO_CODE)
    if v.attempts >= item.max_attempts:
        raise Refused(429, TOO_MANY_WRONG)
    v.attempts += 1  # a wrong guess is committed too: that is what bounds guessing
    if not hmac.compare_digest(v.code_hash, code_hash(item.key, v.kind, v.address, item.code)):
        return WrongCode(item.max_attempts - v.attempts)
    if not _may_link(tx, point, v.kind, v.address):
        # Proving a second address must not pour one patient's record into another's (a relative
        # who proved Mum's phone, then their own email): the code is spent, staff link by hand.
        v.expires_at = now
        raise Refused(409, ALREADY_LINKED, phone=item.clinic_phone)
    v.verified_at = now
    return _link(tx, point, v.kind, v.address, item.origin)  # type: ignore[arg-type]


def _may_link(tx: Tx, visitor_point: ContactPoint, kind: str, address: str) -> bool:
    """Linking merges the visitor's record into the address owner's: only while the visitor's
    record is still a visitor's own (nothing but web-chat or portal contact points)."""
    s = tx.session
    owner = s.execute(
        select(ContactPoint.patient_id).where(ContactPoint.kind == kind, ContactPoint.address == address)
    ).scalar_one_or_none()
    if owner is None or owner == visitor_point.patient_id:
        return True
    other = s.execute(
        select(ContactPoint.id).where(
            ContactPoint.patient_id == visitor_point.patient_id, ContactPoint.kind.not_in(VISITOR_KINDS)
        )
    ).first()
    return other is None


confirm_codes = one_by_one(confirm_code)


def _link(tx: Tx, visitor_point: ContactPoint, kind: ProofKind, address: str, origin: Origin) -> Linked:
    s = tx.session
    visitor_patient = visitor_point.patient_id
    owner = s.execute(
        select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.address == address)
    ).scalar_one_or_none()
    merged_from = None
    if owner is None:  # nobody has this address yet: now the visitor does, proven
        s.add(ContactPoint(patient_id=visitor_patient, kind=kind, address=address, verified=True))
        patient_id = visitor_patient
    else:
        owner.verified = True
        patient_id = owner.patient_id
        if patient_id != visitor_patient:
            _merge(tx, visitor_patient, patient_id)
            merged_from = visitor_patient
    s.flush()
    to = mask(kind, address)
    conv = _webchat_conversation(tx, patient_id)
    if conv is not None:
        append_event(
            tx,
            conv,
            EventKind.CONTACT_VERIFIED,
            author_type=AuthorType.PATIENT,
            channel="webchat",
            data={"kind": kind, "address": address, "merged_from": merged_from},
        )
    add_audit(
        tx,
        AuditRecord(
            AuditAction.WEBCHAT_VERIFIED,
            None,
            origin,
            patient_id,
            conv.id if conv else None,
            {"kind": kind, "to": to, "merged_from": merged_from},
        ),
    )
    signal = (
        VisitorLinkedSignal(visitor_point.kind, visitor_point.address, patient_id) if merged_from is not None else None
    )
    return Linked(kind, to, patient_id, merged_from, signal)


def _webchat_conversation(tx: Tx, patient_id: int) -> Conversation | None:
    """The conversation the visitor is chatting in: the patient's latest open one on web chat."""
    return tx.session.execute(
        select(Conversation)
        .where(
            Conversation.patient_id == patient_id,
            Conversation.status != ConversationStatus.RESOLVED,
            (Conversation.channel == "webchat") | (Conversation.last_inbound_channel == "webchat"),
        )
        .order_by(Conversation.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()


def _merge(tx: Tx, source: int, target: int) -> None:
    """Everything of patient `source` becomes patient `target`'s, the way staff merge records
    (hub/patients/merge.py): every moved row listed, so a wrong link can be undone."""
    move_records(tx, source, target, None, "web-chat visitor proved an address")

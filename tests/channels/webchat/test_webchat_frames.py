"""What a web-chat visitor sees of a timeline event (pure), and their tokens."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from hub.events import AuthorType, EventKind, TimelineEventOut, VisitorMessageFrame
from hub.webchat.frames import visitor_frame
from hub.webchat.tokens import BadToken, issue, portal_identity_ok, portal_signature, verify

AT = datetime(2026, 11, 23, 15, 4, 5, tzinfo=UTC)


def _event(kind: EventKind, channel: str | None, author: AuthorType, **kw: object) -> TimelineEventOut:
    values: dict = dict(
        seq=41,
        kind=kind,
        conversation_id=7,
        patient_id=3,
        channel=channel,
        author_type=author,
        author_id=None,
        author_name=None,
        text="Hola",
        attachments=[],
        provider_message_id=None,
        data={},
        created_at=AT,
    )
    values.update(kw)
    return TimelineEventOut(**values)


CASES = [
    (
        "the visitor's own message keeps the widget's id",
        _event(EventKind.MESSAGE_IN, "webchat", AuthorType.PATIENT, provider_message_id="webchat:v_abcdefgh/m-123456"),
        VisitorMessageFrame(41, "m-123456", "you", None, "Hola", AT),
    ),
    (
        "an agent's reply shows only the first name",
        _event(EventKind.MESSAGE_OUT, "webchat", AuthorType.AGENT, author_id=2, author_name="Ana María Agent"),
        VisitorMessageFrame(41, None, "agent", "Ana", "Hola", AT),
    ),
    (
        "the bot",
        _event(EventKind.MESSAGE_OUT, "webchat", AuthorType.BOT),
        VisitorMessageFrame(41, None, "bot", None, "Hola", AT),
    ),
    (
        "a system message is the clinic's",
        _event(EventKind.MESSAGE_OUT, "webchat", AuthorType.SYSTEM),
        VisitorMessageFrame(41, None, "clinic", None, "Hola", AT),
    ),
    ("an internal note never", _event(EventKind.NOTE, None, AuthorType.AGENT, author_name="Ana Agent"), None),
    ("an SMS never", _event(EventKind.MESSAGE_IN, "sms", AuthorType.PATIENT), None),
    ("a reply by email never", _event(EventKind.MESSAGE_OUT, "email", AuthorType.AGENT), None),
    ("an assignment never", _event(EventKind.ASSIGNMENT, None, AuthorType.AGENT, text=None), None),
    ("a delivery report never", _event(EventKind.DELIVERY_STATUS, "webchat", AuthorType.SYSTEM), None),
    ("a verification never", _event(EventKind.CONTACT_VERIFIED, "webchat", AuthorType.PATIENT), None),
]


@pytest.mark.parametrize(("about", "event", "expected"), CASES, ids=[c[0] for c in CASES])
def test_visitor_frame(about: str, event: TimelineEventOut, expected: VisitorMessageFrame | None) -> None:
    assert visitor_frame(event) == expected


# An anonymous visitor (contact point 5) sees their own chat only; a portal user (None) all of it.
IN, OUT, WEB = EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT, "webchat"
PATIENT, AGENT = AuthorType.PATIENT, AuthorType.AGENT
OWN = [
    ("what they wrote", _event(IN, WEB, PATIENT, data={"via": 5}), 5, True),
    ("what another browser wrote", _event(IN, WEB, PATIENT, data={"via": 6}), 5, False),
    ("a reply to them", _event(OUT, WEB, AGENT, data={"to": 5}), 5, True),
    ("a reply to another browser", _event(OUT, WEB, AuthorType.BOT, data={"to": 6}), 5, False),
    ("a reply to no visitor", _event(OUT, WEB, AGENT, data={"to": None}), 5, False),
    ("a reply naming nobody", _event(OUT, WEB, AGENT), 5, False),
    ("a portal user: another browser's", _event(IN, WEB, PATIENT, data={"via": 6}), None, True),
    ("a portal user: a reply to no visitor", _event(OUT, WEB, AGENT, data={"to": None}), None, True),
]


@pytest.mark.parametrize(("about", "event", "point", "shown"), OWN, ids=[c[0] for c in OWN])
def test_a_visitor_sees_their_own_chat(about: str, event: TimelineEventOut, point: int | None, shown: bool) -> None:
    assert (visitor_frame(event, point) is not None) is shown


def test_tokens_round_trip_and_refuse_tampering_and_age() -> None:
    token, visitor = issue("s3cret", "webchat", "v_abcdefgh", 60, now=1_000_000)
    assert verify("s3cret", token, now=1_000_030) == visitor
    payload, sig = token.split(".")
    for bad in (f"{payload}.{sig[:-1]}A", f"{payload[:-2]}xx.{sig}", "nodot", "", token + "."):
        with pytest.raises(BadToken):
            verify("s3cret", bad, now=1_000_030)
    with pytest.raises(BadToken, match="invalid"):
        verify("other-secret", token, now=1_000_030)
    with pytest.raises(BadToken, match="expired"):
        verify("s3cret", token, now=1_000_061)


def test_portal_signatures_are_what_the_clinic_computes() -> None:
    expected = hmac.new(b"clinic-key", b"4471", hashlib.sha256).hexdigest()
    assert portal_signature("clinic-key", "4471") == expected
    assert portal_identity_ok("clinic-key", "4471", expected.upper())
    assert not portal_identity_ok("clinic-key", "4472", expected)
    assert not portal_identity_ok("", "4471", portal_signature("", "4471"))  # not set up: nobody is a portal user

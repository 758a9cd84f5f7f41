"""Replies by email through a real relay (aiosmtpd): multipart text and HTML, our Message-ID
recorded, the thread's In-Reply-To and References, the reply address in Reply-To; STARTTLS and
implicit TLS with AUTH; a relay that is down or refuses for now is retried, one that refuses for
good fails the message visibly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import Staff
from tests.support.mail import CLINIC_FROM, DOMAIN, fixture_mail, mail_settings, rows, send_mail
from tests.support.server import HubServer, free_port
from tests.support.smtp_sink import SmtpSink

FIRST_ID = "CAKx8Pz9kq3Jf0vYqfLm2yT1s-_uQa7Wm4Vb9e3cD1fGhJ2k@mail.gmail.com"
LOGIN = ("puente", "relay-password")


def _wait(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _start(settings: Any) -> HubServer:
    return HubServer(settings).start()


def _patient_writes(srv: HubServer) -> dict[str, Any]:
    assert (
        send_mail(srv.settings.email.listen_port, fixture_mail("gmail_first_en"), "linh.tran.sf@gmail.com").code == 250
    )
    (seq, conv, patient) = rows(
        srv.settings,
        "SELECT message_seq, conversation_id, patient_id FROM email_messages WHERE message_id = ?",
        FIRST_ID,
    )[0]
    return {"seq": seq, "conversation_id": conv, "patient_id": patient}


def _reply(srv: HubServer, conversation_id: int, text: str) -> dict[str, Any]:
    r = Staff(srv.base_url, "ana").post(
        f"/api/conversations/{conversation_id}/messages", json={"text": text, "channel": "email"}
    )
    assert r.status_code == 201, r.text
    return r.json()


def _message(srv: HubServer, patient_id: int, seq: int) -> dict[str, Any]:
    events = Staff(srv.base_url, "sofia").get(f"/api/patients/{patient_id}/timeline").json()["events"]
    return next(e for e in events if e["seq"] == seq)


def _deliveries(srv: HubServer, seq: int) -> list[tuple[str, str | None]]:
    out = []
    for (data,) in rows(srv.settings, "SELECT data FROM timeline_events WHERE kind = 'delivery_status' ORDER BY seq"):
        import json

        d = json.loads(data)
        if d["message_seq"] == seq:
            out.append((d["status"], d["error"]))
    return out


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


@pytest.fixture
def mail_hub(tmp_path: Path, sink: SmtpSink) -> Iterator[HubServer]:
    srv = _start(mail_settings(tmp_path, sink.port))
    yield srv
    srv.stop()


def test_a_reply_is_multipart_threaded_and_recorded(mail_hub: HubServer, sink: SmtpSink) -> None:
    first = _patient_writes(mail_hub)
    reply = _reply(mail_hub, first["conversation_id"], "Hi Linh,\n\nTuesday at 10:00 is free. Shall we book it?")
    assert reply["data"]["status"] == "queued" and reply["data"]["email"]["subject"] == "Re: Check-up appointment"
    (mail,) = sink.wait_for(1)
    assert sink.envelopes == [(CLINIC_FROM, ["linh.tran.sf@gmail.com"])]
    assert str(mail["From"]) == f"Puente Demo Clinic <{CLINIC_FROM}>" and str(mail["To"]) == "linh.tran.sf@gmail.com"
    assert str(mail["Subject"]) == "Re: Check-up appointment"
    message_id = str(mail["Message-ID"]).strip("<>")
    assert message_id.endswith(f"@{DOMAIN}") and message_id == reply["data"]["email"]["message_id"]
    assert str(mail["In-Reply-To"]) == f"<{FIRST_ID}>" and str(mail["References"]) == f"<{FIRST_ID}>"
    (token,) = rows(mail_hub.settings, "SELECT token FROM email_reply_tokens WHERE conversation_id = ?",
                    first["conversation_id"])[0]  # fmt: skip
    assert str(mail["Reply-To"]) == f"reply+{token}@{DOMAIN}" and len(token) == 16
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = mail.iter_parts()
    assert (
        plain.get_content().replace("\r\n", "\n").strip() == "Hi Linh,\n\nTuesday at 10:00 is free. Shall we book it?"
    )
    assert html.get_content_type() == "text/html" and "<p>Hi Linh,</p>" in html.get_content()
    recorded = rows(mail_hub.settings, "SELECT direction, conversation_id, message_seq, refs FROM email_messages "
                    "WHERE message_id = ?", message_id)  # fmt: skip
    assert recorded == [("out", first["conversation_id"], reply["seq"], f'["{FIRST_ID}"]')]
    _wait(lambda: _message(mail_hub, first["patient_id"], reply["seq"])["data"]["status"] == "sent")
    assert _deliveries(mail_hub, reply["seq"]) == [("sent", None)]
    sent = Staff(mail_hub.base_url, "ana").get(f"/api/email/messages/{reply['seq']}/source").text
    assert f"Message-ID: <{message_id}>" in sent  # the reply's original: exactly what the relay got


def test_a_relay_that_is_down_is_retried_until_it_is_back(tmp_path: Path) -> None:
    port = free_port()
    srv = _start(mail_settings(tmp_path, port))  # nothing listens on the relay's port yet
    try:
        first = _patient_writes(srv)
        reply = _reply(srv, first["conversation_id"], "We will call you tomorrow.")
        # attempts counts at the claim; the failure is recorded once the connection was refused
        _wait(lambda: rows(srv.settings, "SELECT last_error FROM outbox WHERE message_seq = ?", reply["seq"])[0][0])
        attempts, state, error = rows(srv.settings, "SELECT attempts, state, last_error FROM outbox")[0]
        assert state in ("pending", "sending") and "could not reach the mail relay" in (error or "")
        with SmtpSink(port=port) as sink:  # the relay is back
            (mail,) = sink.wait_for(1, timeout=30)
            assert str(mail["Subject"]) == "Re: Check-up appointment"
            _wait(lambda: _message(srv, first["patient_id"], reply["seq"])["data"]["status"] == "sent")
        assert rows(srv.settings, "SELECT state FROM outbox") == [("sent",)]
    finally:
        srv.stop()


def test_a_relay_refusing_for_now_is_retried_and_the_reply_goes_once(mail_hub: HubServer, sink: SmtpSink) -> None:
    first = _patient_writes(mail_hub)
    sink.refuse_next("451 4.3.0 Mailbox busy, try again later")
    reply = _reply(mail_hub, first["conversation_id"], "Your forms are ready.")
    sink.wait_for(1, timeout=30)
    _wait(lambda: _message(mail_hub, first["patient_id"], reply["seq"])["data"]["status"] == "sent")
    time.sleep(0.3)
    assert len(sink.messages) == 1 and rows(mail_hub.settings, "SELECT attempts FROM outbox") == [(2,)]


def test_a_relay_refusing_for_good_fails_the_reply_visibly(mail_hub: HubServer, sink: SmtpSink) -> None:
    first = _patient_writes(mail_hub)
    sink.refuse_next("550 5.1.1 No such user here")
    reply = _reply(mail_hub, first["conversation_id"], "Your forms are ready.")
    message = _wait(
        lambda: (m := _message(mail_hub, first["patient_id"], reply["seq"]))["data"]["status"] == "failed" and m
    )
    assert message["data"]["error_code"] == "550" and "No such user here" in message["data"]["error"]
    assert _deliveries(mail_hub, reply["seq"]) == [("failed", message["data"]["error"])]
    assert sink.messages == [] and rows(mail_hub.settings, "SELECT state FROM outbox") == [("failed",)]


def test_email_replies_need_an_address_to_send_from(tmp_path: Path) -> None:
    settings = mail_settings(tmp_path, from_address="", domains=("clinic.test",))
    settings = replace(settings, smtp=replace(settings.smtp, from_address=""))
    srv = _start(settings)
    try:
        first = _patient_writes(srv)
        r = Staff(srv.base_url, "ana").post(
            f"/api/conversations/{first['conversation_id']}/messages", json={"text": "hi", "channel": "email"}
        )
        # said before anything is stored: a channel that is not set up is a 409 (hub/outbox/configured.py)
        assert r.status_code == 409 and "not set up" in r.json()["detail"]
        assert rows(srv.settings, "SELECT count(*) FROM outbox") == [(0,)]
    finally:
        srv.stop()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_through_a_relay_with_tls_and_auth(tmp_path: Path, certificate: tuple[str, str], security: str) -> None:
    with SmtpSink(cert=certificate, implicit_tls=security == "tls", login=LOGIN) as sink:
        settings = mail_settings(tmp_path, sink.port)
        smtp = replace(settings.smtp, security=security, username=LOGIN[0], password=LOGIN[1], ca_file=certificate[0])
        srv = _start(replace(settings, smtp=smtp))
        try:
            first = _patient_writes(srv)
            reply = _reply(srv, first["conversation_id"], "Sent over TLS.")
            (mail,) = sink.wait_for(1)
            assert sink.sessions == [{"tls": True, "login": LOGIN[0]}]
            assert str(mail["In-Reply-To"]) == f"<{FIRST_ID}>"
            _wait(lambda: _message(srv, first["patient_id"], reply["seq"])["data"]["status"] == "sent")
        finally:
            srv.stop()


def test_a_relay_with_the_wrong_password_is_retried_not_lost(tmp_path: Path, certificate: tuple[str, str]) -> None:
    with SmtpSink(cert=certificate, login=LOGIN) as sink:
        settings = mail_settings(tmp_path, sink.port)
        smtp = replace(settings.smtp, security="starttls", username="puente", password="wrong", ca_file=certificate[0])
        srv = _start(replace(settings, smtp=smtp))
        try:
            first = _patient_writes(srv)
            reply = _reply(srv, first["conversation_id"], "Will you get this?")
            _wait(lambda: rows(srv.settings, "SELECT last_error FROM outbox WHERE message_seq = ?", reply["seq"])[0][0])
            (error,) = rows(srv.settings, "SELECT last_error FROM outbox")[0]
            assert "the mail relay refused" in error and sink.messages == []
        finally:
            srv.stop()

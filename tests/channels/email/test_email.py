"""Email in over real SMTP (aiosmtplib against the hub's own listener), out through a real relay
(aiosmtpd): domains, size, ack after commit, charsets, MIME structures, attachments, quoted
history, the original, auto-replies, bounces, threading, duplicates, the reopen rule, bad mail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.clients import Staff
from tests.support.mail import (
    DOMAIN,
    fixture_mail,
    mail_settings,
    rows,
    send_mail,
    simple_mail,
)
from tests.support.server import HubServer
from tests.support.services import PostgresDatabase
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


@pytest.fixture
def mail_hub(tmp_path: Path, sink: SmtpSink, request: pytest.FixtureRequest) -> Iterator[HubServer]:
    srv = HubServer(mail_settings(tmp_path, sink.port, **getattr(request, "param", {}))).start()
    yield srv
    srv.stop()


def _port(srv: HubServer) -> int:
    return srv.settings.email.listen_port


def _wait(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _event(srv: HubServer, seq: int) -> dict[str, Any]:
    patient_id = rows(srv.settings, "SELECT patient_id FROM timeline_events WHERE seq = ?", seq)[0][0]
    events = Staff(srv.base_url, "sofia").get(f"/api/patients/{patient_id}/timeline").json()["events"]
    return next(e for e in events if e["seq"] == seq)


def _inbound(srv: HubServer, message_id: str) -> dict[str, Any]:
    (seq,) = rows(srv.settings, "SELECT message_seq FROM email_messages WHERE message_id = ?", message_id)[0]
    return _event(srv, seq)


def _reply(srv: HubServer, conversation_id: int, text: str, login: str = "ana") -> dict[str, Any]:
    r = Staff(srv.base_url, login).post(
        f"/api/conversations/{conversation_id}/messages", json={"text": text, "channel": "email"}
    )
    assert r.status_code == 201, r.text
    return r.json()


def _status(srv: HubServer, seq: int) -> str:
    return _event(srv, seq)["data"]["status"]


# --- the listener ------------------------------------------------------------------------------


def test_mail_for_other_domains_is_refused_and_nothing_is_stored(mail_hub: HubServer) -> None:
    raw = simple_mail("ana@example.org", "relay me", "relay-1@example.org", to="someone@elsewhere.test")
    answer = send_mail(_port(mail_hub), raw, "ana@example.org", ["someone@elsewhere.test"])
    assert answer.code == 550 and "5.7.1" in answer.message
    assert rows(mail_hub.settings, "SELECT count(*) FROM email_messages")[0][0] == 0
    ok = send_mail(_port(mail_hub), raw, "ana@example.org", [f"Care@{DOMAIN.upper()}"])  # domains ignore case
    assert ok.code == 250


@pytest.mark.parametrize("mail_hub", [{"max_bytes": 40_000}], indirect=True)
@pytest.mark.parametrize("declare_size", [True, False])
def test_oversized_mail_is_refused_with_552(mail_hub: HubServer, declare_size: bool) -> None:
    raw = simple_mail("big@example.org", "x" * 70 + ("\n" + "y" * 70) * 700, "big-1@example.org")
    answer = send_mail(_port(mail_hub), raw, "big@example.org", declare_size=declare_size)
    assert answer.code == 552
    assert rows(mail_hub.settings, "SELECT count(*) FROM email_messages")[0][0] == 0
    small = send_mail(_port(mail_hub), simple_mail("big@example.org", "short", "small-1@example.org"))
    assert small.code == 250  # and the listener keeps serving


def test_250_comes_only_once_the_message_is_committed(mail_hub: HubServer) -> None:
    raw = simple_mail("Ana Pérez <Ana.Perez@Example.org>", "Hola, quiero una cita.", "commit-1@example.org")
    answer = send_mail(_port(mail_hub), raw, "ana.perez@example.org")
    assert answer.code == 250
    # Read straight from the database file the instant the answer arrived: it is there.
    stored = rows(
        mail_hub.settings,
        "SELECT e.text, e.channel, c.address FROM timeline_events e JOIN contact_points c "
        "ON c.patient_id = e.patient_id WHERE e.provider_message_id = ?",
        "commit-1@example.org",
    )
    assert stored == [("Hola, quiero una cita.", "email", "ana.perez@example.org")]  # lower-cased address
    assert rows(mail_hub.settings, "SELECT name FROM patients WHERE id = (SELECT patient_id FROM contact_points "
                "WHERE address = 'ana.perez@example.org')") == [("Ana Pérez",)]  # fmt: skip


def test_the_same_message_id_lands_once(mail_hub: HubServer) -> None:
    raw = simple_mail("dup@example.org", "Once only", "dup-1@example.org")
    first = send_mail(_port(mail_hub), raw, "dup@example.org")
    again = send_mail(_port(mail_hub), raw, "dup@example.org")
    assert first.code == again.code == 250 and "already" in again.message
    events = rows(mail_hub.settings, "SELECT seq FROM timeline_events WHERE text = 'Once only'")
    assert len(events) == 1


# --- what mail looks like ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, sender, text, subject",
    [
        ("iso_8859_1", "ines.pena@telefonica.net", "Necesito cambiar la cita del jueves a la mañana.",
         "Cambio de cita del jueves"),
        ("windows_1252_undeclared", "lola.ruiz@yahoo.com", "farmacia “San José”? Gracias – Lola", "Receta"),
        ("shift_jis", "ken.sato@example.jp", "来週の火曜日に予約をお願いできますか。", "予約のお願い"),
        ("utf8_encoded_words", "zoe.dupont@proton.me", "Bonjour, is my prescription ready? 💊",
         "Question sur l’ordonnance 💊"),
    ],
)  # fmt: skip
def test_any_charset(mail_hub: HubServer, fixture: str, sender: str, text: str, subject: str) -> None:
    raw = fixture_mail(fixture)
    assert send_mail(_port(mail_hub), raw, sender).code == 250
    (mid,) = rows(mail_hub.settings, "SELECT message_id FROM email_messages")[0]
    event = _inbound(mail_hub, mid)
    assert text in event["text"] and event["data"]["email"]["subject"] == subject
    assert "\ufffd" not in event["text"]


def test_html_only_mail_is_text_in_the_timeline_and_sanitised_to_view(mail_hub: HubServer) -> None:
    assert send_mail(_port(mail_hub), fixture_mail("html_only"), "carmen.silva@yahoo.com.mx").code == 250
    event = _inbound(mail_hub, "2078163511.4412039.1767916800000@mail.yahoo.com")
    assert event["text"].startswith("Hola,\n\n¿A qué hora abren el sábado?")
    assert event["data"]["email"]["html"] is True
    r = Staff(mail_hub.base_url, "ana").get(f"/api/email/messages/{event['seq']}/html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "sandbox" in r.headers["content-security-policy"] and r.headers["x-content-type-options"] == "nosniff"
    assert "<b>sábado</b>" in r.text
    for bad in ("<script", "onload", "javascript:", "tracker.example"):
        assert bad not in r.text


def test_attachments_and_inline_images_are_stored_with_type_and_size(mail_hub: HubServer) -> None:
    assert send_mail(_port(mail_hub), fixture_mail("mixed_attachments"), "linh.tran.sf@gmail.com").code == 250
    assert send_mail(_port(mail_hub), fixture_mail("apple_reply_es"), "lucia.fernandez@me.com").code == 250
    ana = Staff(mail_hub.base_url, "ana")

    forms = _inbound(mail_hub, "CAKx8Pz-forms-9a8b7c6d@mail.gmail.com")
    pdf, docx = forms["attachments"]
    assert (pdf["content_type"], pdf["name"], pdf["size"], pdf["state"]) == (
        "application/pdf",
        "intake-forms.pdf",
        142,
        "stored",
    )
    assert docx["name"] == "historial médico.docx" and docx["size"] == 42
    assert docx["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    got = ana.get(pdf["url"])
    assert (
        got.status_code == 200 and got.content.startswith(b"%PDF-") and got.headers["content-type"] == "application/pdf"
    )
    got = ana.get(docx["url"])  # a type the hub cannot vouch for: a download that no browser renders
    assert got.headers["content-type"] == "application/octet-stream" and got.content.startswith(b"PK")
    assert "attachment" in got.headers["content-disposition"]

    photo = _inbound(mail_hub, "5C4B3A29-1807-4F6E-9D8C-7B6A5F4E3D2C@me.com")
    (png,) = photo["attachments"]
    assert (png["content_type"], png["name"], png["size"]) == ("image/png", "receta.png", 70)
    assert photo["data"]["email"]["inline_images"] == 1
    got = ana.get(png["url"])
    assert got.headers["content-type"] == "image/png" and got.content.startswith(b"\x89PNG")
    media = rows(mail_hub.settings, "SELECT channel, state, size, content_type FROM media ORDER BY id")
    assert media == [
        ("email", "stored", 142, "application/pdf"),
        ("email", "stored", 42, "application/octet-stream"),
        ("email", "stored", 70, "image/png"),
    ]


def test_the_original_is_viewable_by_staff_only_and_every_view_is_audited(mail_hub: HubServer) -> None:
    raw = fixture_mail("gmail_reply_es")
    assert send_mail(_port(mail_hub), raw, "maria.gonzalez.84@gmail.com").code == 250
    event = _inbound(mail_hub, "CAF3nVb3Zr8Qp1Lk6Yw2Ne5Tx9Ms4Ug7Hd0Jc3Fa6Kb8Ve1@mail.gmail.com")
    assert event["text"] == "El martes a las 10 me viene bien. ¡Gracias!\n\nMaría"
    assert event["data"]["email"]["quote_stripped"] is True
    url = f"/api/email/messages/{event['seq']}/source"
    assert httpx.get(mail_hub.base_url + url).status_code == 401
    r = Staff(mail_hub.base_url, "ana").get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert (
        r.headers["content-security-policy"].startswith("sandbox") and r.headers["cache-control"] == "private, no-store"
    )
    assert "escribi=C3=B3:" in r.text and "> Hola Mar=C3=ADa" in r.text  # the quoted history, as it came
    eml = Staff(mail_hub.base_url, "ana").get(url, params={"download": "true"})
    assert eml.content == raw and "attachment" in eml.headers["content-disposition"]
    audit = rows(mail_hub.settings, "SELECT action, patient_id FROM audit_log WHERE action = 'email.original_read'")
    assert audit == [("email.original_read", event["patient_id"])] * 2
    assert Staff(mail_hub.base_url, "ana").get("/api/email/messages/999999/source").status_code == 404


# --- threads ------------------------------------------------------------------------------------


def _first_and_reply(
    srv: HubServer, sink: SmtpSink, address: str = "linh.tran.sf@gmail.com"
) -> tuple[dict, EmailMessage]:
    assert send_mail(_port(srv), fixture_mail("gmail_first_en"), address).code == 250
    first = _inbound(srv, "CAKx8Pz9kq3Jf0vYqfLm2yT1s-_uQa7Wm4Vb9e3cD1fGhJ2k@mail.gmail.com")
    _reply(srv, first["conversation_id"], "Hi Linh, we have Tuesday at 10:00. Does that suit you?")
    (mail,) = sink.wait_for(1)
    return first, mail


def _token(mail: EmailMessage) -> str:
    return str(mail["Reply-To"]).split("+", 1)[1].split("@", 1)[0]


def test_the_reply_token_alone_threads_a_reply(mail_hub: HubServer, sink: SmtpSink) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    token = _token(ours)
    raw = simple_mail("linh.tran.sf@gmail.com", "Yes, Tuesday.", "tok-1@mail.gmail.com", to=f"reply+{token}@{DOMAIN}")
    assert send_mail(_port(mail_hub), raw, "linh.tran.sf@gmail.com", [f"reply+{token}@{DOMAIN}"]).code == 250
    event = _inbound(mail_hub, "tok-1@mail.gmail.com")
    assert event["conversation_id"] == first["conversation_id"]
    assert event["data"]["email"]["thread"] == "reply_token"


def test_in_reply_to_threads_a_reply_sent_to_the_plain_address(mail_hub: HubServer, sink: SmtpSink) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    ours_id = str(ours["Message-ID"]).strip("<>")
    raw = simple_mail("linh.tran.sf@gmail.com", "Tuesday is fine.", "irt-1@mail.gmail.com",
                      headers={"In-Reply-To": f"<{ours_id}>"})  # fmt: skip
    assert send_mail(_port(mail_hub), raw, "linh.tran.sf@gmail.com").code == 250
    event = _inbound(mail_hub, "irt-1@mail.gmail.com")
    assert event["conversation_id"] == first["conversation_id"] and event["data"]["email"]["thread"] == "in_reply_to"


def test_a_reply_address_used_by_someone_else_links_no_one(mail_hub: HubServer, sink: SmtpSink) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    token = _token(ours)
    raw = simple_mail("Linh Tran <someone.else@example.net>", "I found this address", "other-1@example.net",
                      to=f"reply+{token}@{DOMAIN}")  # fmt: skip
    assert send_mail(_port(mail_hub), raw, "someone.else@example.net", [f"reply+{token}@{DOMAIN}"]).code == 250
    event = _inbound(mail_hub, "other-1@example.net")
    assert event["patient_id"] != first["patient_id"] and event["conversation_id"] != first["conversation_id"]
    assert event["data"]["email"]["thread"] is None


def _resolve(srv: HubServer, conversation_id: int) -> None:
    r = Staff(srv.base_url, "ana").post(f"/api/conversations/{conversation_id}/status", json={"status": "resolved"})
    assert r.status_code == 201, r.text


def test_a_reply_soon_after_resolution_reopens_the_conversation(mail_hub: HubServer, sink: SmtpSink) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    _resolve(mail_hub, first["conversation_id"])
    raw = fixture_mail("gmail_reply_en", ours=str(ours["Message-ID"]).strip("<>"), token=_token(ours))
    assert send_mail(_port(mail_hub), raw, "linh.tran.sf@gmail.com").code == 250
    event = _inbound(mail_hub, "CAKx8Pz_Lm3Yt5NbW0xv2Q9e7uHr4sJkP1cVa8dE6fTgWy0z@mail.gmail.com")
    assert event["conversation_id"] == first["conversation_id"] and event["data"]["email"]["reopened"] is True
    conv = Staff(mail_hub.base_url, "ana").get(f"/api/conversations/{first['conversation_id']}").json()
    assert conv["status"] == "open" and conv["resolved_at"] is None
    reopened = rows(mail_hub.settings, "SELECT data FROM timeline_events WHERE kind = 'status_change' ORDER BY seq")[-1]
    assert '"reason": "email_reply"' in reopened[0] and '"to": "open"' in reopened[0]


@pytest.mark.parametrize("mail_hub", [{"reopen_days": 0}], indirect=True)
def test_a_reply_long_after_resolution_opens_a_new_conversation(mail_hub: HubServer, sink: SmtpSink) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    _resolve(mail_hub, first["conversation_id"])
    raw = fixture_mail("gmail_reply_en", ours=str(ours["Message-ID"]).strip("<>"), token=_token(ours))
    assert send_mail(_port(mail_hub), raw, "linh.tran.sf@gmail.com").code == 250
    event = _inbound(mail_hub, "CAKx8Pz_Lm3Yt5NbW0xv2Q9e7uHr4sJkP1cVa8dE6fTgWy0z@mail.gmail.com")
    assert event["conversation_id"] != first["conversation_id"] and event["patient_id"] == first["patient_id"]
    assert event["data"]["email"]["follows_conversation"] == first["conversation_id"]
    old = Staff(mail_hub.base_url, "ana").get(f"/api/conversations/{first['conversation_id']}").json()
    assert old["status"] == "resolved"
    # The new conversation has its own reply address, and answers continue the patient's thread.
    _reply(mail_hub, event["conversation_id"], "Welcome back, Linh.")
    second = sink.wait_for(2)[1]
    assert _token(second) != _token(ours)
    assert str(second["In-Reply-To"]).strip("<>") == "CAKx8Pz_Lm3Yt5NbW0xv2Q9e7uHr4sJkP1cVa8dE6fTgWy0z@mail.gmail.com"


def test_an_open_conversation_takes_a_reply_to_an_older_resolved_thread(mail_hub: HubServer, sink: SmtpSink) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    _resolve(mail_hub, first["conversation_id"])
    fresh = simple_mail("linh.tran.sf@gmail.com", "New question", "new-1@mail.gmail.com", subject="Another thing")
    assert send_mail(_port(mail_hub), fresh, "linh.tran.sf@gmail.com").code == 250
    current = _inbound(mail_hub, "new-1@mail.gmail.com")["conversation_id"]
    raw = fixture_mail("gmail_reply_en", ours=str(ours["Message-ID"]).strip("<>"), token=_token(ours))
    assert send_mail(_port(mail_hub), raw, "linh.tran.sf@gmail.com").code == 250
    event = _inbound(mail_hub, "CAKx8Pz_Lm3Yt5NbW0xv2Q9e7uHr4sJkP1cVa8dE6fTgWy0z@mail.gmail.com")
    assert event["conversation_id"] == current != first["conversation_id"]
    old = Staff(mail_hub.base_url, "ana").get(f"/api/conversations/{first['conversation_id']}").json()
    assert old["status"] == "resolved"


# --- mail no person wrote -----------------------------------------------------------------------


def test_auto_replies_are_marked_and_never_reopen(mail_hub: HubServer, sink: SmtpSink) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    _resolve(mail_hub, first["conversation_id"])
    ours_id, token = str(ours["Message-ID"]).strip("<>"), _token(ours)
    raw = fixture_mail("outlook_auto_reply", ours=ours_id, token=token).replace(
        b"robert.kim@outlook.com", b"linh.tran.sf@gmail.com"
    )
    assert send_mail(_port(mail_hub), raw, "").code == 250  # vacation responders use the null sender
    event = _inbound(mail_hub, "SJ0PR11MB5678AUTO0001@SJ0PR11MB5678.namprd11.prod.outlook.com")
    assert event["data"]["auto_reply"] is True
    assert event["data"]["email"]["auto_reply_reason"] == "Auto-Submitted: auto-generated"
    assert event["conversation_id"] == first["conversation_id"]
    conv = Staff(mail_hub.base_url, "ana").get(f"/api/conversations/{first['conversation_id']}").json()
    assert conv["status"] == "resolved"
    person = _inbound(mail_hub, first["provider_message_id"])
    assert person["data"]["auto_reply"] is False


def test_a_bounce_fails_the_message_it_reports_on_and_creates_no_patient_message(
    mail_hub: HubServer, sink: SmtpSink
) -> None:
    first, ours = _first_and_reply(mail_hub, sink)
    seq = rows(mail_hub.settings, "SELECT message_seq FROM email_messages WHERE direction = 'out'")[0][0]
    _wait(lambda: _status(mail_hub, seq) == "sent")
    patients = rows(mail_hub.settings, "SELECT count(*) FROM patients")[0][0]
    inbound = "SELECT count(*) FROM timeline_events WHERE kind = 'message_in'"
    messages = rows(mail_hub.settings, inbound)
    dsn = fixture_mail("dsn_bounce", ours=str(ours["Message-ID"]).strip("<>"), token=_token(ours))
    assert send_mail(_port(mail_hub), dsn, "").code == 250
    message = _event(mail_hub, seq)
    assert message["data"]["status"] == "failed" and message["data"]["error_code"] == "5.1.1"
    assert "does not exist" in message["data"]["error"]
    assert rows(mail_hub.settings, "SELECT count(*) FROM patients")[0][0] == patients
    assert rows(mail_hub.settings, inbound) == messages  # no patient message from a mailer daemon
    kept = rows(mail_hub.settings, "SELECT kind, conversation_id FROM email_messages WHERE kind = 'bounce'")
    assert kept == [("bounce", first["conversation_id"])]


# --- bad mail -----------------------------------------------------------------------------------


def test_broken_mime_is_stored_with_what_could_be_read(mail_hub: HubServer) -> None:
    assert send_mail(_port(mail_hub), fixture_mail("broken_mime"), "tom.baker@example.net").code == 250
    event = _inbound(mail_hub, "broken-1@example.net")
    assert event["text"] == "Here is the photo of the rash on my arm."
    assert event["data"]["email"]["defects"] == ["broken_mime"]
    assert event["attachments"][0]["name"] == "rash.jpg"


def test_mislabelled_charsets_are_read_as_browsers_read_them(mail_hub: HubServer) -> None:
    """Labelled UTF-8 but written in Latin-1; labelled ISO-8859-1 but written in Windows-1252
    (Outlook); bytes no charset reads: replaced, and noted."""
    spanish = "Necesito cambiar la cita del jueves a la mañana. ¿Es posible?"
    outlook = "¿Tienen la “receta”? – Son 20 €, ‘más o menos’…"
    for mid, label, body in [
        ("latin1-1@example.org", b"utf-8", spanish.encode("latin-1")),
        ("cp1252-1@example.org", b"iso-8859-1", outlook.encode("cp1252")),
        ("bytes-1@example.org", b"utf-8", b"Dolor \x81\x8d\x8f\x90\x9d fuerte"),
    ]:
        raw = (
            simple_mail("bytes@example.org", "x", mid)
            .replace(b"charset=utf-8", b"charset=" + label)
            .replace(b"\r\n\r\nx\r\n", b"\r\n\r\n" + body + b"\r\n")
        )
        assert send_mail(_port(mail_hub), raw, "bytes@example.org").code == 250
    assert _inbound(mail_hub, "latin1-1@example.org")["text"] == spanish
    event = _inbound(mail_hub, "cp1252-1@example.org")
    assert event["text"] == outlook and event["data"]["email"]["defects"] == []
    event = _inbound(mail_hub, "bytes-1@example.org")
    assert event["text"] == "Dolor \ufffd\ufffd\ufffd\ufffd\ufffd fuerte"
    assert event["data"]["email"]["defects"] == ["undecodable_text"]


def test_no_from_uses_the_envelope_sender_else_is_refused(mail_hub: HubServer) -> None:
    raw = fixture_mail("no_from")
    answer = send_mail(_port(mail_hub), raw, "")
    assert answer.code == 550 and "5.1.7" in answer.message and "no sender" in answer.message
    assert send_mail(_port(mail_hub), raw, "Who.Sent@Example.net").code == 250
    event = _inbound(mail_hub, "nofrom-1@example.net")
    assert event["data"]["email"]["defects"] == ["no_from"]
    assert rows(mail_hub.settings, "SELECT address FROM contact_points WHERE patient_id = ?", event["patient_id"]) == [
        ("who.sent@example.net",)
    ]


def test_lines_longer_than_smtp_allows_are_accepted_and_kept(mail_hub: HubServer) -> None:
    """RFC 5321 caps a line at 998 octets; a relay folds longer ones, a direct sender may not. The
    message is taken whole: the line as it came, in the text shown and in the original."""
    words = " ".join(f"palabra{i}" for i in range(400))  # one line of 4,289 octets
    raw = simple_mail("long@example.org", f"Hola,\n{words}\nGracias", "long-1@example.org")
    answer = send_mail(_port(mail_hub), raw, "long@example.org")
    assert answer.code == 250, answer
    event = _inbound(mail_hub, "long-1@example.org")
    assert event["text"] == f"Hola,\n{words}\nGracias"
    got = Staff(mail_hub.base_url, "ana").get(f"/api/email/messages/{event['seq']}/source", params={"download": "true"})
    assert got.content == raw
    assert send_mail(_port(mail_hub), simple_mail("long@example.org", "ok", "long-2@example.org")).code == 250


def test_a_forwarded_message_and_named_inline_text_are_shown(mail_hub: HubServer) -> None:
    """A message/rfc822 at the top level (a forward sent as the message itself) and an inline
    text/plain part that carries a filename: their words are in the text, not only in a download."""
    forward = (
        b"From: Rosa Diaz <rosa.diaz@example.org>\r\nTo: care@clinic.test\r\nSubject: Fw: Lab\r\n"
        b"Message-ID: <fwd-top-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: Lab <lab@example.net>\r\nTo: rosa.diaz@example.org\r\nSubject: Results\r\n"
        b"Date: Mon, 5 Jan 2026 08:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Hemoglobin A1c: 7.9 %\r\n"
    )
    assert send_mail(_port(mail_hub), forward, "rosa.diaz@example.org").code == 250
    text = _inbound(mail_hub, "fwd-top-1@example.org")["text"]
    assert "Hemoglobin A1c: 7.9 %" in text and "Subject: Results" in text and "From: Lab <lab@example.net>" in text
    named = (
        b"From: Tom Baker <tom.baker@example.net>\r\nTo: care@clinic.test\r\nSubject: Question\r\n"
        b"Message-ID: <named-1@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset=utf-8; name="message.txt"\r\n'
        b'Content-Disposition: inline; filename="message.txt"\r\n\r\n'
        b"My knee is swollen again since the injection.\r\n"
    )
    assert send_mail(_port(mail_hub), named, "tom.baker@example.net").code == 250
    assert _inbound(mail_hub, "named-1@example.net")["text"] == "My knee is swollen again since the injection."


# --- the same on PostgreSQL ------------------------------------------------------------------------


def test_a_thread_a_duplicate_and_a_bounce_on_postgresql(tmp_path: Path, sink: SmtpSink) -> None:
    pg = PostgresDatabase()
    srv = HubServer(mail_settings(tmp_path, sink.port, db_url=pg.url)).start()
    try:
        port = _port(srv)
        assert send_mail(port, fixture_mail("outlook_reply_es"), "jose.martinez@hotmail.es").code == 250
        sofia = Staff(srv.base_url, "sofia")
        conv = next(c for c in sofia.get("/api/conversations").json()["conversations"] if c["channel"] == "email"
                    and c["patient_name"] == "José Martínez")  # fmt: skip
        events = sofia.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
        (first,) = [e for e in events if e["kind"] == "message_in"]
        assert first["text"].startswith("Buenas tardes:") and first["attachments"][0]["name"] == "tarjeta seguro.jpg"
        assert sofia.get(first["attachments"][0]["url"]).headers["content-type"] == "image/jpeg"
        assert send_mail(port, fixture_mail("outlook_reply_es"), "jose.martinez@hotmail.es").message.endswith(
            "already received"
        )
        _reply(srv, conv["id"], "Recibida, gracias.")
        (ours,) = sink.wait_for(1)
        token = str(ours["Reply-To"]).removeprefix("reply+").split("@")[0]
        raw = simple_mail("jose.martinez@hotmail.es", "Perfecto.", "pg-2@hotmail.es", to=f"reply+{token}@{DOMAIN}")
        assert send_mail(port, raw, "jose.martinez@hotmail.es", [f"reply+{token}@{DOMAIN}"]).code == 250
        dsn = fixture_mail("dsn_bounce", ours=str(ours["Message-ID"]).strip("<>"), token=token)
        assert send_mail(port, dsn, "").code == 250
        events = sofia.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
        inbound = [e for e in events if e["kind"] == "message_in"]
        assert [e["text"] for e in inbound] == [first["text"], "Perfecto."]
        assert {e["conversation_id"] for e in inbound} == {conv["id"]}
        out = next(e for e in events if e["kind"] == "message_out")
        assert out["data"]["status"] == "failed" and out["data"]["error_code"] == "5.1.1"
    finally:
        srv.stop()
        pg.drop()


def test_an_auto_reply_to_nothing_we_know_opens_nothing(mail_hub: HubServer) -> None:
    """A vacation responder answering a mail the hub sent outside any conversation (a one-time
    code to an address nobody wrote from): kept with its raw mail, no patient, no conversation."""
    auto = simple_mail("away@example.org", "I am out of the office until Monday.", "a-2@example.org",
                       subject="Automatic reply: Your code", headers={"Auto-Submitted": "auto-replied"})  # fmt: skip
    assert send_mail(_port(mail_hub), auto, "").code == 250
    kept = rows(
        mail_hub.settings,
        "SELECT kind, conversation_id, patient_id, message_seq, raw_sha256 IS NOT NULL FROM email_messages "
        "WHERE message_id = ?",
        "a-2@example.org",
    )
    assert kept == [("auto_reply", None, None, None, 1)]
    assert rows(mail_hub.settings, "SELECT count(*) FROM contact_points WHERE address = ?", "away@example.org") == [
        (0,)
    ]
    assert send_mail(_port(mail_hub), auto, "").code == 250  # sent twice: still one
    assert rows(mail_hub.settings, "SELECT count(*) FROM email_messages WHERE message_id = ?", "a-2@example.org") == [
        (1,)
    ]


# --- the assistant ------------------------------------------------------------------------------


def test_the_assistant_answers_people_but_never_auto_replies(tmp_path: Path) -> None:
    settings = mail_settings(tmp_path)
    srv = HubServer(replace(settings, bot=replace(settings.bot, enabled=True))).start()
    try:
        person = simple_mail("person@example.org", "Hello, what are your opening hours?", "p-1@example.org")
        auto = simple_mail("person@example.org", "I am out of the office until Monday.", "a-1@example.org",
                           subject="Automatic reply: Hello", headers={"Auto-Submitted": "auto-replied"})  # fmt: skip
        assert send_mail(_port(srv), person, "person@example.org").code == 250
        answers = "SELECT count(*) FROM timeline_events e JOIN contact_points c ON c.patient_id = e.patient_id " \
                  "WHERE e.kind = 'message_out' AND e.author_type = 'bot' AND c.address = ?"  # fmt: skip
        _wait(lambda: rows(srv.settings, answers, "person@example.org")[0][0] > 0)
        time.sleep(1.0)  # every answer to the question is out
        before = rows(srv.settings, answers, "person@example.org")[0][0]
        assert send_mail(_port(srv), auto, "").code == 250  # into the same open conversation
        event = _inbound(srv, "a-1@example.org")
        assert event["data"]["auto_reply"] is True
        assert event["conversation_id"] == _inbound(srv, "p-1@example.org")["conversation_id"]
        time.sleep(1.5)  # the assistant has had its turn on it
        assert rows(srv.settings, answers, "person@example.org") == [(before,)]
    finally:
        srv.stop()

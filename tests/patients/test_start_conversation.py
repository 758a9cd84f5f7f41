"""Staff write first, on a real hub with a local Twilio and a real SMTP server: a conversation opened
by the agent's message, stored once with its outbox row and sent; refused (nothing stored) when
the patient opted out, never agreed to texts, said no, has no such address, is not in the web chat,
or it is night where they live; refusals in the reader's language."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.channels.sms.test_sms_webhooks import _fields, _post
from tests.channels.webchat.test_webchat import _wait
from tests.patients.test_merge import sql
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import HubServer, hub_settings
from tests.support.smtp_sink import SmtpSink
from tests.support.webchat import VisitorClient


def zone_at(hour: int) -> str:
    """A time zone where it is about `hour` o'clock now (Etc/GMT-5 is five hours ahead of UTC)."""
    now = datetime.now(UTC).hour
    offset = next(h for h in range(-12, 15) if (now + h) % 24 == hour)
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


DAY, NIGHT = zone_at(12), zone_at(3)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def srv(tmp_path: Path, twilio: FakeTwilio, smtp: SmtpSink) -> Iterator[HubServer]:
    settings = hub_settings(tmp_path)
    settings = replace(
        settings,
        sms=replace(settings.sms, api_base_url=twilio.url),
        smtp=replace(settings.smtp, host="127.0.0.1", port=smtp.port, security="none", from_address="hola@clinic.test"),
    )
    server = HubServer(settings).start()
    yield server
    server.stop()


def _texted(srv: HubServer, phone: str, name: str = "Rosa Díaz") -> dict[str, Any]:
    """A patient who texted the clinic, whose conversation was then resolved."""
    with httpx.Client(base_url=srv.base_url, timeout=10) as http:
        body = {**inbound("Gracias", f"m-{phone}", address=phone, channel="sms", language="es")}
        body["from"]["name"] = name
        r = post_inbound(http, body).json()
    sofia = Staff(srv.base_url, "sofia")
    assert (
        sofia.post(f"/api/conversations/{r['conversation_id']}/status", json={"status": "resolved"}).status_code == 201
    )
    assert sofia.request("PATCH", f"/api/patients/{r['patient_id']}", json={"time_zone": DAY}).status_code == 200
    sofia.close()
    return r


def _stored(srv: HubServer, patient_id: int) -> tuple[list[Any], list[Any]]:
    events = sql(
        srv,
        "SELECT seq, conversation_id FROM timeline_events WHERE patient_id = :p AND kind = 'message_out'",
        {"p": patient_id},
    )
    outbox = sql(
        srv,
        "SELECT o.message_seq, o.channel, o.to_address FROM outbox o "
        "JOIN timeline_events e ON e.seq = o.message_seq WHERE e.patient_id = :p",
        {"p": patient_id},
    )
    return events, outbox


def test_an_agent_writes_first_by_sms_and_it_is_stored_once_then_sent(srv, twilio):
    p = _texted(srv, "+16505550191")
    pid = p["patient_id"]
    ana = Staff(srv.base_url, "ana")
    filled = ana.get(f"/api/patients/{pid}/templates/greeting", params={"channel": "sms"})
    assert filled.status_code == 200, filled.text
    assert filled.json()["locale"] == "es" and "Rosa" in filled.json()["text"]
    body = {"channel": "sms", "text": filled.json()["text"], "template": "greeting", "locale": "es"}
    r = ana.post(f"/api/patients/{pid}/conversations", json=body)
    assert r.status_code == 201, r.text
    started = r.json()
    assert started["conversation_id"] != p["conversation_id"] and started["to"] == "+16505550191"
    conv = ana.get(f"/api/conversations/{started['conversation_id']}").json()
    assert (conv["status"], conv["assignee_id"], conv["channel"]) == ("open", ana.me["id"], "sms")
    event = [e for e in ana.get(f"/api/patients/{pid}/timeline").json()["events"] if e["seq"] == started["seq"]][0]
    assert event["kind"] == "message_out" and event["data"]["template"] == "greeting"
    # Written twice (a double click): the second is refused, the first stored once.
    again = ana.post(f"/api/patients/{pid}/conversations", json=body)
    assert again.status_code == 409
    assert again.json()["problems"][0]["conversation_id"] == started["conversation_id"]
    events, outbox = _stored(srv, pid)
    assert events == [(started["seq"], started["conversation_id"])]
    assert outbox == [(started["seq"], "sms", "+16505550191")]
    sent = _wait(lambda: [x for x in twilio.requests if x["To"] == "+16505550191"])
    assert len(sent) == 1 and sent[0]["Body"] == filled.json()["text"]
    rows = sql(
        srv, "SELECT action FROM audit_log WHERE conversation_id = :c ORDER BY id", {"c": started["conversation_id"]}
    )
    assert [a for (a,) in rows][:2] == ["conversation.start", "message.send"]
    ana.close()


def test_refusals_store_nothing_and_speak_the_readers_language(srv):
    stop = _texted(srv, "+16505550192")
    with httpx.Client(base_url=srv.base_url, timeout=10) as http:
        r = _post(http, "/api/channels/sms/inbound", _fields("SMstop0001", "STOP", sender="+16505550192"))
        assert r.status_code == 200
    sofia = Staff(srv.base_url, "sofia")
    for conv in sofia.get(f"/api/patients/{stop['patient_id']}").json()["conversations"]:
        if conv["status"] != "resolved":  # the STOP opened one
            assert sofia.post(f"/api/conversations/{conv['id']}/status", json={"status": "resolved"}).status_code == 201
    ana = Staff(srv.base_url, "ana")
    # A patient the clinic added by hand: a phone and an email, and no word from them yet.
    added = _texted(srv, "+16505550193")
    pid = added["patient_id"]
    for kind, address in (("phone", "+16505550194"), ("email", "luz@example.org")):
        r = ana.post(f"/api/patients/{pid}/contact-points", json={"kind": kind, "address": address})
        assert r.status_code == 201, r.text
    (last_seq,) = sql(srv, "SELECT max(seq) FROM timeline_events")[0]
    conversations = sql(srv, "SELECT count(*) FROM conversations")
    cases = [
        (stop["patient_id"], {"channel": "sms", "text": "Hi"}, 409,
         "This number opted out of text messages: it cannot be written to.",
         "Este número pidió no recibir mensajes de texto: no se le puede escribir."),
        (pid, {"channel": "sms", "text": "Hi", "address": "(650) 555-0194"}, 409,
         "The patient has not agreed to text messages: record their consent first, or write by another channel.",
         "El paciente no ha aceptado mensajes de texto: registre primero su consentimiento o escriba por otro canal."),
        (pid, {"channel": "sms", "text": "Hi", "address": "+16505550100"}, 400,
         "+16505550100 is not one of this patient's addresses.",
         "+16505550100 no es una de las direcciones de este paciente."),
        (pid, {"channel": "webchat", "text": "Hi"}, 409,
         "The patient has never used the web chat.", "El paciente nunca ha usado el chat web."),
        (stop["patient_id"], {"channel": "email", "text": "Hi"}, 409,
         "The patient has no email address on file.", "El paciente no tiene correo electrónico registrado."),
        (pid, {"channel": "sms", "text": "x" * 1601}, 400,
         "A text message can be at most 1600 characters.",
         "Un mensaje de texto puede tener como máximo 1600 caracteres."),
    ]  # fmt: skip
    for patient, body, status, english, spanish in cases:
        r = ana.post(f"/api/patients/{patient}/conversations", json=body)
        assert (r.status_code, r.json()["detail"]) == (status, english), body
        r = ana.post(f"/api/patients/{patient}/conversations", json=body, headers={"accept-language": "es"})
        assert (r.status_code, r.json()["detail"]) == (status, spanish), body
    # Consent to email refused: no email either.
    r = ana.post(f"/api/patients/{pid}/consents", json={"channel": "email", "granted": False, "source": "said so"})
    assert r.status_code == 201
    r = ana.post(f"/api/patients/{pid}/conversations", json={"channel": "email", "text": "Hi"})
    assert (r.status_code, r.json()["detail"]) == (409, "The patient said no to email.")
    # At night where the patient lives: nothing unasked.
    assert sofia.request("PATCH", f"/api/patients/{pid}", json={"time_zone": NIGHT}).status_code == 200
    r = ana.post(f"/api/patients/{pid}/conversations", json={"channel": "sms", "text": "Hi"})
    assert r.status_code == 409 and f"for the patient ({NIGHT})" in r.json()["detail"]
    # Nothing was stored but the two changes to the record (the email consent, the time zone).
    kinds = sql(srv, "SELECT kind FROM timeline_events WHERE seq > :s ORDER BY seq", {"s": last_seq})
    assert kinds == [("profile_change",), ("profile_change",)]
    assert sql(srv, "SELECT count(*) FROM conversations") == conversations
    assert sql(srv, "SELECT count(*) FROM audit_log WHERE action = 'conversation.start'") == [(0,)]
    # Consent recorded by staff opens SMS to the number the patient never texted from.
    assert sofia.request("PATCH", f"/api/patients/{pid}", json={"time_zone": DAY}).status_code == 200
    r = ana.post(
        f"/api/patients/{pid}/consents", json={"channel": "sms", "granted": True, "source": "asked at the desk"}
    )
    assert r.status_code == 201
    r = ana.post(f"/api/patients/{pid}/conversations", json={"channel": "sms", "text": "Hi", "address": "+16505550194"})
    assert r.status_code == 201 and r.json()["to"] == "+16505550194"
    ana.close(), sofia.close()


def test_an_agent_writes_first_by_email(srv, smtp):
    p = _texted(srv, "+16505550195")
    ana = Staff(srv.base_url, "ana")
    r = ana.post(
        f"/api/patients/{p['patient_id']}/contact-points", json={"kind": "email", "address": "rosa@example.org"}
    )
    assert r.status_code == 201
    r = ana.post(f"/api/patients/{p['patient_id']}/conversations", json={"channel": "email", "text": "Hola Rosa"})
    assert r.status_code == 201, r.text
    started = r.json()
    events, outbox = _stored(srv, p["patient_id"])
    assert events == [(started["seq"], started["conversation_id"])]
    assert outbox == [(started["seq"], "email", "rosa@example.org")]
    (mail,) = smtp.wait_for(1)
    assert mail["To"] == "rosa@example.org" and "Hola Rosa" in mail.get_body(("plain",)).get_content()
    ana.close()


def test_web_chat_only_while_the_visitor_is_there(srv):
    visitor = VisitorClient(srv.base_url, srv.ws_url)
    visitor.start("Rosa Méndez", language="es")
    seq = visitor.send("Hola, ¿siguen ahí?").json()["seq"]
    ((pid, conv),) = sql(srv, "SELECT patient_id, conversation_id FROM timeline_events WHERE seq = :s", {"s": seq})
    ana = Staff(srv.base_url, "ana")
    assert ana.post(f"/api/conversations/{conv}/status", json={"status": "resolved"}).status_code == 201
    visitor.open()
    visitor.until(lambda f: f["type"] == "ready")
    # The visitor wrote a moment ago: they are there, and the message reaches their chat.
    r = ana.post(f"/api/patients/{pid}/conversations", json={"channel": "webchat", "text": "Sí, aquí estamos."})
    assert r.status_code == 201, r.text
    frame = visitor.until(lambda f: f["type"] == "message" and f["author"] == "agent")
    assert frame["text"] == "Sí, aquí estamos."
    visitor.close()
    # Long gone (their last message an hour ago): web chat is refused.
    assert (
        ana.post(f"/api/conversations/{r.json()['conversation_id']}/status", json={"status": "resolved"}).status_code
        == 201
    )
    an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    sql(srv, "UPDATE timeline_events SET created_at = :t WHERE patient_id = :p AND kind = 'message_in'",
        {"t": an_hour_ago, "p": pid})  # fmt: skip
    consent = {"channel": "webchat", "granted": True, "source": "said so in the chat"}
    assert ana.post(f"/api/patients/{pid}/consents", json=consent).status_code == 201  # agreeing is not being there
    r = ana.post(f"/api/patients/{pid}/conversations", json={"channel": "webchat", "text": "¿Hola?"})
    assert (r.status_code, r.json()["detail"]) == (
        409, "Nobody is in the web chat now: web chat reaches a patient only while they are there.")  # fmt: skip
    ana.close()

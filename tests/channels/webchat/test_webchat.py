"""Web chat on a real hub: visitors and agents live on both sides, tokens, proof of identity by
one-time codes (SMS through a local Twilio-speaking server, email through a real SMTP server),
portal users, limits and refusals."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import replace

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from hub.webchat.tokens import issue, portal_signature
from tests.channels.sms.test_sms_webhooks import _fields, _post
from tests.support.clients import Staff
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import HubServer, hub_settings
from tests.support.services import PostgresDatabase
from tests.support.smtp_sink import SmtpSink
from tests.support.stream import StreamClient
from tests.support.webchat import VisitorClient

PORTAL_SECRET = "clinic-portal-widget-secret"
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


def _chat_settings(tmp_path, twilio, smtp, db_url: str | None = None, **webchat):
    settings = hub_settings(tmp_path, db_url=db_url)
    return replace(
        settings,
        sms=replace(settings.sms, api_base_url=twilio.url),
        smtp=replace(settings.smtp, host="127.0.0.1", port=smtp.port, security="none", from_address="hola@clinic.test"),
        webchat=replace(settings.webchat, identity_secret=PORTAL_SECRET, **webchat),
    )


@pytest.fixture
def chat_hub(tmp_path, twilio, smtp, request):
    srv = HubServer(_chat_settings(tmp_path, twilio, smtp, **getattr(request, "param", {}))).start()
    yield srv
    srv.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def any_chat_hub(tmp_path, twilio, smtp, request):
    """The chat hub on each storage: the visitor's view is filtered in SQL too."""
    pg = PostgresDatabase() if request.param == "postgres" else None
    srv = HubServer(_chat_settings(tmp_path, twilio, smtp, db_url=pg.url if pg else None)).start()
    yield srv
    srv.stop()
    if pg:
        pg.drop()


def _visitor(srv: HubServer) -> VisitorClient:
    return VisitorClient(srv.base_url, srv.ws_url)


def _db(srv: HubServer, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(srv.settings.database.url.split("///", 1)[1]) as db:
        return db.execute(sql, args).fetchall()


def _agent_stream(srv: HubServer, staff: Staff) -> StreamClient:
    stream = StreamClient(srv.ws_url, staff, staff.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()
    return stream


def _until(stream: StreamClient, predicate, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = stream.recv(max(0.1, deadline - time.monotonic()))
        if predicate(frame):
            return frame


def _wait(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_visitor_and_agent_see_each_other_live(chat_hub):
    rosa = _visitor(chat_hub)
    session = rosa.start("Rosa Méndez", language="es")
    assert session["kind"] == "webchat" and session["verified"] is False and session["language"] == "es"
    rosa.open()
    assert rosa.recv() == {"type": "ready", "last_seq": 0, "read_upto": 0}
    ana = Staff(chat_hub.base_url, "ana")
    agent = _agent_stream(chat_hub, ana)

    sent = rosa.send("Hola, ¿puedo vacunarme contra la gripe sin cita?", "m-flu-0001")
    assert sent.status_code == 201 and sent.json()["id"] == "m-flu-0001" and not sent.json()["duplicate"]
    mine = rosa.until(lambda f: f["type"] == "message")
    assert mine["author"] == "you" and mine["id"] == "m-flu-0001" and mine["seq"] == sent.json()["seq"]
    inbound = _until(agent, lambda f: f["type"] == "event" and f["event"]["kind"] == "message_in")
    conv = inbound["conversation"]
    assert inbound["event"]["channel"] == "webchat" and conv["patient_name"] == "Rosa Méndez"

    # The visitor types: the agent sees it; the agent types: the visitor sees the agent's first name.
    rosa.say({"type": "typing"})
    typing = _until(agent, lambda f: f["type"] == "typing")
    assert typing == {
        "type": "typing",
        "conversation_id": conv["id"],
        "patient_id": conv["patient_id"],
        "agent_id": None,
        "name": None,
    }
    agent.ws.send(f'{{"type": "typing", "conversation_id": {conv["id"]}}}')
    assert rosa.until(lambda f: f["type"] == "typing") == {"type": "typing", "name": "Ana"}

    # Web chat is offered as a reply channel and is the default for this patient.
    patient = ana.get(f"/api/patients/{conv['patient_id']}").json()
    assert {"channel": "webchat", "reachable": True, "reason": None} in patient["reply_channels"]
    reply = ana.post(f"/api/conversations/{conv['id']}/messages", json={"text": "¡Claro, Rosa! De 9 a 5."})
    assert reply.status_code == 201 and reply.json()["channel"] == "webchat"
    assert reply.json()["data"]["status"] == "sent"
    answer = rosa.until(lambda f: f["type"] == "message" and f["author"] == "agent")
    assert answer["text"] == "¡Claro, Rosa! De 9 a 5." and answer["name"] == "Ana" and answer["id"] is None
    assert set(answer) == {"type", "seq", "id", "author", "name", "text", "created_at"}  # nothing about staff

    # The widget reports delivered, then read: both reach the inbox as delivery reports, forward only.
    rosa.say({"type": "receipt", "status": "delivered", "upto": answer["seq"]})
    rosa.say({"type": "receipt", "status": "read", "upto": answer["seq"]})
    rosa.say({"type": "receipt", "status": "delivered", "upto": answer["seq"]})  # late: changes nothing
    statuses = [
        _until(agent, lambda f: f["type"] == "event" and f["event"]["kind"] == "delivery_status")["event"]["data"]
        for _ in range(2)
    ]
    assert [(s["message_seq"], s["status"]) for s in statuses] == [
        (answer["seq"], "delivered"),
        (answer["seq"], "read"),
    ]
    time.sleep(0.3)
    events = ana.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
    assert [e["data"]["status"] for e in events if e["seq"] == answer["seq"]] == ["read"]
    assert sum(e["kind"] == "delivery_status" for e in events) == 2

    # The agent reads the conversation: the visitor's widget may say "Read".
    r = ana.post(f"/api/conversations/{conv['id']}/read", json={"upto": answer["seq"]})
    assert r.status_code == 200 and r.json()["read_upto"] == answer["seq"]
    assert rosa.until(lambda f: f["type"] == "read") == {"type": "read", "upto": answer["seq"]}
    again = ana.post(f"/api/conversations/{conv['id']}/read", json={"upto": 1})
    assert again.json()["read_upto"] is None  # never backwards
    rosa.close()
    agent.close()


def test_a_retried_message_lands_once_and_ids_never_cross_visitors(chat_hub):
    a, b = _visitor(chat_hub), _visitor(chat_hub)
    a.start("Visitor A")
    b.start("Visitor B")
    first = a.send("hello from A", "same-id-0001")
    retry = a.send("hello from A", "same-id-0001")
    other = b.send("hello from B", "same-id-0001")
    assert (first.status_code, retry.status_code, other.status_code) == (201, 200, 201)
    assert retry.json() == {**first.json(), "duplicate": True}
    assert other.json()["seq"] != first.json()["seq"]
    rows = _db(
        chat_hub,
        "SELECT text, patient_id FROM timeline_events WHERE channel = 'webchat' AND kind = 'message_in'"
        " AND provider_message_id LIKE '%/same-id-0001' ORDER BY seq",
    )
    assert [t for t, _ in rows] == ["hello from A", "hello from B"] and rows[0][1] != rows[1][1]


def test_a_reload_resumes_without_gap_or_duplicate(chat_hub):
    rosa = _visitor(chat_hub)
    rosa.start()
    seqs = [rosa.send(f"message {n}").json()["seq"] for n in range(3)]
    ana = Staff(chat_hub.base_url, "ana")
    conv_id = _db(chat_hub, "SELECT conversation_id FROM timeline_events WHERE seq = ?", seqs[0])[0][0]
    # A reload: a new socket with the same token, from the start.
    rosa.open(after=0)
    history = [rosa.recv() for _ in range(4)]
    assert [f.get("seq") for f in history[:3]] == seqs and history[3]["type"] == "ready"
    rosa.close()
    # Offline for a while: a reply and a message from another tab arrive meanwhile.
    reply = ana.post(f"/api/conversations/{conv_id}/messages", json={"text": "We are here", "channel": "webchat"})
    later = rosa.send("one more").json()["seq"]
    rosa.open(after=seqs[-1])
    frames = [rosa.recv() for _ in range(3)]
    assert [f.get("seq") for f in frames[:2]] == [reply.json()["seq"], later] and frames[2]["type"] == "ready"
    rosa.close()


def test_a_visitor_sees_only_their_own_web_chat(chat_hub):
    rosa, mallory = _visitor(chat_hub), _visitor(chat_hub)
    rosa.start("Rosa")
    mallory.start("Mallory")
    mallory.open()
    mallory.recv()  # ready
    seq = rosa.send("my private question").json()["seq"]
    conv_id = _db(chat_hub, "SELECT conversation_id FROM timeline_events WHERE seq = ?", seq)[0][0]
    sofia = Staff(chat_hub.base_url, "sofia")
    sofia.post(f"/api/conversations/{conv_id}/notes", json={"text": "internal: check her chart"})
    sofia.post(f"/api/conversations/{conv_id}/assign", json={"agent_id": sofia.me["id"]})
    sofia.post(f"/api/conversations/{conv_id}/messages", json={"text": "Answer for Rosa", "channel": "webchat"})
    rosa.open(after=0)
    seen = []
    while (frame := rosa.recv())["type"] != "ready":
        seen.append(frame)
    assert [(f["author"], f["text"]) for f in seen] == [("you", "my private question"), ("agent", "Answer for Rosa")]
    with pytest.raises(TimeoutError):
        mallory.recv(timeout=1.0)  # Mallory got nothing of Rosa's
    rosa.close()
    mallory.close()


def test_bad_tokens_and_bad_input_are_refused_and_store_nothing(chat_hub):
    http = httpx.Client(base_url=chat_hub.base_url, timeout=10)
    before = _db(chat_hub, "SELECT count(*) FROM timeline_events")[0][0]
    body = {"id": "m-0000000001", "text": "hi"}
    r = http.post("/api/webchat/messages", json=body)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    forged, _ = issue("not-the-hub-secret", "webchat", "v_forged_visitor", 3600)
    assert (
        http.post("/api/webchat/messages", json=body, headers={"authorization": f"Bearer {forged}"}).status_code == 401
    )
    expired, _ = issue(chat_hub.settings.security.secret, "webchat", "v_old_visitor_01", -10)
    assert (
        http.post("/api/webchat/messages", json=body, headers={"authorization": f"Bearer {expired}"}).status_code == 401
    )

    rosa = _visitor(chat_hub)
    rosa.start()
    cases = [
        ({"id": "m-0000000001", "text": "hi", "patient_id": 1}, 400, "unknown field"),
        ({"id": "no", "text": "hi"}, 400, "$.id"),
        ({"id": "m-0000000001", "text": "   "}, 400, "needs text"),
        ({"id": "m-0000000001", "text": "x" * 2001}, 400, "2000"),
        ({"id": "m-0000000001", "text": "a\x00b"}, 400, "NUL"),
    ]
    for payload, status, words in cases:
        r = rosa.post("/api/webchat/messages", json=payload)
        assert r.status_code == status and words in r.json()["detail"], (payload, r.text)
    r = rosa.post(
        "/api/webchat/messages", content=b"{" + b" " * 20000 + b"}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    r = http.post("/api/webchat/sessions", json={"name": "  "})
    assert r.status_code == 400 and "name" in r.json()["detail"]
    r = http.post("/api/webchat/sessions", json={"name": "x", "admin": True})
    assert r.status_code == 400
    assert _db(chat_hub, "SELECT count(*) FROM timeline_events")[0][0] == before

    # A socket without a hello, or with a forged token, is closed with a code saying why.
    with connect(f"{chat_hub.ws_url}/api/webchat/socket") as ws:
        ws.send('{"type": "typing"}')
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 4400
    with connect(f"{chat_hub.ws_url}/api/webchat/socket") as ws:
        ws.send(f'{{"type": "hello", "token": "{forged}"}}')
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 4401
    assert http.get("/api/health").status_code == 200  # and the hub keeps serving


def _sms_patient(srv: HubServer, phone: str = "+16505550161") -> int:
    http = httpx.Client(base_url=srv.base_url, timeout=10)
    assert _post(http, "/api/channels/sms/inbound", _fields("SMwc000001", "Hola", sender=phone)).status_code == 200
    return _db(srv, "SELECT patient_id FROM contact_points WHERE address = ?", phone)[0][0]


def _last_code(twilio: FakeTwilio, to: str) -> str:
    sms = _wait(lambda: [r for r in twilio.requests if r["To"] == to])
    return CODE.search(sms[-1]["Body"]).group(1)


def test_a_code_by_sms_links_the_visitor_to_the_patient_who_owns_the_number(chat_hub, twilio):
    maria = _sms_patient(chat_hub)
    visitor = _visitor(chat_hub)
    visitor.start("Maria G", language="es")
    seq = visitor.send("Hola, soy María").json()["seq"]
    visitor_patient = _db(chat_hub, "SELECT patient_id FROM timeline_events WHERE seq = ?", seq)[0][0]
    assert visitor_patient != maria  # typing a name or a number proves nothing
    visitor.open()
    visitor.until(lambda f: f["type"] == "ready")
    sofia = Staff(chat_hub.base_url, "sofia")
    agent = _agent_stream(chat_hub, sofia)

    assert visitor.post("/api/webchat/verifications/confirm", json={"code": "123456"}).status_code == 410
    r = visitor.post("/api/webchat/verifications", json={"phone": "(650) 555-0161"}, headers={"accept-language": "es"})
    assert r.status_code == 202 and r.json()["kind"] == "phone" and r.json()["to"] == "•••0161"
    sms = _wait(lambda: [x for x in twilio.requests if x["To"] == "+16505550161"])[-1]
    assert "código" in sms["Body"] and "Hola" not in sms["Body"]  # Spanish, and no patient data
    code = CODE.search(sms["Body"]).group(1)
    # The code is not kept once the provider took it (settled just after the provider answered).
    _wait(lambda: _db(chat_hub, "SELECT state, body FROM outbox WHERE purpose = 'code'") == [("sent", None)])
    assert code not in str(_db(chat_hub, "SELECT * FROM webchat_verifications"))

    wrong = "000000" if code != "000000" else "111111"
    r = visitor.post("/api/webchat/verifications/confirm", json={"code": wrong})
    assert r.status_code == 400 and "4" in r.json()["detail"]
    visitor_point = "SELECT patient_id FROM contact_points WHERE kind = 'webchat' AND address LIKE 'v\\_%' ESCAPE '\\'"
    assert _db(chat_hub, visitor_point) == [(visitor_patient,)]

    r = visitor.post("/api/webchat/verifications/confirm", json={"code": code})
    assert r.status_code == 200 and r.json() == {"verified": True, "kind": "phone", "to": "•••0161"}
    # Everything of the visitor is now María's: one patient, one timeline across SMS and web chat.
    assert _db(chat_hub, visitor_point) == [(maria,)]
    assert not _db(chat_hub, "SELECT 1 FROM contact_points WHERE patient_id = ?", visitor_patient)
    assert _db(chat_hub, "SELECT merged_into_id FROM patients WHERE id = ?", visitor_patient) == [(maria,)]
    timeline = sofia.get(f"/api/patients/{maria}/timeline").json()["events"]
    assert [(e["channel"], e["kind"]) for e in timeline] == [
        ("sms", "message_in"),
        ("webchat", "message_in"),
        ("webchat", "contact_verified"),
    ]
    verified = _until(agent, lambda f: f["type"] == "event" and f["event"]["kind"] == "contact_verified")
    assert verified["conversation"]["patient_id"] == maria
    assert verified["event"]["data"] == {"kind": "phone", "address": "+16505550161", "merged_from": visitor_patient}
    # The visitor's open socket is told to start again, and then follows María's record.
    assert visitor.until(lambda f: f["type"] == "resync")["type"] == "resync"
    visitor.close()
    visitor.open(after=0)
    frames = [visitor.recv() for _ in range(2)]
    assert frames[0]["text"] == "Hola, soy María" and frames[1]["type"] == "ready"
    actions = [a for (a,) in _db(chat_hub, "SELECT action FROM audit_log WHERE patient_id = ?", maria)]
    assert "webchat.code_sent" in actions and "webchat.verified" in actions
    visitor.close()
    agent.close()


def _prove_phone(srv: HubServer, twilio: FakeTwilio, visitor: VisitorClient, phone: str) -> httpx.Response:
    sent = len([r for r in twilio.requests if r["To"] == phone])
    assert visitor.post("/api/webchat/verifications", json={"phone": phone}).status_code == 202
    _wait(lambda: len([r for r in twilio.requests if r["To"] == phone]) > sent)  # this code, not an earlier one
    return visitor.post("/api/webchat/verifications/confirm", json={"code": _last_code(twilio, phone)})


def test_a_linked_chat_is_never_merged_into_a_second_patient(chat_hub, twilio):
    """A relative proves Mum's phone, then their own: Mum's record must not pour into theirs."""
    mum = _sms_patient(chat_hub, "+16505550161")
    http = httpx.Client(base_url=chat_hub.base_url, timeout=10)
    assert (
        _post(http, "/api/channels/sms/inbound", _fields("SMwc000002", "Hi", sender="+16505550162")).status_code == 200
    )
    relative = _db(chat_hub, "SELECT patient_id FROM contact_points WHERE address = '+16505550162'")[0][0]
    visitor = _visitor(chat_hub)
    visitor.start("Someone", language="en")
    assert _prove_phone(chat_hub, twilio, visitor, "+16505550161").status_code == 200  # now Mum's record
    r = _prove_phone(chat_hub, twilio, visitor, "+16505550162")
    assert r.status_code == 409 and "already linked" in r.json()["detail"] and "(650) 253-0000" in r.json()["detail"]
    owners = _db(
        chat_hub, "SELECT address, patient_id FROM contact_points WHERE address LIKE '+1650555016_' ORDER BY address"
    )
    assert owners == [("+16505550161", mum), ("+16505550162", relative)]
    assert _db(chat_hub, "SELECT merged_into_id FROM patients WHERE id IN (?, ?)", mum, relative) == [(None,), (None,)]
    # The code is spent: it cannot be replayed once someone has joined the records by hand.
    assert visitor.post("/api/webchat/verifications/confirm", json={"code": "000000"}).status_code == 410


def test_a_linked_visitor_sees_their_own_chat_not_the_records_earlier_ones(chat_hub, twilio):
    """Holding a phone proves that much: the record's earlier web chats (perhaps with what an
    agent told the patient after a full check) stay with staff."""
    _sms_patient(chat_hub, "+16505550161")
    first = _visitor(chat_hub)
    first.start("Maria", language="es")
    first.send("Mi primera conversación")
    assert _prove_phone(chat_hub, twilio, first, "+16505550161").status_code == 200
    later = _visitor(chat_hub)
    later.start("Maria", language="es")
    later.send("Otra vez yo")
    assert _prove_phone(chat_hub, twilio, later, "+16505550161").status_code == 200
    later.open(after=0)
    assert _texts_until_ready(later) == ["Otra vez yo"]
    later.close()
    first.open(after=0)  # the first visitor still has their own, and only that
    assert _texts_until_ready(first) == ["Mi primera conversación"]
    first.close()


def _texts_until_ready(visitor: VisitorClient) -> list[str | None]:
    texts = []
    while (frame := visitor.recv())["type"] != "ready":
        texts.append(frame.get("text"))
    return texts


def test_two_browsers_that_proved_one_phone_are_two_chats(any_chat_hub, twilio):
    """Each browser sees what it wrote and the replies written back to it, live and after a reload;
    a reply goes to the browser that last wrote in the conversation, as an SMS reply goes to the
    number that last wrote."""
    chat_hub = any_chat_hub
    http = httpx.Client(base_url=chat_hub.base_url, timeout=10)
    assert (
        _post(http, "/api/channels/sms/inbound", _fields("SMwc000001", "Hola", sender="+16505550161")).status_code
        == 200
    )
    listed = Staff(chat_hub.base_url, "sofia").get("/api/conversations").json()["conversations"]
    maria = next(c["patient_id"] for c in listed if c["patient_name"] == "+16505550161")
    laptop, phone = _visitor(chat_hub), _visitor(chat_hub)
    for visitor, text in ((laptop, "Desde la computadora"), (phone, "Desde el celular")):
        visitor.start("Maria", language="es")
        visitor.send(text)
        assert _prove_phone(chat_hub, twilio, visitor, "+16505550161").status_code == 200
    laptop.open(after=0)
    assert _texts_until_ready(laptop) == ["Desde la computadora"]
    phone.open(after=0)
    assert _texts_until_ready(phone) == ["Desde el celular"]

    seq = laptop.send("¿Me ayudan con mi cita?").json()["seq"]
    events = Staff(chat_hub.base_url, "sofia").get(f"/api/patients/{maria}/timeline").json()["events"]
    conversation = next(e["conversation_id"] for e in events if e["seq"] == seq)
    r = Staff(chat_hub.base_url, "sofia").post(
        f"/api/conversations/{conversation}/messages", json={"text": "Claro, ¿qué día?", "channel": "webchat"}
    )
    assert r.status_code == 201, r.text
    assert laptop.until(lambda f: f.get("text") == "Claro, ¿qué día?")["author"] == "agent"
    agent = _agent_stream(chat_hub, Staff(chat_hub.base_url, "sofia"))
    agent.ws.send(f'{{"type": "typing", "conversation_id": {conversation}}}')  # writing to the laptop
    assert laptop.until(lambda f: f["type"] == "typing") == {"type": "typing", "name": "Sofía"}
    phone.send("Marcador del celular")  # frames arrive in order: anything meant for it came first
    seen: list[str] = []
    _texts_until(phone, "Marcador del celular", seen)
    assert "¿Me ayudan con mi cita?" not in seen and "Claro, ¿qué día?" not in seen and "typing" not in seen
    agent.close()
    laptop.close()
    laptop.open(after=0)  # after a reload too
    assert _texts_until_ready(laptop) == ["Desde la computadora", "¿Me ayudan con mi cita?", "Claro, ¿qué día?"]

    # The phone wrote last: the next reply is the phone's, and so are staff's "Read" marks.
    sofia = Staff(chat_hub.base_url, "sofia")
    to_laptop = r.json()
    to_phone = sofia.post(
        f"/api/conversations/{conversation}/messages", json={"text": "Para el celular", "channel": "webchat"}
    ).json()
    assert to_phone["data"]["to"] != to_laptop["data"]["to"]
    assert phone.until(lambda f: f.get("text") == "Para el celular")["author"] == "agent"
    assert sofia.post(f"/api/conversations/{conversation}/read", json={"upto": to_phone["seq"]}).status_code == 200
    assert phone.until(lambda f: f["type"] == "read")["upto"] == to_phone["seq"]
    # The laptop says it read everything up to there: only the reply it was shown moves.
    laptop.say({"type": "receipt", "status": "read", "upto": to_phone["seq"]})
    _wait(lambda: _status(chat_hub, maria, to_laptop["seq"]) == "read")
    assert _status(chat_hub, maria, to_phone["seq"]) != "read"
    laptop.send("Marcador de la computadora")
    seen.clear()
    _texts_until(laptop, "Marcador de la computadora", seen)
    assert "Para el celular" not in seen and "read" not in seen
    # An agent who answers the phone from a page that has not shown the laptop's new message yet is
    # stopped: the reply would go to the laptop. Nothing is stored; once the page is fresh, it goes.
    before = len(sofia.get(f"/api/patients/{maria}/timeline").json()["events"])
    stale = {"text": "Su cita es el jueves", "channel": "webchat", "seen": to_phone["seq"]}
    r = sofia.post(f"/api/conversations/{conversation}/messages", json=stale)
    assert r.status_code == 409 and "another browser" in r.json()["detail"]
    assert len(sofia.get(f"/api/patients/{maria}/timeline").json()["events"]) == before
    latest = sofia.get(f"/api/patients/{maria}/timeline").json()["events"][-1]["seq"]
    r = sofia.post(f"/api/conversations/{conversation}/messages", json={**stale, "seen": latest})
    assert r.status_code == 201 and r.json()["data"]["to"] == to_laptop["data"]["to"]
    assert laptop.until(lambda f: f.get("text") == "Su cita es el jueves")["author"] == "agent"

    # A web-chat reply in the conversation that began by SMS goes to the browser that last wrote.
    sms_conversation = next(
        e["conversation_id"]
        for e in sofia.get(f"/api/patients/{maria}/timeline").json()["events"]
        if e["channel"] == "sms"
    )
    r = sofia.post(
        f"/api/conversations/{sms_conversation}/messages",
        json={"text": "Desde otra conversación", "channel": "webchat"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["data"]["to"] == to_laptop["data"]["to"]
    assert laptop.until(lambda f: f.get("text") == "Desde otra conversación")["author"] == "agent"
    phone.send("Otro marcador del celular")
    seen.clear()
    _texts_until(phone, "Otro marcador del celular", seen)
    assert "Desde otra conversación" not in seen
    phone.close()
    laptop.close()


def _texts_until(visitor: VisitorClient, text: str, seen: list[str]) -> list[str]:
    """Frames (their text, else their type) up to the one with `text`, into `seen`."""
    while (frame := visitor.recv()).get("text") != text:
        seen.append(frame.get("text") or frame["type"])
    return seen


def _status(srv: HubServer, patient_id: int, seq: int) -> str:
    events = Staff(srv.base_url, "sofia").get(f"/api/patients/{patient_id}/timeline").json()["events"]
    return next(e for e in events if e["seq"] == seq)["data"]["status"]


def test_a_code_by_email_proves_a_new_address(chat_hub, smtp):
    visitor = _visitor(chat_hub)
    visitor.start("Linh Tran")
    r = visitor.post("/api/webchat/verifications", json={"email": "Linh.Tran@Example.org"})
    assert r.status_code == 202 and r.json()["to"] == "l•••@example.org"
    (mail,) = smtp.wait_for(1)
    assert smtp.envelopes[0] == ("hola@clinic.test", ["linh.tran@example.org"])
    assert mail["To"] == "linh.tran@example.org" and "Puente Demo Clinic" in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Message-ID"].endswith("@clinic.test>")
    code = CODE.search(mail.get_content()).group(1)
    r = visitor.post("/api/webchat/verifications/confirm", json={"code": f" {code} "})
    assert r.status_code == 200 and r.json()["kind"] == "email"
    rows = _db(
        chat_hub,
        "SELECT kind, address, verified FROM contact_points WHERE patient_id = (SELECT patient_id"
        " FROM contact_points WHERE kind = 'webchat' AND address LIKE 'v\\_%' ESCAPE '\\') ORDER BY kind",
    )
    assert rows == [("email", "linh.tran@example.org", 1), ("webchat", rows[1][1], 0)]
    again = _visitor(chat_hub)
    again.token = visitor.token
    assert again.http.post("/api/webchat/sessions", json={"name": "Linh"}).json()["verified"] is False  # a new visitor


def test_a_relay_that_refuses_for_now_is_retried(chat_hub, smtp):
    smtp.refuse_next("451 4.3.0 Try again later")
    visitor = _visitor(chat_hub)
    visitor.start("Ben")
    assert visitor.post("/api/webchat/verifications", json={"email": "ben@example.org"}).status_code == 202
    smtp.wait_for(1, timeout=20)  # the first attempt was refused; the outbox tried again after its backoff
    # settled (and the code dropped) just after the relay answered
    _wait(
        lambda: _db(chat_hub, "SELECT state, attempts, body FROM outbox WHERE purpose = 'code'") == [("sent", 2, None)]
    )
    smtp.refuse_next("550 5.1.1 No such user")
    assert visitor.post("/api/webchat/verifications", json={"email": "nobody@example.org"}).status_code == 202
    row = _wait(
        lambda: _db(chat_hub, "SELECT state, last_error FROM outbox WHERE purpose = 'code' AND state = 'failed'")
    )
    assert "550" in row[0][1]


def test_guessing_is_bounded(chat_hub, twilio):
    visitor = _visitor(chat_hub)
    visitor.start("Guesser")
    visitor.post("/api/webchat/verifications", json={"phone": "+14155550199"})
    code = _last_code(twilio, "+14155550199")
    wrong = [c for c in ("111111", "222222", "333333", "444444", "555555", "666666") if c != code][:5]
    answers = [visitor.post("/api/webchat/verifications/confirm", json={"code": c}) for c in wrong]
    assert [a.status_code for a in answers] == [400] * 5
    r = visitor.post("/api/webchat/verifications/confirm", json={"code": code})
    assert r.status_code == 429  # even the right code, after five wrong ones
    visitor.post("/api/webchat/verifications", json={"phone": "+14155550199"})
    fresh = _wait(lambda: (c := _last_code(twilio, "+14155550199")) != code and c)
    assert visitor.post("/api/webchat/verifications/confirm", json={"code": fresh}).status_code == 200


@pytest.mark.parametrize("chat_hub", [{"code_ttl_s": 1}], indirect=True)
def test_codes_expire(chat_hub, twilio):
    visitor = _visitor(chat_hub)
    visitor.start("Slow")
    visitor.post("/api/webchat/verifications", json={"phone": "+14155550198"})
    code = _last_code(twilio, "+14155550198")
    time.sleep(1.2)
    r = visitor.post("/api/webchat/verifications/confirm", json={"code": code})
    assert r.status_code == 410 and "new one" in r.json()["detail"]


def test_no_code_to_an_opted_out_number_or_a_bad_address(chat_hub, twilio):
    http = httpx.Client(base_url=chat_hub.base_url, timeout=10)
    assert (
        _post(http, "/api/channels/sms/inbound", _fields("SMstop0001", "STOP", sender="+16505550177")).status_code
        == 200
    )
    visitor = _visitor(chat_hub)
    visitor.start("Someone")
    r = visitor.post("/api/webchat/verifications", json={"phone": "650-555-0177"})
    assert r.status_code == 409 and "START" in r.json()["detail"]
    r = visitor.post("/api/webchat/verifications", json={"phone": "12"})
    assert r.status_code == 400 and "phone number" in r.json()["detail"]
    r = visitor.post("/api/webchat/verifications", json={"email": "not an address"})
    assert r.status_code == 400 and "email" in r.json()["detail"]
    r = visitor.post("/api/webchat/verifications", json={"phone": "+16505550100", "email": "a@b.org"})
    assert r.status_code == 400
    r = visitor.post("/api/webchat/verifications", json={"email": "ok@example.org"}, headers={"accept-language": "es"})
    assert r.status_code == 202
    time.sleep(0.5)
    assert not [x for x in twilio.requests if x["To"] == "+16505550177" and CODE.search(x["Body"])]


def test_portal_users_are_vouched_for_by_the_clinic(chat_hub):
    signature = portal_signature(PORTAL_SECRET, "mychart:88412")
    a, b = _visitor(chat_hub), _visitor(chat_hub)
    first = a.start("Linh", identity={"user_id": "mychart:88412", "signature": signature})
    again = b.start(None, identity={"user_id": "mychart:88412", "signature": signature.upper()})
    assert first["kind"] == "portal" and first["verified"] is True and again["name"] == "Linh"
    a.send("from my laptop")
    b.send("from my phone")
    portal = (
        "SELECT count(*), count(DISTINCT patient_id) FROM timeline_events WHERE provider_message_id LIKE 'portal:%'"
    )
    assert _db(chat_hub, portal) == [(2, 1)]  # two devices, one patient
    r = httpx.post(
        f"{chat_hub.base_url}/api/webchat/sessions",
        json={"identity": {"user_id": "mychart:88413", "signature": signature}},
    )
    assert r.status_code == 403 and "portal" in r.json()["detail"]


@pytest.mark.parametrize("chat_hub", [{"sessions_per_hour": 2, "messages_per_minute": 3}], indirect=True)
def test_public_endpoints_are_rate_limited(chat_hub):
    http = httpx.Client(base_url=chat_hub.base_url, timeout=10)
    answers = [http.post("/api/webchat/sessions", json={"name": f"n{i}"}) for i in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert int(answers[2].headers["retry-after"]) > 0 and "Try again" in answers[2].json()["detail"]
    visitor = VisitorClient(chat_hub.base_url, chat_hub.ws_url, answers[0].json()["token"])
    sent = [visitor.send(f"m{i}").status_code for i in range(4)]
    assert sent == [201, 201, 201, 429]
    r = visitor.post(
        "/api/webchat/messages", json={"id": "m-again-0001", "text": "again"}, headers={"accept-language": "es"}
    )
    assert r.status_code == 429 and "Inténtelo" in r.json()["detail"]


@pytest.mark.parametrize("chat_hub", [{"allowed_origins": ("https://clinic.example",)}], indirect=True)
def test_cross_origin_calls_only_from_the_clinic_site_and_only_for_the_widget(chat_hub):
    http = httpx.Client(base_url=chat_hub.base_url, timeout=10)
    pre = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"}
    ok = http.options("/api/webchat/messages", headers={"origin": "https://clinic.example", **pre})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "https://clinic.example"
    assert "authorization" in ok.headers["access-control-allow-headers"]
    r = http.post("/api/webchat/sessions", json={"name": "x"}, headers={"origin": "https://clinic.example"})
    assert r.status_code == 201 and r.headers["access-control-allow-origin"] == "https://clinic.example"
    evil = http.post("/api/webchat/sessions", json={"name": "x"}, headers={"origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    staff = http.get("/api/conversations", headers={"origin": "https://clinic.example"})
    assert "access-control-allow-origin" not in staff.headers
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{chat_hub.ws_url}/api/webchat/socket", origin="https://evil.example", open_timeout=5)
    assert refused.value.response.status_code == 403


def test_widget_strings_come_from_the_catalogs(chat_hub):
    http = httpx.Client(base_url=chat_hub.base_url, timeout=10)
    es = http.get("/api/webchat/strings", params={"lang": "es-MX"}).json()
    en = http.get("/api/webchat/strings", headers={"accept-language": "en-US"}).json()
    assert es["language"] == "es" and en["language"] == "en" and es["clinic"] == "Puente Demo Clinic"
    assert set(es["strings"]) == set(en["strings"])
    assert es["strings"]["send"] == "Enviar" and en["strings"]["send"] == "Send"
    assert "{clinic}" in es["strings"]["title"]  # placeholders are the widget's to fill
    assert all(es["strings"][k] != en["strings"][k] for k in en["strings"] if k not in {"code"}), "untranslated"

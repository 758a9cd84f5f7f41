"""The bot on a real hub, over SMS (a local Twilio-speaking server) and web chat, in English and
Spanish: FAQs, intents that need verification, routing to an agent who speaks the language,
queues, red flags, after hours, not understood, take-over, transfer and hand-back."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.channels.sms.test_sms_webhooks import _fields, _post
from tests.support.clients import Staff
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer, hub_settings
from tests.support.stream import StreamClient
from tests.support.webchat import VisitorClient

MARIA = "+16505550134"  # the demo's María González: Spanish, born 1984-03-09, scheduling team


@pytest.fixture
def staff(bot_hub):
    """The demo's staff, signed in to the bot's hub (the shared fixture signs in elsewhere)."""
    clients = {login: Staff(bot_hub.base_url, login) for login in ("admin", "sofia", "ana", "ben")}
    yield clients
    for c in clients.values():
        c.close()


def _wait(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _at_least(items: list, count: int) -> list | None:
    return items if len(items) >= count else None


class Patient:
    """A patient writing by SMS, and what the hub texts back."""

    def __init__(self, srv: HubServer, twilio: FakeTwilio, number: str) -> None:
        self.http = httpx.Client(base_url=srv.base_url, timeout=10)
        self.twilio, self.number, self.n = twilio, number, 0

    def says(self, text: str) -> None:
        self.n += 1
        r = _post(
            self.http,
            "/api/channels/sms/inbound",
            _fields(f"SMbot{self.number[-4:]}{self.n:04d}{int(time.time() * 1000) % 10**6}", text, sender=self.number),
        )
        assert r.status_code == 200, r.text

    def texts(self) -> list[str]:
        return [r["Body"] for r in self.twilio.requests if r["To"] == self.number]

    def waits_for(self, count: int) -> list[str]:
        return _wait(lambda: _at_least(self.texts(), count))


def _conversation(staff: Staff, patient_name: str) -> dict:
    return _wait(
        lambda: next(
            (c for c in staff.get("/api/conversations").json()["conversations"] if c["patient_name"] == patient_name),
            None,
        )
    )


def _events(staff: Staff, patient_id: int) -> list[dict]:
    return staff.get(f"/api/patients/{patient_id}/timeline", params={"limit": 200}).json()["events"]


def _bot_said(staff: Staff, patient_id: int) -> list[tuple[str, str]]:
    """(template, locale) of each bot message, oldest first."""
    return [
        (e["data"].get("template"), e["data"].get("locale"))
        for e in _events(staff, patient_id)
        if e["kind"] == "message_out" and e["author_type"] == "bot"
    ]


def _until_bot_said(staff: Staff, patient_id: int, count: int) -> list[tuple[str, str]]:
    return _wait(lambda: _at_least(_bot_said(staff, patient_id), count))


def _maria_starts_afresh(sofia: Staff) -> None:
    """The demo's María has an open conversation that Ana holds: resolved, her next text opens a
    new one, and the bot answers it."""
    conv = _conversation(sofia, "María González")
    assert sofia.post(f"/api/conversations/{conv['id']}/status", json={"status": "resolved"}).status_code == 201


def _available(staff: Staff) -> None:
    r = staff.request("PUT", "/api/presence", json={"available": True})
    assert r.status_code == 200 and r.json()["available"] is True, r.text


# --- answering --------------------------------------------------------------------------------


def test_faqs_and_greetings_in_both_languages_on_sms_and_web_chat(bot_hub, twilio, staff):
    sofia = staff["sofia"]
    robert = Patient(bot_hub, twilio, "+14155550177")
    robert.says("Hi")
    robert.says("what time do you open on saturday?")
    texts = robert.waits_for(3)
    assert "1 Make an appointment" not in texts[0] and "reply 1 new appointment" in texts[0].lower()
    assert "Sat 9am-1pm" in texts[1] and texts[2].startswith("Anything else?")
    conv = _conversation(sofia, "+14155550177")
    assert conv["handler"] == "bot" and conv["assignee_id"] is None
    assert _bot_said(sofia, conv["patient_id"]) == [
        ("bot_welcome", "en"),
        ("faq_hours", "en"),
        ("bot_anything_else", "en"),
    ]

    # A web-chat visitor who set no language, writing in Spanish without accents.
    lucia = VisitorClient(bot_hub.base_url, bot_hub.ws_url)
    lucia.start("Lucía", language=None)
    lucia.open()
    lucia.until(lambda f: f["type"] == "ready")
    assert lucia.send("hola, donde estan ubicados?").status_code == 201
    answers = [lucia.until(lambda f: f["type"] == "message" and f["author"] == "bot") for _ in range(2)]
    assert "Mountain View" in answers[0]["text"] and answers[1]["text"].startswith("¿Le puedo ayudar")
    assert lucia.send("acepta medicare?").status_code == 201
    assert "Aceptamos Medicare" in lucia.until(lambda f: f["type"] == "message" and f["author"] == "bot")["text"]
    lucia.close()


def test_an_intent_is_verified_then_routed_to_an_agent_who_speaks_the_language(bot_hub, twilio, staff):
    ana, ben, sofia = staff["ana"], staff["ben"], staff["sofia"]
    _available(ana)  # scheduling and intake, English and Spanish
    _available(ben)  # billing, English only
    _maria_starts_afresh(sofia)
    maria = Patient(bot_hub, twilio, MARIA)
    maria.says("Necesito cambiar mi cita del jueves")
    texts = maria.waits_for(1)
    assert "fecha de nacimiento" in texts[0]  # nothing about her appointment before she is verified
    maria.says("Nací el 9 de marzo de 1984")
    texts = maria.waits_for(3)  # the code, and the bot's word about it
    code = re.search(r"\b(\d{6})\b", next(t for t in texts if "código" in t and re.search(r"\d{6}", t))).group(1)
    assert "•••0134" in texts[-1] or "•••0134" in texts[-2]
    maria.says(f"mi código es {code}")
    conv = _wait(lambda: (c := _conversation(sofia, "María González"))["assignee_id"] and c)
    assert conv["assignee_name"] == "Ana Agent" and conv["verified_at"] and conv["handler"] == "agent"
    assert conv["language"] == "es"
    kinds = [
        (e["kind"], e["data"].get("template") or e["data"].get("reason"))
        for e in _events(sofia, conv["patient_id"])
        if e["seq"] > 0 and e["kind"] in ("identity_verified", "handoff", "assignment")
    ][-3:]
    assert kinds == [("identity_verified", None), ("handoff", "appointment_reschedule"), ("assignment", None)]
    said = _until_bot_said(sofia, conv["patient_id"], 4)
    assert said[-2:] == [("bot_verified", "es"), ("bot_handoff_assigned", "es")]
    assert "Ana, de nuestro equipo" in maria.waits_for(5)[-1]
    handoff = next(e for e in reversed(_events(sofia, conv["patient_id"])) if e["kind"] == "handoff")
    assert handoff["data"]["team_name"] == "Scheduling" and handoff["data"]["verified"] is True


def test_a_wrong_date_of_birth_twice_goes_to_a_person_and_discloses_nothing(bot_hub, twilio, staff):
    sofia = staff["sofia"]
    _maria_starts_afresh(sofia)
    maria = Patient(bot_hub, twilio, MARIA)
    maria.says("quiero saber cuanto debo de mi factura")
    maria.waits_for(1)
    maria.says("01/01/1990")
    maria.says("02/02/1991")
    texts = maria.waits_for(4)
    assert "no coincide" in texts[1] and "No pude confirmar su identidad" in texts[2]
    assert not any(re.search(r"\d{6}", t) for t in texts)  # no code was ever sent
    conv = _conversation(sofia, "María González")
    assert conv["verified_at"] is None and conv["handler"] == "agent"
    handoff = next(e for e in reversed(_events(sofia, conv["patient_id"])) if e["kind"] == "handoff")
    assert handoff["data"]["reason"] == "verification_failed" and handoff["data"]["team_name"] == "Billing"


def test_not_understood_twice_hands_off_and_the_patient_is_told_their_place(bot_hub, twilio, staff):
    sofia = staff["sofia"]
    someone = Patient(bot_hub, twilio, "+14155550178")
    someone.says("asdkj qwe")
    someone.says("zzz mmm")
    texts = someone.waits_for(2)
    # Nobody of the team is available: no wait is promised, only the clinic's reply-by time.
    assert texts[0].startswith("Sorry, I did not understand")
    assert (
        texts[1].startswith("No one from our team is free to answer right now") and "a person will reply by" in texts[1]
    )
    assert "minute" not in texts[1]
    conv = _conversation(sofia, "+14155550178")
    assert conv["handler"] == "agent" and conv["queued_at"] and conv["team_id"] is not None


# --- red flags ---------------------------------------------------------------------------------


def test_red_flags_answer_at_once_jump_the_queue_and_alert_supervisors(bot_hub, twilio, staff):
    sofia = staff["sofia"]
    stream = StreamClient(bot_hub.ws_url, sofia, sofia.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()
    first = Patient(bot_hub, twilio, "+14155550181")
    first.says("I want to talk to a person")
    first.waits_for(1)
    # An emergency in English, on web chat.
    visitor = VisitorClient(bot_hub.base_url, bot_hub.ws_url)
    visitor.start("Tom", language="en")
    visitor.open()
    visitor.until(lambda f: f["type"] == "ready")
    visitor.send("I have really bad chest pain and my left arm is numb")
    safety = visitor.until(lambda f: f["type"] == "message" and f["author"] == "bot")
    assert "call 911" in safety["text"]
    alert = stream.recv()
    while not (alert["type"] == "event" and alert["event"]["kind"] == "handoff" and alert["event"]["data"]["urgent"]):
        alert = stream.recv()
    assert alert["event"]["data"]["reason"] == "red_flag" and alert["event"]["data"]["category"] == "cardiac"
    assert alert["conversation"]["priority"] >= 10 and alert["conversation"]["team_id"] is not None
    # In Spanish, by SMS: thoughts of suicide get 988.
    second = Patient(bot_hub, twilio, "+14155550182")
    second.says("ya no quiero vivir, me quiero morir")
    assert "988" in second.waits_for(1)[0] and "oprima 2 para español" in second.waits_for(1)[0]
    # Urgent ones are first in the queue, whoever wrote first.
    convs = sofia.get("/api/conversations").json()["conversations"]
    tom = next(c for c in convs if c["patient_name"] == "Tom")
    assert tom["priority"] >= 10 and tom["queued_at"]
    stream.close()
    visitor.close()


def test_a_red_flag_in_a_conversation_an_agent_holds_alerts_without_the_bot_writing(bot_hub, twilio, staff):
    ana, sofia = staff["ana"], staff["sofia"]
    p = Patient(bot_hub, twilio, "+14155550183")
    p.says("hello")
    p.waits_for(1)
    conv = _conversation(sofia, "+14155550183")
    assert ana.post(f"/api/conversations/{conv['id']}/assign", json={"agent_id": ana.me["id"]}).status_code == 201
    p.says("my chest hurts and I can't breathe")
    conv = _wait(lambda: (c := _conversation(sofia, "+14155550183"))["priority"] >= 10 and c)
    assert conv["assignee_id"] == ana.me["id"] and conv["handler"] == "agent"
    time.sleep(0.5)
    assert len(p.texts()) == 1  # the bot said nothing: Ana has the conversation


# --- after hours, queues, take-over, transfer, hand-back ------------------------------------------


def test_after_hours_the_patient_is_told_when_a_person_will_answer(bot_hub, twilio, staff):
    admin, sofia = staff["admin"], staff["sofia"]
    today = datetime.now(ZoneInfo(bot_hub.settings.clinic.timezone)).date()
    for day in (today, today + timedelta(days=1)):  # still closed if the test runs past midnight
        assert admin.post("/api/holidays", json={"day": day.isoformat(), "name": "Staff training"}).status_code == 201
    p = Patient(bot_hub, twilio, "+14155550184")
    p.says("talk to a person please")
    text = p.waits_for(1)[0]
    assert text.startswith("Puente Demo Clinic is closed now") and "In an emergency, call 911" in text
    hours = {t["name"]: t for t in sofia.get("/api/teams/hours").json()}
    assert hours["Scheduling"]["open_now"] is False and hours["Scheduling"]["next_opening"]


def test_take_over_transfer_and_hand_back(bot_hub, twilio, staff):
    ana, ben, sofia = staff["ana"], staff["ben"], staff["sofia"]
    _available(ben)
    visitor = VisitorClient(bot_hub.base_url, bot_hub.ws_url)
    visitor.start("Grace", language="en")
    visitor.open()
    visitor.until(lambda f: f["type"] == "ready")
    visitor.send("hi there")
    visitor.until(lambda f: f["type"] == "message" and f["author"] == "bot")
    conv = _conversation(sofia, "Grace")
    assert conv["handler"] == "bot"
    # Ana takes over: from now on the bot never writes.
    r = ana.post(f"/api/conversations/{conv['id']}/assign", json={"agent_id": ana.me["id"]})
    assert r.status_code == 201
    visitor.send("what are your hours?")
    with pytest.raises(TimeoutError):
        visitor.until(lambda f: f["type"] == "message" and f["author"] == "bot", timeout=1.5)
    # Transfer to billing: Ben is free there and speaks English, so it goes to him.
    teams = {t["key"]: t for t in ana.get("/api/teams").json()}
    r = ana.post(
        f"/api/conversations/{conv['id']}/transfer",
        json={"team_id": teams["billing"]["id"], "note": "Asks about a charge"},
    )
    assert r.status_code == 201 and r.json()["kind"] == "transfer"
    conv = _wait(
        lambda: (c := sofia.get(f"/api/conversations/{conv['id']}").json())["assignee_id"] == ben.me["id"] and c
    )
    assert conv["team_id"] == teams["billing"]["id"]
    # Ben hands it back to the assistant, which answers the next message.
    r = ben.post(f"/api/conversations/{conv['id']}/hand-back")
    assert r.status_code == 201 and r.json()["data"]["to"] == "bot"
    conv = sofia.get(f"/api/conversations/{conv['id']}").json()
    assert conv["handler"] == "bot" and conv["assignee_id"] is None
    visitor.send("where do I park?")
    assert "Parking is free" in visitor.until(lambda f: f["type"] == "message" and f["author"] == "bot")["text"]
    assert ben.post(f"/api/conversations/{conv['id']}/hand-back").status_code == 400  # it has it already
    visitor.close()


def test_waiting_conversations_go_to_agents_as_they_become_available(bot_hub, twilio, staff):
    ana, sofia = staff["ana"], staff["sofia"]
    one, two = Patient(bot_hub, twilio, "+14155550185"), Patient(bot_hub, twilio, "+14155550186")
    one.says("I'd like to become a new patient")
    two.says("quiero ser paciente nuevo")
    assert one.waits_for(1)[0].startswith("No one from our team is free to answer right now")
    assert two.waits_for(1)[0].startswith("Ahora no hay nadie del equipo libre")
    waiting = [c for c in sofia.get("/api/conversations").json()["conversations"] if c["queued_at"]]
    assert len(waiting) >= 2
    _available(ana)  # intake, both languages
    for number in ("+14155550185", "+14155550186"):
        conv = _wait(lambda n=number: (c := _conversation(sofia, n))["assignee_id"] and c)
        assert conv["assignee_name"] == "Ana Agent" and conv["queued_at"] is None


def test_the_bot_answers_by_email_in_the_thread(tmp_path):
    from tests.support.mail import CLINIC_FROM, mail_settings, send_mail, simple_mail
    from tests.support.smtp_sink import SmtpSink

    with SmtpSink() as sink:
        settings = mail_settings(tmp_path, sink_port=sink.port)
        srv = HubServer(replace(settings, bot=replace(settings.bot, enabled=True))).start()
        try:
            raw = simple_mail("pat.doe@example.org", "Hi, do you take Aetna insurance?", "q1@example.org", "Insurance")
            assert send_mail(settings.email.listen_port, raw, "pat.doe@example.org").code == 250
            first, second = sink.wait_for(2)
            assert first["To"] == "pat.doe@example.org" and first["In-Reply-To"] == "<q1@example.org>"
            assert first["Subject"] == "Re: Insurance" and first["Reply-To"].startswith("reply+")
            assert "Aetna" in first.get_body(("plain",)).get_content() and first["From"].endswith(f"<{CLINIC_FROM}>")
            assert "<q1@example.org>" in second["References"]
        finally:
            srv.stop()


# --- what the review found: checks that must hold in the corners -----------------------------------


def _maria_proves_who_she_is(maria: Patient, sofia: Staff) -> dict:
    """By SMS: she asks to change her appointment, gives her date of birth, then the code texted
    to her. Returns her conversation, verified."""
    _maria_starts_afresh(sofia)
    maria.says("Necesito cambiar mi cita")
    maria.waits_for(1)
    maria.says("03/09/1984")
    texts = maria.waits_for(3)
    code = re.search(r"\b(\d{6})\b", next(t for t in texts if "código" in t and re.search(r"\d{6}", t))).group(1)
    maria.says(code)
    return _wait(lambda: (c := _conversation(sofia, "María González"))["verified_at"] and c)


def test_a_check_holds_only_for_where_it_was_made(bot_hub, twilio, staff):
    """María proves who she is by SMS; then someone who proved only her phone writes from a web
    chat into the same conversation: that is not the person who was checked."""
    ana, sofia = staff["ana"], staff["sofia"]
    _available(ana)
    maria = Patient(bot_hub, twilio, MARIA)
    conv = _maria_proves_who_she_is(maria, sofia)
    visitor = VisitorClient(bot_hub.base_url, bot_hub.ws_url)
    visitor.start("María", language="es")
    sent = len(maria.texts())
    assert visitor.post("/api/webchat/verifications", json={"phone": MARIA}).status_code == 202
    sms = _wait(lambda: [t for t in maria.texts()[sent:] if re.search(r"\b\d{6}\b", t)])[-1]
    r = visitor.post("/api/webchat/verifications/confirm", json={"code": re.search(r"\b(\d{6})\b", sms).group(1)})
    assert r.status_code == 200
    visitor.send("¿Cuál es el resultado de mi examen?")
    after = _wait(lambda: (c := sofia.get(f"/api/conversations/{conv['id']}").json())["verified_at"] is None and c)
    assert after["handler"] == "agent" and after["assignee_id"] == ana.me["id"]  # Ana still has it
    dropped = [e for e in _events(sofia, conv["patient_id"]) if e["kind"] == "identity_verified"][-1]
    assert dropped["data"] == {"dropped": "other_sender"}  # on the timeline: agents see the badge go
    visitor.close()


def test_a_voice_note_that_never_arrives_goes_to_a_person(tmp_path, twilio):
    from hub.settings import MediaSettings
    from tests.support.media_server import MediaServer

    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as media:
        lost = media.add("ME_lost_voice", b"", "audio/ogg", fail=[404])
        settings = hub_settings(tmp_path, bot=True)
        settings = replace(
            settings,
            sms=replace(settings.sms, api_base_url=twilio.url),
            media=MediaSettings(max_bytes=256 * 1024, timeout_s=1.5, max_attempts=1, retry_base_s=0.2, allow_http=True),
        )
        srv = HubServer(settings).start()
        try:
            http = httpx.Client(base_url=srv.base_url, timeout=10)
            fields = _fields("SMvoicelost01", "", sender="+14155550191", NumMedia="1")
            fields.update(MediaUrl0=lost, MediaContentType0="audio/ogg")
            assert _post(http, "/api/channels/sms/inbound", fields).status_code == 200
            sofia = Staff(srv.base_url, "sofia")
            conv = _wait(lambda: (c := _conversation(sofia, "+14155550191"))["handler"] == "agent" and c)
            handoff = next(e for e in _events(sofia, conv["patient_id"]) if e["kind"] == "handoff")
            assert handoff["data"]["reason"] == "attachment"
            texts = _wait(lambda: [r["Body"] for r in twilio.requests if r["To"] == "+14155550191"])
            assert "team will answer you soon" in texts[0] or "answer" in texts[0]
            sofia.close()
        finally:
            srv.stop()


def test_a_phrase_added_a_moment_ago_is_found_in_a_conversation_an_agent_holds(bot_hub, twilio, staff):
    """The worker's copy of the list is a few seconds old; the sweep reads every message again
    against the list in the database, so a new phrase is not missed."""
    admin, ana, sofia = staff["admin"], staff["ana"], staff["sofia"]
    p = Patient(bot_hub, twilio, "+14155550192")
    p.says("hello")
    p.waits_for(1)
    conv = _conversation(sofia, "+14155550192")
    assert ana.post(f"/api/conversations/{conv['id']}/assign", json={"agent_id": ana.me["id"]}).status_code == 201
    r = admin.post("/api/red-flags", json={"language": "en", "phrase": "purple toes", "category": "cardiac"})
    assert r.status_code == 201, r.text
    p.says("my toes are purple toes now and cold")
    conv = _wait(lambda: (c := _conversation(sofia, "+14155550192"))["priority"] >= 10 and c, timeout=20)
    assert conv["assignee_id"] == ana.me["id"]
    assert len(p.texts()) == 1  # the bot still says nothing: Ana has it


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_with_the_bot_off_waiting_conversations_still_go_to_free_agents(tmp_path, db):
    from tests.support.services import PostgresDatabase

    pg = PostgresDatabase() if db == "postgres" else None  # routing takes its lock there
    srv = HubServer(hub_settings(tmp_path, db_url=pg.url if pg else None)).start()  # the bot is off
    try:
        ana, sofia = Staff(srv.base_url, "ana"), Staff(srv.base_url, "sofia")
        http = httpx.Client(base_url=srv.base_url, timeout=10)
        assert (
            _post(http, "/api/channels/sms/inbound", _fields("SMbotoff001", "Hi", sender="+14155550193")).status_code
            == 200
        )
        conv = _conversation(sofia, "+14155550193")
        teams = {t["key"]: t for t in sofia.get("/api/teams").json()}
        r = sofia.post(f"/api/conversations/{conv['id']}/transfer", json={"team_id": teams["intake"]["id"]})
        assert r.status_code == 201, r.text
        waiting = sofia.get(f"/api/conversations/{conv['id']}").json()
        assert waiting["assignee_id"] is None and waiting["queued_at"]
        _available(ana)  # intake, both languages
        conv = _wait(lambda: (c := sofia.get(f"/api/conversations/{conv['id']}").json())["assignee_id"] and c)
        assert conv["assignee_name"] == "Ana Agent"
        ana.close()
        sofia.close()
    finally:
        srv.stop()
        if pg:
            pg.drop()


def test_a_start_catches_up_on_a_red_flag_a_stop_left_unchecked(tmp_path):
    """The hub stopped between committing a message and checking it (the check runs just after
    commit, in memory): the next start reads the last hour of agents' conversations again."""
    import sqlite3
    from datetime import UTC

    from tests.support.clients import inbound, post_inbound

    settings = hub_settings(tmp_path)
    first = HubServer(settings).start()
    http = httpx.Client(base_url=first.base_url, timeout=10)
    conv = post_inbound(http, inbound("hello", "crash-0", address="+14155550194")).json()
    ana = Staff(first.base_url, "ana")
    r = ana.post(f"/api/conversations/{conv['conversation_id']}/assign", json={"agent_id": ana.me["id"]})
    assert r.status_code == 201
    ana.close()
    first.stop()
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    with sqlite3.connect(settings.database.url.split("///", 1)[1]) as db:  # committed, never checked
        (seq,) = db.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value").fetchone()
        db.execute(
            "INSERT INTO timeline_events (seq, conversation_id, patient_id, kind, channel, author_type, text,"
            " attachments, provider_message_id, data, created_at)"
            " VALUES (?, ?, ?, 'message_in', 'api', 'patient', ?, '[]', 'crash-1', '{}', ?)",
            (seq, conv["conversation_id"], conv["patient_id"], "my chest hurts and I can't breathe", now),
        )
        db.execute(
            "UPDATE conversations SET last_event_seq = ?, last_inbound_at = ? WHERE id = ?",
            (seq, now, conv["conversation_id"]),
        )
    again = HubServer(hub_settings(tmp_path)).start()
    try:
        sofia = Staff(again.base_url, "sofia")
        url = f"/api/conversations/{conv['conversation_id']}"
        after = _wait(lambda: (c := sofia.get(url).json())["priority"] >= 10 and c)
        assert after["assignee_id"] == ana.me["id"]
        handoff = next(e for e in _events(sofia, conv["patient_id"]) if e["kind"] == "handoff")
        assert handoff["data"]["reason"] == "red_flag" and handoff["data"]["urgent"] is True
        sofia.close()
    finally:
        again.stop()

"""The satisfaction question after resolution (hub/csat/) over real parts: SMS through the local
Twilio (the assistant on, so a "4" could be mistaken for its menu), once per conversation, never to
an opted-out number, held through quiet hours by the hub's clock, off per channel, a red-flag
comment taking the urgent path; in English and Spanish."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.csat.score import parse_answer
from hub.csat.survey import next_allowed
from hub.settings import CsatSettings
from tests.bot.test_bot import Patient, _events, _wait
from tests.support.clients import Staff
from tests.support.fake_twilio import FakeTwilio
from tests.support.mail import mail_settings, send_mail, simple_mail
from tests.support.server import HubServer, TestClock, hub_settings
from tests.support.smtp_sink import SmtpSink
from tests.support.webchat import VisitorClient

ZONE = "America/New_York"


def _next_local(hour: int, zone: str = ZONE) -> datetime:
    """The next time it is `hour`:00 in `zone` (within a day from now), in UTC."""
    now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= now:
        at += timedelta(days=1)
    return at.astimezone(UTC)


@pytest.fixture
def clock() -> TestClock:
    c = TestClock()
    c.advance(_next_local(12) - datetime.now(UTC))  # noon where the patients live
    return c


@pytest.fixture
def hub(tmp_path, twilio: FakeTwilio, clock: TestClock):
    settings = hub_settings(tmp_path, bot=True, csat=True)
    srv = HubServer(replace(settings, sms=replace(settings.sms, api_base_url=twilio.url)), clock=clock.now).start()
    yield srv
    srv.stop()


@pytest.fixture
def admin(hub):
    s = Staff(hub.base_url, "admin")
    yield s
    s.close()


def _chat(hub: HubServer, twilio: FakeTwilio, admin: Staff, number: str, text: str) -> tuple[Patient, dict]:
    """A patient writes by SMS (the assistant answers); their record gets a time zone."""
    p = Patient(hub, twilio, number)
    p.says(text)
    p.waits_for(1)

    def mine() -> dict | None:
        for c in admin.get("/api/conversations").json()["conversations"]:
            if c["channel"] == "sms" and any(e["text"] == text for e in _events(admin, c["patient_id"])):
                return c
        return None

    conv = _wait(mine)
    r = admin.request("PATCH", f"/api/patients/{conv['patient_id']}", json={"time_zone": ZONE})
    assert r.status_code == 200, r.text
    return p, conv


def _resolve(admin: Staff, conv: dict) -> None:
    r = admin.post(f"/api/conversations/{conv['id']}/status", json={"status": "resolved"})
    assert r.status_code in (200, 201), r.text


def _kinds(admin: Staff, conv: dict, kind: str) -> list[dict]:
    return [e for e in _events(admin, conv["patient_id"]) if e["kind"] == kind and e["conversation_id"] == conv["id"]]


def test_sms_asked_once_in_english_and_a_4_is_the_score_not_a_menu_choice(hub, twilio, admin):
    p, conv = _chat(hub, twilio, admin, "+14155550141", "What are your opening hours?")
    before = len(p.texts())
    _resolve(admin, conv)
    texts = p.waits_for(before + 1)
    assert "Reply with a number from 1 (poor) to 5 (excellent)" in texts[-1]
    asked = _wait(lambda: _kinds(admin, conv, "csat_asked"))
    assert asked[0]["data"]["channel"] == "sms" and asked[0]["data"]["locale"] == "en"

    p.says("4")
    answered = _wait(lambda: _kinds(admin, conv, "csat_answered"))
    assert answered[0]["data"] == {"score": 4, "channel": "sms", "asked_seq": asked[0]["seq"]}
    time.sleep(1.5)
    assert len(p.texts()) == before + 1  # the assistant did not answer "4" with its menu's choice
    convs = admin.get("/api/conversations", params={"status": ["open", "pending"]}).json()["conversations"]
    assert not [c for c in convs if c["patient_id"] == conv["patient_id"]]  # no new conversation
    assert admin.get(f"/api/conversations/{conv['id']}").json()["status"] == "resolved"

    # Reopened and resolved again: never asked twice. A second "5" is not a second answer.
    r = admin.post(f"/api/conversations/{conv['id']}/status", json={"status": "open"})
    assert r.status_code in (200, 201), r.text
    _resolve(admin, conv)
    time.sleep(1.5)
    assert len(_kinds(admin, conv, "csat_asked")) == 1 and len(p.texts()) == before + 1


def test_sms_in_spanish_with_a_comment(hub, twilio, admin):
    p, conv = _chat(hub, twilio, admin, "+14155550142", "Hola, ¿a qué hora abren el sábado?")
    before = len(p.texts())
    _resolve(admin, conv)
    assert "Responda con un número del 1 (mal) al 5 (excelente)" in p.waits_for(before + 1)[-1]
    p.says("Cinco, la recepcionista fue muy amable")
    answered = _wait(lambda: _kinds(admin, conv, "csat_answered"))
    assert answered[0]["data"]["score"] == 5
    assert answered[0]["data"]["comment"] == "la recepcionista fue muy amable"


def test_an_opted_out_number_is_never_asked(hub, twilio, admin):
    p, conv = _chat(hub, twilio, admin, "+14155550143", "Do you take walk-ins?")
    p.says("STOP")
    confirmed = p.waits_for(2)
    _resolve(admin, conv)
    time.sleep(2)
    assert len(p.texts()) == len(confirmed)
    assert not _kinds(admin, conv, "csat_asked")


def test_quiet_hours_hold_it_until_morning(hub, twilio, admin, clock: TestClock):
    p, conv = _chat(hub, twilio, admin, "+14155550144", "Can I get a flu shot?")
    before = len(p.texts())
    clock.advance(_next_local(22) - clock.now())  # 10 pm where the patient lives
    _resolve(admin, conv)
    time.sleep(2)
    assert len(p.texts()) == before and not _kinds(admin, conv, "csat_asked")
    clock.advance(_next_local(8) - clock.now())  # 8 am the next morning
    morning = clock.now().astimezone(ZoneInfo(ZONE))
    assert 8 <= morning.hour < 9, morning
    p.waits_for(before + 1)  # the worker looks again within seconds
    assert _wait(lambda: _kinds(admin, conv, "csat_asked"))


def test_a_red_flag_comment_takes_the_urgent_path(hub, twilio, admin):
    p, conv = _chat(hub, twilio, admin, "+14155550145", "I need a refill")
    before = len(p.texts())
    _resolve(admin, conv)
    p.waits_for(before + 1)
    p.says("1 and now I have crushing chest pain")
    answered = _wait(lambda: _kinds(admin, conv, "csat_answered"))
    assert answered[0]["data"]["comment"] == "and now I have crushing chest pain"
    now = _wait(lambda: (c := admin.get(f"/api/conversations/{conv['id']}").json())["urgent_since"] and c)
    assert now["status"] == "open" and now["priority"] >= 10
    assert any("911" in t for t in p.waits_for(before + 2)[before + 1 :])
    handoffs = _kinds(admin, conv, "handoff")
    assert handoffs and handoffs[-1]["data"]["urgent"] is True and handoffs[-1]["data"]["reason"] == "red_flag"


def test_off_per_channel(hub, twilio, admin):
    sofia = Staff(hub.base_url, "sofia")
    assert sofia.request("PUT", "/api/csat/channels", json={"sms": False}).status_code == 403
    r = admin.request("PUT", "/api/csat/channels", json={"sms": False})
    assert r.status_code == 200 and r.json() == {"sms": False, "webchat": True, "email": True}
    assert sofia.get("/api/csat/channels").json()["sms"] is False
    assert admin.request("PUT", "/api/csat/channels", json={"fax": False}).status_code == 400
    sofia.close()
    audit = admin.get("/api/audit", params={"action": "csat.channels"}).json()
    audit = audit.get("entries", audit) if isinstance(audit, dict) else audit
    assert any(row["detail"] == {"sms": False} for row in audit)

    p, conv = _chat(hub, twilio, admin, "+14155550146", "Where do I park?")
    before = len(p.texts())
    _resolve(admin, conv)
    time.sleep(2)
    assert len(p.texts()) == before and not _kinds(admin, conv, "csat_asked")


# --- email: a link to the survey page, over real SMTP --------------------------------------------


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


@pytest.fixture
def mail_hub(tmp_path, sink: SmtpSink, clock: TestClock):
    settings = mail_settings(tmp_path, sink.port)
    srv = HubServer(replace(settings, csat=CsatSettings(enabled=True)), clock=clock.now).start()
    yield srv
    srv.stop()


def _email_chat(srv: HubServer, admin: Staff, sender: str, text: str, message_id: str, language: str) -> dict:
    assert send_mail(srv.settings.email.listen_port, simple_mail(sender, text, message_id), sender).code == 250

    def mine() -> dict | None:
        for c in admin.get("/api/conversations").json()["conversations"]:
            if c["channel"] == "email" and any(e["text"] == text for e in _events(admin, c["patient_id"])):
                return c
        return None

    conv = _wait(mine)
    r = admin.request(
        "PATCH", f"/api/patients/{conv['patient_id']}", json={"time_zone": ZONE, "preferred_language": language}
    )
    assert r.status_code == 200, r.text
    return conv


def survey_link(mail) -> str:  # noqa: ANN001
    body = mail.get_body(("plain",)).get_content()
    return next(word for word in body.split() if "/survey.html?t=" in word)


@pytest.mark.parametrize(
    ("text", "subject", "language"),
    [
        ("Hello, could you send me the new patient forms? Thank you very much.", "How did we do?", "en"),
        ("Hola, ¿me pueden enviar los formularios para pacientes nuevos? Muchas gracias.", "¿Cómo le atendimos?", "es"),
    ],
)
def test_email_gets_a_link_to_the_survey_page(mail_hub, sink, text, subject, language):
    admin = Staff(mail_hub.base_url, "admin")
    conv = _email_chat(mail_hub, admin, f"pat.{language}@example.org", text, f"csat-{language}@example.org", language)
    _resolve(admin, conv)
    (mail,) = sink.wait_for(1)
    assert mail["To"] == f"pat.{language}@example.org"  # a reply in the patient's thread
    assert subject in mail.get_body(("plain",)).get_content()
    link = survey_link(mail)
    assert link.startswith(f"{mail_hub.base_url}/survey.html?t=")
    token = link.split("?t=", 1)[1]
    http = httpx.Client(base_url=mail_hub.base_url, timeout=10)
    page = http.get(link.removeprefix(mail_hub.base_url))
    assert page.status_code == 200 and "survey.js" in page.text
    shown = http.get(f"/api/csat/survey/{token}").json()
    assert shown == {"state": "open", "language": language, "clinic": mail_hub.settings.clinic.name}

    assert http.post(f"/api/csat/survey/{token}", json={"score": 6}).status_code == 400
    assert http.post(f"/api/csat/survey/{token}x", json={"score": 4}).status_code == 404
    assert http.post(f"/api/csat/survey/{conv['id'] + 1}.forged", json={"score": 4}).status_code == 404
    r = http.post(f"/api/csat/survey/{token}", json={"score": 4, "comment": "Quick and kind"})
    assert r.status_code == 200, r.text
    again = http.post(f"/api/csat/survey/{token}", json={"score": 1})
    assert again.status_code == 409
    assert http.get(f"/api/csat/survey/{token}").json()["state"] == "answered"
    answered = _kinds(admin, conv, "csat_answered")
    assert [a["data"] for a in answered] == [
        {
            "score": 4,
            "comment": "Quick and kind",
            "channel": "email",
            "asked_seq": _kinds(admin, conv, "csat_asked")[0]["seq"],
        }
    ]
    http.close()
    admin.close()


# --- web chat: stars in the widget ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "question"),
    [
        ("Hi, can I book a flu shot?", "en", "How did we do?"),
        ("Hola, ¿puedo pedir una vacuna?", "es", "¿Cómo le atendimos?"),
    ],
)
def test_webchat_stars(hub, admin, text, language, question):
    visitor = VisitorClient(hub.base_url, hub.ws_url)
    visitor.start(name="Lupe Ortiz")
    assert visitor.send(text, language=language).status_code in (200, 201, 202)
    conv = _wait(
        lambda: next(
            (
                c
                for c in admin.get("/api/conversations").json()["conversations"]
                if c["channel"] == "webchat" and any(e["text"] == text for e in _events(admin, c["patient_id"]))
            ),
            None,
        )
    )
    r = admin.request("PATCH", f"/api/patients/{conv['patient_id']}", json={"time_zone": ZONE})
    assert r.status_code == 200, r.text
    assert visitor.post("/api/webchat/csat", json={"score": 5}).status_code == 404  # nothing asked yet
    visitor.open(after=0)
    _resolve(admin, conv)
    asked = visitor.until(lambda f: f["type"] == "message" and f.get("survey") is True)
    assert asked["text"].startswith(question) and asked["author"] == "clinic"
    plain = [f for f in visitor.frames if f["type"] == "message" and not f.get("survey")]
    assert plain and all("survey" not in f for f in plain)  # the flag only where it is true

    assert visitor.post("/api/webchat/csat", json={"score": 0}).status_code == 400
    r = visitor.post("/api/webchat/csat", json={"score": 5, "comment": "  Muy amables  "})
    assert r.status_code == 200, r.text
    assert visitor.post("/api/webchat/csat", json={"score": 2}).status_code == 409
    answered = _kinds(admin, conv, "csat_answered")
    assert [a["data"]["score"] for a in answered] == [5] and answered[0]["data"]["comment"] == "Muy amables"
    assert answered[0]["data"]["channel"] == "webchat"
    other = VisitorClient(hub.base_url, hub.ws_url)
    other.start(name="Someone Else")
    assert other.post("/api/webchat/csat", json={"score": 5}).status_code == 404  # another visitor: no question
    assert (
        VisitorClient(hub.base_url, hub.ws_url, token="forged").post("/api/webchat/csat", json={"score": 5}).status_code
        == 401
    )
    visitor.close()


# --- the pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", (4, None)),
        ("5!", (5, None)),
        ("4/5", (4, None)),
        ("3 stars", (3, None)),
        ("cinco", (5, None)),
        ("Cuatro, la enfermera fue muy amable", (4, "la enfermera fue muy amable")),
        ("⭐⭐⭐", (3, None)),
        ("2 - the wait was long", (2, "the wait was long")),
        ("45", None),  # not a score: an age, a number of minutes...
        ("4.5", None),
        ("12 pm", None),
        ("6", None),
        ("0", None),
        ("hello", None),
        ("", None),
    ],
)
def test_reading_a_score(text, expected):
    assert parse_answer(text) == expected


def test_quiet_hours_in_the_patients_zone():
    zone = ZoneInfo(ZONE)
    at = lambda h, m=0: datetime(2026, 12, 3, h, m, tzinfo=zone).astimezone(UTC)  # noqa: E731
    assert next_allowed(at(8), zone) is None and next_allowed(at(20, 59), zone) is None
    assert next_allowed(at(21), zone) == datetime(2026, 12, 4, 8, 0, tzinfo=zone)
    assert next_allowed(at(7, 59), zone) == datetime(2026, 12, 3, 8, 0, tzinfo=zone)
    assert next_allowed(at(0, 30), zone) == datetime(2026, 12, 3, 8, 0, tzinfo=zone)

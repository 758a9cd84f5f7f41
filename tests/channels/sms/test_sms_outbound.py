"""SMS end to end: a signed inbound text, an agent's reply stored then sent to a local server
that speaks Twilio's API (and fails on demand), status callbacks moving the status forward."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from tests.channels.sms.test_sms_webhooks import _fields, _post
from tests.support.clients import Staff
from tests.support.server import TWILIO_ACCOUNT, HubServer, free_port, hub_settings
from tests.support.stream import StreamClient

PATIENT = "+16505550142"


@pytest.fixture
def sms_hub(tmp_path, twilio):
    settings = hub_settings(tmp_path)
    settings = replace(settings, sms=replace(settings.sms, api_base_url=twilio.url))
    srv = HubServer(settings).start()
    yield srv
    srv.stop()


def _wait(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _conversation(srv, http: httpx.Client, sid: str, text: str = "Hola, ¿a qué hora abren?") -> dict:
    assert _post(http, "/api/channels/sms/inbound", _fields(sid, text, sender=PATIENT)).status_code == 200
    sofia = Staff(srv.base_url, "sofia")
    return next(c for c in sofia.get("/api/conversations").json()["conversations"] if c["patient_name"] == PATIENT)


def _message(srv, patient_id: int, seq: int) -> dict:
    events = Staff(srv.base_url, "sofia").get(f"/api/patients/{patient_id}/timeline").json()["events"]
    return next(e for e in events if e["seq"] == seq)


def test_reply_is_sent_to_the_provider_and_callbacks_move_it_forward(sms_hub, twilio):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMin000001")
    ana = Staff(sms_hub.base_url, "ana")
    stream = StreamClient(sms_hub.ws_url, ana, after=ana.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()
    reply = ana.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Abrimos a las 8."}).json()
    assert reply["channel"] == "sms" and reply["data"]["status"] == "queued"  # stored before it is sent

    sent = _wait(lambda: twilio.requests)[0]
    assert sent == {
        "To": PATIENT,
        "From": "+16502530000",
        "Body": "Abrimos a las 8.",
        "StatusCallback": f"{sms_hub.base_url}/api/channels/sms/status",
    }
    message = _wait(lambda: (m := _message(sms_hub, conv["patient_id"], reply["seq"]))["provider_message_id"] and m)
    sid = message["provider_message_id"]
    assert sid.startswith("SM")

    for status in ("sent", "delivered", "sent"):  # Twilio's callbacks, the last one late
        r = _post(
            http, "/api/channels/sms/status", {"MessageSid": sid, "MessageStatus": status, "AccountSid": TWILIO_ACCOUNT}
        )
        assert r.status_code == 200
    assert _message(sms_hub, conv["patient_id"], reply["seq"])["data"]["status"] == "delivered"
    events = Staff(sms_hub.base_url, "sofia").get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
    stream.drain_until(max(e["seq"] for e in events))
    seen = [f["event"]["data"]["status"] for f in stream.events if f["event"]["kind"] == "delivery_status"]
    assert seen == ["sent", "delivered"]
    assert len(twilio.requests) == 1  # sent once
    stream.close()


def test_provider_errors_are_retried_with_backoff_then_sent_once(sms_hub, twilio):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMin000002")
    twilio.fail_next(
        (503, {"code": 20503, "message": "Service Unavailable"}),
        (429, {"code": 20429, "message": "Too Many Requests"}),
    )
    reply = (
        Staff(sms_hub.base_url, "ana")
        .post(f"/api/conversations/{conv['id']}/messages", json={"text": "Un momento, por favor."})
        .json()
    )
    _wait(lambda: len(twilio.requests) >= 3, timeout=20)  # 503, 429 (after 1 s), then accepted (after 4 s)
    message = _wait(lambda: (m := _message(sms_hub, conv["patient_id"], reply["seq"]))["provider_message_id"] and m)
    assert message["provider_message_id"].startswith("SM")
    time.sleep(0.5)
    assert len(twilio.requests) == 3 and {r["Body"] for r in twilio.requests} == {"Un momento, por favor."}


def test_an_opted_out_recipient_is_marked_and_not_texted_again(sms_hub, twilio):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMin000003")
    twilio.fail_next((400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}))
    ana = Staff(sms_hub.base_url, "ana")
    reply = ana.post(f"/api/conversations/{conv['id']}/messages", json={"text": "¿Sigue ahí?"}).json()
    message = _wait(
        lambda: (m := _message(sms_hub, conv["patient_id"], reply["seq"]))["data"]["status"] == "failed" and m
    )
    assert message["data"]["error_code"] == "21610"
    patient = ana.get(f"/api/patients/{conv['patient_id']}").json()
    assert patient["contact_points"][0]["opted_out_at"] is not None
    assert {"channel": "sms", "reachable": False, "reason": "opted out"} in patient["reply_channels"]
    again = ana.post(f"/api/conversations/{conv['id']}/messages", json={"text": "¿Hola?", "channel": "sms"})
    assert again.status_code == 400 and "opted out" in again.json()["detail"]
    assert len(twilio.requests) == 1


def _sent_to(twilio, number: str) -> list[str]:
    return [r["Body"] for r in twilio.requests if r["To"] == number]


def test_stop_start_help_in_english(sms_hub, twilio):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMkw000001", "Hi, is the clinic open today?")
    ana = Staff(sms_hub.base_url, "ana")

    assert _post(http, "/api/channels/sms/inbound", _fields("SMkw000002", "STOP", sender=PATIENT)).status_code == 200
    assert _post(http, "/api/channels/sms/inbound", _fields("SMkw000002", "STOP", sender=PATIENT)).status_code == 200
    assert _post(http, "/api/channels/sms/inbound", _fields("SMkw000003", "stop", sender=PATIENT)).status_code == 200
    confirmations = _wait(lambda: _sent_to(twilio, PATIENT))
    time.sleep(1.5)  # a second confirmation, if there were one, would have gone out by now
    assert _sent_to(twilio, PATIENT) == confirmations and len(confirmations) == 1  # one confirmation only
    assert "unsubscribed" in confirmations[0] and "START" in confirmations[0]
    patient = ana.get(f"/api/patients/{conv['patient_id']}").json()
    assert {"channel": "sms", "reachable": False, "reason": "opted out"} in patient["reply_channels"]
    assert patient["consents"][0]["channel"] == "sms" and patient["consents"][0]["granted"] is False
    blocked = ana.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Yes, until 6 pm", "channel": "sms"})
    assert blocked.status_code == 400 and "opted out" in blocked.json()["detail"]

    # opted out: HELP is stored for the inbox, but nothing more is texted until START
    assert _post(http, "/api/channels/sms/inbound", _fields("SMkw000004", "HELP", sender=PATIENT)).status_code == 200
    time.sleep(1.5)
    assert len(_sent_to(twilio, PATIENT)) == 1

    assert _post(http, "/api/channels/sms/inbound", _fields("SMkw000005", "Start", sender=PATIENT)).status_code == 200
    _wait(lambda: any("subscribed again" in b for b in _sent_to(twilio, PATIENT)))
    for _ in range(2):  # a HELP the provider retries is answered once
        r = _post(http, "/api/channels/sms/inbound", _fields("SMkw000006", "help", sender=PATIENT))
        assert r.status_code == 200
    help_text = _wait(lambda: [b for b in _sent_to(twilio, PATIENT) if "for help call" in b])
    time.sleep(1.5)
    assert len([b for b in _sent_to(twilio, PATIENT) if "for help call" in b]) == 1
    assert sms_hub.settings.clinic.name in help_text[0] and sms_hub.settings.clinic.phone in help_text[0]
    assert ana.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Welcome back!"}).status_code == 201

    timeline = Staff(sms_hub.base_url, "sofia").get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
    changes = [e["data"]["granted"] for e in timeline if e["kind"] == "consent_change"]
    assert changes == [False, True]
    keywords = [e["text"] for e in timeline if e["kind"] == "message_in"]
    assert keywords == ["Hi, is the clinic open today?", "STOP", "stop", "HELP", "Start", "help"]  # each stored once
    audit = Staff(sms_hub.base_url, "admin").get("/api/audit", params={"action": "consent.change"}).json()
    assert [r["detail"]["granted"] for r in reversed(audit)] == [False, True]


def test_alto_and_ayuda_answer_in_spanish(sms_hub, twilio):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    _conversation(sms_hub, http, "SMkw100001", "Hola")
    assert _post(http, "/api/channels/sms/inbound", _fields("SMkw100002", "AYUDA", sender=PATIENT)).status_code == 200
    _wait(lambda: _sent_to(twilio, PATIENT))  # out before the STOP: a reply still queued then stays unsent
    assert _post(http, "/api/channels/sms/inbound", _fields("SMkw100003", "Alto", sender=PATIENT)).status_code == 200
    texts = _wait(lambda: _sent_to(twilio, PATIENT) if len(_sent_to(twilio, PATIENT)) >= 2 else None)
    assert any("para ayuda llame al" in t for t in texts)
    assert any("Se ha dado de baja" in t for t in texts)


def _reply(srv, conv: dict, text: str) -> dict:
    r = Staff(srv.base_url, "ana").post(f"/api/conversations/{conv['id']}/messages", json={"text": text})
    assert r.status_code == 201, r.text
    return r.json()


def test_quick_replies_reach_the_patient_one_at_a_time_in_order(sms_hub, twilio):
    """Texts sent at once may arrive in any order: the next one for a patient leaves only once the
    provider has taken the one before."""
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMord00001")
    twilio.delay_s = 0.6
    texts = ["Primero: su cita es el lunes.", "Segundo: traiga su tarjeta.", "Tercero: llegue 10 minutos antes."]
    for text in texts:
        _reply(sms_hub, conv, text)
    _wait(lambda: len([s for s in twilio.spans if s[0] == PATIENT]) == 3)
    assert _sent_to(twilio, PATIENT) == texts
    spans = [s for s in twilio.spans if s[0] == PATIENT]
    for before, after in zip(spans, spans[1:], strict=False):
        assert after[1] >= before[2]  # arrived after the one before was answered


@pytest.mark.parametrize(
    "failure,posts,expect",
    [
        ("taken, then 500", 1, "queued"),  # it has it: adopted from its list, never sent again
        ("500 without taking it", 2, "queued"),  # its list has none: sent again, once
        ("201 without a sid", 1, "queued"),  # taken, though its reply had no sid: never sent again
    ],
)
def test_an_unclear_answer_is_looked_up_before_anything_is_sent_again(sms_hub, twilio, failure, posts, expect):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, f"SMamb{abs(hash(failure)) % 10**6}")
    if failure == "taken, then 500":
        twilio.take_then_fail.append((500, {"code": 20500, "message": "Internal Server Error"}))
    elif failure == "500 without taking it":
        twilio.fail_next((500, {"code": 20500, "message": "Internal Server Error"}))
    else:
        twilio.fail_next((201, {"status": "queued"}))
    message = _reply(sms_hub, conv, "¿Confirmamos su cita?")
    _wait(lambda: _sent_to(twilio, PATIENT))
    time.sleep(3.0)  # the look-up (and any send after it) has happened by now
    assert len(_sent_to(twilio, PATIENT)) == posts
    stored = _message(sms_hub, conv["patient_id"], message["seq"])
    assert stored["data"]["status"] == expect
    if failure != "201 without a sid":  # (a scripted answer: the fake keeps no record of it)
        assert len([m for m in twilio.accepted if m["to"] == PATIENT]) == 1  # the patient got it exactly once
        assert twilio.lookups >= 1
        sid = next(m["sid"] for m in twilio.accepted if m["to"] == PATIENT)
        assert stored["provider_message_id"] == sid


def test_an_answer_that_never_comes_is_looked_up_not_resent(tmp_path, twilio):
    """The provider takes the message but its answer comes after the hub stopped waiting: the hub
    asks for its list, finds the message there and adopts it; the patient gets one text."""
    settings = hub_settings(tmp_path)
    settings = replace(
        settings,
        sms=replace(settings.sms, api_base_url=twilio.url),
        outbox=replace(settings.outbox, provider_timeout_s=0.5),
    )
    srv = HubServer(settings).start()
    try:
        http = httpx.Client(base_url=srv.base_url, timeout=10)
        conv = _conversation(srv, http, "SMhang00001")
        twilio.hang_s = 2.0
        message = _reply(srv, conv, "Su receta está lista.")
        adopted = _wait(
            lambda: (m := _message(srv, conv["patient_id"], message["seq"]))["provider_message_id"] and m, timeout=20
        )
        twilio.hang_s = 0.0
        time.sleep(1.5)
        assert _sent_to(twilio, PATIENT) == ["Su receta está lista."] and twilio.lookups >= 1
        assert adopted["provider_message_id"] == twilio.accepted[-1]["sid"] and adopted["data"]["status"] == "queued"
    finally:
        srv.stop()


def test_a_reply_queued_before_stop_is_never_sent_after_it(sms_hub, twilio):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMq0000001")
    twilio.fail_next((429, {"code": 20429, "message": "Too Many Requests"}))  # the reply waits for its retry
    queued = _reply(sms_hub, conv, "Le recordamos su cita de mañana.")
    _wait(lambda: _sent_to(twilio, PATIENT))
    assert _post(http, "/api/channels/sms/inbound", _fields("SMq0000002", "STOP", sender=PATIENT)).status_code == 200
    message = _wait(
        lambda: (m := _message(sms_hub, conv["patient_id"], queued["seq"]))["data"]["status"] == "failed" and m,
        timeout=10,
    )
    assert "phone" in message["data"]["error"]
    bodies = _sent_to(twilio, PATIENT)
    assert bodies[0] == "Le recordamos su cita de mañana." and len(bodies) == 2  # the 429'd try + the confirmation
    assert "unsubscribed" in bodies[1] or "baja" in bodies[1]


def test_a_reply_goes_to_the_number_the_patient_wrote_from(sms_hub, twilio):
    """A patient with two numbers on file (an old one first) who writes from the newer one gets
    the answer there, not at the number that happens to be first."""
    import sqlite3

    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMtwo00001")  # from PATIENT: their first number
    newer = "+16505550199"
    with sqlite3.connect(sms_hub.settings.database.url.split("///", 1)[1]) as db:  # a second number, on file
        db.execute(
            "INSERT INTO contact_points (patient_id, kind, address, verified, created_at) "
            "VALUES (?, 'phone', ?, 1, CURRENT_TIMESTAMP)",
            (conv["patient_id"], newer),
        )
    assert _post(http, "/api/channels/sms/inbound", _fields("SMtwo00002", "Soy yo", sender=newer)).status_code == 200
    _reply(sms_hub, conv, "Le escribimos a este número.")
    _wait(lambda: _sent_to(twilio, newer))
    assert _sent_to(twilio, PATIENT) == []
    assert _post(http, "/api/channels/sms/inbound", _fields("SMtwo00003", "Y ahora", sender=PATIENT)).status_code == 200
    _reply(sms_hub, conv, "Y ahora a este.")
    assert _wait(lambda: _sent_to(twilio, PATIENT)) == ["Y ahora a este."]
    # The newer number opts out, last: a reply is not redirected to the other number on file.
    assert _post(http, "/api/channels/sms/inbound", _fields("SMtwo00004", "STOP", sender=newer)).status_code == 200
    _wait(lambda: len(_sent_to(twilio, newer)) == 2)  # the opt-out confirmation
    message = _reply(sms_hub, conv, "¿Sigue ahí?")
    _wait(lambda: _message(sms_hub, conv["patient_id"], message["seq"])["data"]["status"] == "failed")
    assert _sent_to(twilio, PATIENT) == ["Y ahora a este."]


def test_a_carrier_opt_out_is_a_recorded_consent_change(sms_hub, twilio):
    http = httpx.Client(base_url=sms_hub.base_url, timeout=10)
    conv = _conversation(sms_hub, http, "SMc0000001")
    twilio.fail_next((400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}))
    _reply(sms_hub, conv, "Hola")
    sofia = Staff(sms_hub.base_url, "sofia")
    change = _wait(
        lambda: [
            e
            for e in sofia.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
            if e["kind"] == "consent_change"
        ]
    )
    assert change[0]["data"]["granted"] is False and "21610" in change[0]["data"]["reason"]
    audit = Staff(sms_hub.base_url, "admin").get("/api/audit", params={"action": "consent.change"}).json()
    assert audit and audit[0]["patient_id"] == conv["patient_id"]


def test_a_restarted_hub_looks_up_stale_claims_and_leaves_live_ones(tmp_path, twilio):
    """A hub killed mid-send leaves claims nobody will settle. The next start asks the provider:
    what it took is adopted (not failed, not sent again), what it never got is sent once; a
    claim another live hub holds is left alone."""
    import sqlite3

    from tests.support.clients import inbound, post_inbound

    settings = hub_settings(tmp_path)
    # The provider cannot be reached (nothing listens there): replies stay queued.
    unreachable = f"http://127.0.0.1:{free_port()}"
    settings = replace(settings, sms=replace(settings.sms, api_base_url=unreachable, from_number="+16502530000"))
    first = HubServer(settings).start()
    http = httpx.Client(base_url=first.base_url, timeout=10)
    conv = post_inbound(http, inbound("hola", "stale-1", address=PATIENT)).json()
    ana = Staff(first.base_url, "ana")
    texts = {"went": "a", "never": "b", "live": "c"}
    seqs = {
        k: ana.post(
            f"/api/conversations/{conv['conversation_id']}/messages", json={"text": t, "channel": "sms"}
        ).json()["seq"]
        for k, t in texts.items()
    }
    first.stop()
    with sqlite3.connect(settings.database.url.split("///", 1)[1]) as db:  # as a kill -9 would leave them
        for k in ("went", "never"):
            db.execute(
                "UPDATE outbox SET state='sending', claimed_by='gone', claimed_at=datetime('now','-10 minutes') "
                "WHERE message_seq=?",
                (seqs[k],),
            )
        db.execute(
            "UPDATE outbox SET state='sending', claimed_by='other-live-hub', claimed_at=datetime('now') "
            "WHERE message_seq=?",
            (seqs["live"],),
        )
    # "a" reached the provider before the kill; "b" never did.
    twilio.accepted.append(
        {
            "sid": "SMwentbeforethekill000000000000000",
            "status": "delivered",
            "to": PATIENT,
            "from": "+16502530000",
            "body": "a",
            "date_created": format_datetime(datetime.now(UTC), usegmt=True),
            "_day": datetime.now(UTC).strftime("%Y-%m-%d"),
        }
    )
    again = HubServer(
        replace(hub_settings(tmp_path), sms=replace(settings.sms, api_base_url=twilio.url, from_number="+16502530000"))
    ).start()
    try:
        sofia = Staff(again.base_url, "sofia")

        def events() -> dict:
            return {e["seq"]: e for e in sofia.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]}

        _wait(lambda: events()[seqs["never"]]["provider_message_id"], timeout=20)
        now = events()
        assert now[seqs["went"]]["data"]["status"] == "delivered"
        assert now[seqs["went"]]["provider_message_id"] == "SMwentbeforethekill000000000000000"
        assert _sent_to(twilio, PATIENT) == ["b"]  # only the one the provider never got
        assert now[seqs["live"]]["data"]["status"] == "queued"  # another process is on it
    finally:
        again.stop()

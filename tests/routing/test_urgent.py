"""Urgent conversations always reach a person (hub/routing/urgent.py): with nobody of the emergency team
available they go straight to the floor; staff are alerted again, a circle wider, until someone takes
one; with nobody signed in at all, the first person who signs in is alerted; exactly one person takes
it, and it leaves the reach (and the live lists) of those it no longer concerns. The patient hears the
safety message alone. On the embedded default, and two hub processes on one PostgreSQL database."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.settings import RoutingSettings
from tests.bot.test_bot import Patient, _at_least, _conversation, _events, _wait
from tests.bot.test_bot_edges import _brief_keep_alive, _sql
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import HubServer, hub_settings
from tests.support.services import PostgresDatabase
from tests.support.stream import StreamClient

REALERT_S = 1


@pytest.fixture
def urgent_hub(tmp_path, twilio: FakeTwilio):
    """The assistant on, texting through the local Twilio, re-alerting every second."""
    settings = hub_settings(tmp_path, bot=True)
    settings = replace(
        settings, sms=replace(settings.sms, api_base_url=twilio.url), routing=RoutingSettings(realert_s=REALERT_S)
    )
    srv = HubServer(settings).start()
    yield srv
    srv.stop()


@pytest.fixture
def staff(urgent_hub):
    clients = {login: Staff(urgent_hub.base_url, login) for login in ("admin", "sofia", "ana", "ben")}
    yield clients
    for c in clients.values():
        c.close()


def _presence(staff: Staff, available: bool) -> None:
    """Signed in with the inbox open (the presence call marks them seen), available or Away."""
    r = staff.request("PUT", "/api/presence", json={"available": available})
    assert r.status_code == 200 and r.json()["available"] is available, r.text


def _alerts(staff: Staff, patient_id: int) -> list[dict]:
    return [e for e in _events(staff, patient_id) if e["kind"] == "urgent_alert"]


def _close_clinical_today(admin: Staff, hub: HubServer) -> None:
    teams = {t["key"]: t["id"] for t in admin.get("/api/teams").json()}
    today = datetime.now(ZoneInfo(hub.settings.clinic.timezone)).date()
    for day in (today, today + timedelta(days=1)):
        r = admin.post("/api/holidays", json={"day": day.isoformat(), "name": "Closed", "team_id": teams["clinical"]})
        assert r.status_code == 201, r.text


def test_nobody_of_the_emergency_team_available_goes_to_the_floor_and_one_person_takes_it(urgent_hub, twilio, staff):
    """Clinical is closed and its only member (Sofía) is Away: a Spanish emergency by SMS goes at
    once to the supervisors and to Ben, available in Billing. Ben takes it; Sofía's take is
    refused; Ana, whose teams it is not in, loses it from her reach and her live list."""
    admin, sofia, ana, ben = staff["admin"], staff["sofia"], staff["ana"], staff["ben"]
    _close_clinical_today(admin, urgent_hub)
    _presence(sofia, False)
    _presence(ben, True)
    ana_stream = StreamClient(urgent_hub.ws_url, ana, ana.get("/api/conversations").json()["last_seq"]).open()
    ana_stream.read_until_ready()

    p = Patient(urgent_hub, twilio, "+14155550191")
    p.says("tengo un dolor muy fuerte en el pecho")
    (safety,) = p.waits_for(1)
    assert "911" in safety and safety.startswith("Si es una emergencia")
    time.sleep(1.0)
    assert p.texts() == [safety]  # the safety message stands alone: no "in a minute"
    assert "minuto" not in safety

    conv = _conversation(sofia, "+14155550191")
    assert conv["urgent_since"] and conv["assignee_id"] is None and conv["escalation"] >= 2
    (first, *_) = _alerts(sofia, conv["patient_id"])
    assert first["data"]["circle"] == 2 and first["data"]["reason"] == "handoff" and first["data"]["alerted"] == 2
    # At the floor every agent may open it, not only Clinical's.
    assert ana.get(f"/api/conversations/{conv['id']}").status_code == 200
    assert ben.get(f"/api/conversations/{conv['id']}").status_code == 200

    r = ben.post(f"/api/conversations/{conv['id']}/assign", json={"agent_id": ben.me["id"], "take": True})
    assert r.status_code == 201 and r.json()["data"]["took_urgent"] is True, r.text
    was = next(a for a in _alerts(sofia, conv["patient_id"]))  # (the floor had it: escalation 2 or more)
    assert was["data"]["circle"] >= 2
    r = sofia.post(f"/api/conversations/{conv['id']}/assign", json={"agent_id": sofia.me["id"], "take": True})
    assert r.status_code == 409 and r.json()["detail"] == "Ben Agent has already taken this conversation."
    taken = sofia.get(f"/api/conversations/{conv['id']}").json()
    assert taken["assignee_id"] == ben.me["id"] and taken["urgent_since"] is None and taken["escalation"] == 0
    assert ana.get(f"/api/conversations/{conv['id']}").status_code == 404  # out of her reach again
    # Ana's live stream was told, so her row goes at once: the frame says the reach it left.
    frame = ana_stream.recv()
    while not (
        frame["type"] == "event"
        and frame["event"]["kind"] == "assignment"
        and frame["conversation"]["id"] == conv["id"]
    ):
        frame = ana_stream.recv()
    assert frame["was"]["escalation"] >= 2 and frame["conversation"]["escalation"] == 0
    # No more alerts once taken.
    count = len(_alerts(sofia, conv["patient_id"]))
    time.sleep(2.5 * REALERT_S)
    assert len(_alerts(sofia, conv["patient_id"])) == count
    ana_stream.close()


def test_the_alert_widens_each_interval_until_someone_takes_it(urgent_hub, twilio, staff):
    """Sofía, of Clinical, is available: the emergency goes to her and her circle is alerted. She does
    not take it, so a second later the floor is, then everyone signed in, again and again."""
    sofia, ben = staff["sofia"], staff["ben"]
    _presence(sofia, True)
    _presence(ben, False)  # signed in, Away: reached only at the widest circle
    p = Patient(urgent_hub, twilio, "+14155550192")
    p.says("I think I'm having a heart attack")
    assert "call 911" in p.waits_for(1)[0]
    conv = _conversation(sofia, "+14155550192")
    assert conv["assignee_id"] == sofia.me["id"] and conv["urgent_since"]  # assigned is not taken
    alerts = _wait(lambda: _at_least(_alerts(sofia, conv["patient_id"]), 4))
    assert [a["data"]["circle"] for a in alerts[:4]] == [1, 2, 3, 3]
    assert [a["data"]["reason"] for a in alerts[:4]] == ["handoff", "not_taken", "not_taken", "not_taken"]
    assert [a["data"]["alerted"] for a in alerts[:3]] == [1, 1, 2]  # Sofía; Sofía; Sofía and Ben
    stamps = [datetime.fromisoformat(a["created_at"]) for a in alerts[:4]]
    assert all((b - a).total_seconds() >= 0.9 * REALERT_S for a, b in zip(stamps, stamps[1:], strict=False))
    # Ben, an Away agent of Billing, is alerted at the widest circle and takes it.
    r = ben.post(f"/api/conversations/{conv['id']}/assign", json={"agent_id": ben.me["id"], "take": True})
    assert r.status_code == 201, r.text
    count = len(_alerts(sofia, conv["patient_id"]))
    time.sleep(2.5 * REALERT_S)
    assert len(_alerts(sofia, conv["patient_id"])) == count


def test_with_nobody_signed_in_the_first_person_who_signs_in_is_alerted(urgent_hub, twilio, staff):
    sofia, ana = staff["sofia"], staff["ana"]
    p = Patient(urgent_hub, twilio, "+14155550193")
    p.says("my son swallowed a battery")
    (safety,) = p.waits_for(1)
    assert "call 911" in safety and "minute" not in safety
    conv = _conversation(sofia, "+14155550193")  # reading the list is not being signed in
    (alert,) = _wait(lambda: _alerts(sofia, conv["patient_id"]) or None)
    assert alert["data"] == {**alert["data"], "circle": 3, "alerted": 0}
    time.sleep(2.5 * REALERT_S)
    assert len(_alerts(sofia, conv["patient_id"])) == 1  # nobody to alert: no alert piles up
    stream = StreamClient(urgent_hub.ws_url, ana, 0).open()  # Ana opens her inbox
    stream.read_until_ready()
    second = _wait(lambda: (a := _alerts(sofia, conv["patient_id"])) and len(a) >= 2 and a[1])
    assert second["data"]["reason"] == "someone_online" and second["data"]["alerted"] == 1
    r = ana.post(f"/api/conversations/{conv['id']}/assign", json={"agent_id": ana.me["id"], "take": True})
    assert r.status_code == 201, r.text
    stream.close()


def test_an_agent_answering_the_patient_takes_it(urgent_hub, twilio, staff):
    sofia = staff["sofia"]
    _presence(sofia, True)
    p = Patient(urgent_hub, twilio, "+14155550194")
    p.says("she is having a seizure and wont stop shaking")
    p.waits_for(1)
    conv = _conversation(sofia, "+14155550194")
    assert conv["urgent_since"]
    r = sofia.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Call 911 now. I am here with you."})
    assert r.status_code == 201, r.text
    assert sofia.get(f"/api/conversations/{conv['id']}").json()["urgent_since"] is None


def test_two_hubs_alert_once_per_step_and_only_one_person_takes_it(tmp_path):
    """Two hub processes sweep one PostgreSQL database at once: each step of the ladder is alerted
    once, and of two people taking it at the same moment through different hubs, one holds it."""
    pg = PostgresDatabase()
    routing = RoutingSettings(realert_s=REALERT_S)
    hubs = [HubServer(replace(hub_settings(tmp_path / name, db_url=pg.url), routing=routing)).start() for name in "ab"]
    try:
        sofia = [_brief_keep_alive(Staff(h.base_url, "sofia")) for h in hubs]
        ben = [_brief_keep_alive(Staff(h.base_url, "ben")) for h in hubs]
        _presence(sofia[0], True)  # Clinical's: the emergency is assigned to her, not yet taken
        _presence(ben[1], False)
        with httpx.Client(base_url=hubs[0].base_url, timeout=20) as http:
            r = post_inbound(http, inbound("I took too many pills", "urgent-pg-1", address="+14155550195"))
            assert r.status_code == 201, r.text
            conv_id, patient_id = r.json()["conversation_id"], r.json()["patient_id"]

        def alerts() -> list[list[str]]:
            return _sql(
                pg,
                "SELECT data, extract(epoch FROM created_at) FROM timeline_events"
                f" WHERE conversation_id = {conv_id} AND kind = 'urgent_alert' ORDER BY seq",
            )

        rows = _wait(lambda: _at_least(alerts(), 4), timeout=20)
        circles = [json.loads(data)["circle"] for data, _ in rows]
        assert circles[:3] == [1, 2, 3] and set(circles[3:]) == {3}
        stamps = [float(t) for _, t in rows]
        assert min(b - a for a, b in zip(stamps, stamps[1:], strict=False)) >= 0.9 * REALERT_S, stamps

        answers: list[httpx.Response] = []
        go = threading.Barrier(2)

        def take(client: Staff) -> None:
            go.wait()
            answers.append(
                client.post(f"/api/conversations/{conv_id}/assign", json={"agent_id": client.me["id"], "take": True})
            )

        threads = [threading.Thread(target=take, args=(c,)) for c in (sofia[0], ben[1])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        took = _sql(
            pg,
            "SELECT count(*) FROM timeline_events"
            f" WHERE conversation_id = {conv_id} AND kind = 'assignment' AND data::text LIKE '%took_urgent%'",
        )
        assert took == [["1"]]
        count = len(alerts())
        time.sleep(2.5 * REALERT_S)
        assert len(alerts()) == count
        assert patient_id
        for c in sofia + ben:
            c.close()
    finally:
        for h in hubs:
            h.stop()
        pg.drop()

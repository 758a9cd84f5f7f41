"""The inbox's views (open, waiting for me, mine, my team's, urgent, snoozed, resolved, all), their
filters, keyset pages and counts, within each staff member's reach; snoozing until a time, and the
conversation coming back by itself (on a clock the test moves, and on two hubs sharing PostgreSQL,
once), or at once when the patient writes; a resolved conversation reopened."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.bot.test_bot import Patient
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import HubServer, TestClock, hub_settings
from tests.support.services import PostgresDatabase
from tests.support.stream import StreamClient

VIEWS = ("open", "waiting", "mine", "team", "urgent", "snoozed", "resolved", "all")


def _ids(staff: Staff, view: str, **params: object) -> list[int]:
    """Every conversation of the view, page after page (two at a time: the keyset walk is tested too)."""
    out: list[int] = []
    before = None
    for _ in range(500):
        q = {"view": view, "limit": 2, **params, **({"before": before} if before else {})}
        r = staff.get("/api/conversations", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        out += [c["id"] for c in body["conversations"] if c["id"] not in out]  # an old urgent one rides on page 1
        before = body["next_before"]
        if before is None:
            return out
    raise AssertionError("the pages never ended")


def _counts(staff: Staff, **params: object) -> dict[str, int]:
    r = staff.get("/api/conversations/counts", params=params)
    assert r.status_code == 200, r.text
    return r.json()["counts"]


def _new(http: httpx.Client, text: str, pid: str, address: str, **extra: object) -> int:
    r = post_inbound(http, inbound(text, pid, address=address, **extra))
    assert r.status_code == 201, r.text
    return r.json()["conversation_id"]


def _status(staff: Staff, cid: int, status: str) -> dict:
    r = staff.post(f"/api/conversations/{cid}/status", json={"status": status})
    assert r.status_code == 201, r.text
    return r.json()


def _snooze(staff: Staff, cid: int, **body: object) -> httpx.Response:
    return staff.post(f"/api/conversations/{cid}/snooze", json=body)


def _timeline(staff: Staff, cid: int) -> list[dict]:
    conv = staff.get(f"/api/conversations/{cid}").json()
    events = staff.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
    return [e for e in events if e["conversation_id"] == cid]


def _wait(check, timeout: float = 20.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError("not within the time allowed")


def test_views_membership_counts_filters_and_reach(hub_server, staff, integration):
    admin, sofia, ana, ben = staff["admin"], staff["sofia"], staff["ana"], staff["ben"]
    teams = {t["key"]: t["id"] for t in admin.get("/api/teams").json()}
    before = {who: _counts(s) for who, s in (("ana", ana), ("ben", ben), ("sofia", sofia))}

    spanish = _new(integration, "Necesito una cita", "v-1", "+16505550701", language="es")
    by_mail = _new(integration, "My bill", "v-2", "billing-q@example.org", kind="email", channel="email")
    billing = _new(integration, "Invoice question", "v-3", "+16505550703")
    r = sofia.post(f"/api/conversations/{billing}/transfer", json={"team_id": teams["billing"]})
    assert r.status_code == 201, r.text

    # Ana takes the Spanish one: hers, and waiting for her (the patient wrote last).
    assert ana.post(f"/api/conversations/{spanish}/assign", json={"agent_id": ana.me["id"]}).status_code == 201
    assert spanish in _ids(ana, "mine") and spanish in _ids(ana, "waiting") and spanish in _ids(ana, "open")
    assert spanish not in _ids(ben, "mine") and spanish not in _ids(ben, "waiting")
    now = _counts(ana)
    assert now["mine"] == before["ana"]["mine"] + 1 and now["waiting"] == before["ana"]["waiting"] + 1
    assert now["open"] == before["ana"]["open"] + 2  # the billing team's is out of Ana's reach
    # She answers: still hers, no longer waiting for her.
    r = ana.post(f"/api/conversations/{spanish}/messages", json={"text": "Claro, ¿qué día?", "channel": "api"})
    assert r.status_code == 201, r.text
    assert spanish in _ids(ana, "mine") and spanish not in _ids(ana, "waiting")
    assert _counts(ana)["waiting"] == before["ana"]["waiting"]

    # Reach: the billing team's conversation is Ben's team's, not Ana's; the supervisor sees all.
    assert billing in _ids(ben, "team") and billing not in _ids(ana, "team")
    assert billing not in _ids(ana, "all") and billing in _ids(sofia, "all")
    assert ana.get(f"/api/conversations/{billing}").status_code == 404
    assert _counts(ben)["team"] == before["ben"]["team"] + 1
    assert _counts(ana)["team"] == before["ana"]["team"]  # (the demo's and the new ones have no team)
    assert _counts(sofia)["all"] == before["sofia"]["all"] + 3

    # Filters: channel, team, language, status.
    mail = sofia.get("/api/conversations", params={"view": "all", "channel": "email", "limit": 500}).json()
    assert by_mail in [c["id"] for c in mail["conversations"]] and {c["channel"] for c in mail["conversations"]} == {
        "email"
    }
    assert by_mail in _ids(sofia, "open", channel="email") and spanish not in _ids(sofia, "open", channel="email")
    in_billing = sofia.get("/api/conversations", params={"view": "open", "team": teams["billing"], "limit": 500}).json()
    assert billing in [c["id"] for c in in_billing["conversations"]]
    assert {c["team_id"] for c in in_billing["conversations"]} == {teams["billing"]}
    assert spanish in _ids(ana, "all", language="es") and by_mail not in _ids(ana, "all", language="es")
    assert _counts(sofia, team=teams["billing"])["open"] == len(in_billing["conversations"])
    assert _counts(sofia, channel="email")["open"] == len(_ids(sofia, "open", channel="email"))

    # Resolved: out of the open views, one view away; reopened, back.
    _status(ana, by_mail, "resolved")
    assert by_mail in _ids(ana, "resolved") and by_mail not in _ids(ana, "open") and by_mail in _ids(ana, "all")
    assert by_mail in _ids(ana, "all", status="resolved") and by_mail not in _ids(ana, "all", status="open")
    reopened = _status(ana, by_mail, "open")
    assert reopened["data"] == {"from": "resolved", "to": "open"}
    assert by_mail in _ids(ana, "open") and by_mail not in _ids(ana, "resolved")

    # Snoozed: out of the open views (and mine), in the snoozed view and in all.
    r = _snooze(ana, spanish, preset="hour")
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "snoozed" and r.json()["data"]["preset"] == "hour"
    assert spanish not in _ids(ana, "open") and spanish not in _ids(ana, "mine")
    assert spanish in _ids(ana, "snoozed") and spanish in _ids(ana, "all", status="snoozed")
    assert spanish not in [c["id"] for c in ana.get("/api/conversations").json()["conversations"]]
    assert spanish not in [
        c["id"] for c in ana.get("/api/conversations", params={"mine": True}).json()["conversations"]
    ]

    # Each view's count is exactly what the view lists, for each of them, with and without filters.
    for who in (ana, ben, sofia):
        counts = _counts(who)
        assert set(counts) == set(VIEWS)
        for view in VIEWS:
            assert counts[view] == len(_ids(who, view)), (who.me["display_name"], view)
        es = _counts(who, language="es", status="snoozed")
        for view in VIEWS:
            assert es[view] == len(_ids(who, view, language="es", status="snoozed")), (who.me["display_name"], view)

    # Pages: newest activity first, no gap, no repeat.
    page = ana.get("/api/conversations", params={"view": "all", "limit": 500}).json()["conversations"]
    assert [c["id"] for c in page] == _ids(ana, "all")
    seqs = [c["last_event_seq"] for c in page]
    assert seqs == sorted(seqs, reverse=True)

    # Every listing was audited.
    audit = admin.get("/api/audit", params={"action": "conversations.list", "agent_id": ana.me["id"], "limit": 5})
    assert audit.json()[0]["detail"]["view"] == "all", audit.text


def test_bad_view_filter_and_snooze_requests_are_clear_4xx(hub_server, staff, integration):
    ana = staff["ana"]
    cid = _new(integration, "hello", "bad-1", "+16505550711")
    for params in (
        {"view": "everything"},
        {"view": "open", "status": ["open", "resolved"]},
        {"view": "open", "language": "not a language"},
        {"view": "open", "before": 0},
        {"view": "open", "channel": "fax"},
        {"view": "open", "team": "billing"},
    ):
        r = ana.get("/api/conversations", params=params)
        assert r.status_code == 400, (params, r.text)
    assert ana.get("/api/conversations/counts", params={"status": "asleep"}).status_code == 400
    soon = datetime.now(UTC) + timedelta(hours=2)
    for body, words in (
        ({}, "a time or a preset"),
        ({"preset": "hour", "until": soon.isoformat()}, "a time or a preset"),
        ({"until": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}, "in the future"),
        ({"until": (datetime.now(UTC) + timedelta(days=91)).isoformat()}, "90 days"),
        ({"until": soon.replace(tzinfo=None).isoformat()}, "time zone"),
    ):
        r = _snooze(ana, cid, **body)
        assert r.status_code == 400 and words in r.json()["detail"], (body, r.text)
    assert _snooze(ana, cid, preset="next week").status_code == 400
    assert _snooze(ana, 999999, preset="hour").status_code == 404
    r = ana.request("DELETE", f"/api/conversations/{cid}/snooze")
    assert r.status_code == 400 and "not snoozed" in r.json()["detail"]
    _status(ana, cid, "resolved")
    r = _snooze(ana, cid, preset="hour")
    assert r.status_code == 400 and "resolved" in r.json()["detail"]
    assert not [e for e in _timeline(ana, cid) if e["kind"] in ("snoozed", "snooze_ended")]  # nothing written


def test_snooze_comes_back_by_itself_on_the_hubs_clock(tmp_path):
    """A preset hour on a clock the test moves: at the hour the conversation wakes, live, once; tomorrow
    morning is 8 AM in the clinic's time zone; staff can end a snooze early."""
    clock = TestClock()
    srv = HubServer(hub_settings(tmp_path), clock=clock.now).start()
    ana = Staff(srv.base_url, "ana")
    try:
        with httpx.Client(base_url=srv.base_url) as http:
            cid = _new(http, "Call me back later", "clock-1", "+16505550721")
            other = _new(http, "And me tomorrow", "clock-2", "+16505550722")
        stream = StreamClient(srv.ws_url, ana, after=ana.get("/api/conversations").json()["last_seq"]).open()
        stream.read_until_ready()
        snoozed = _snooze(ana, cid, preset="hour").json()
        until = datetime.fromisoformat(snoozed["data"]["until"])
        assert timedelta(minutes=59) < until - clock.now() <= timedelta(hours=1)

        zone = ZoneInfo(srv.settings.clinic.timezone)
        morning = _snooze(ana, other, preset="tomorrow_morning").json()
        local = datetime.fromisoformat(morning["data"]["until"]).astimezone(zone)
        assert (local.hour, local.minute) == (8, 0)
        assert local.date() == clock.now().astimezone(zone).date() + timedelta(days=1)
        ended = ana.request("DELETE", f"/api/conversations/{other}/snooze")
        assert ended.status_code == 200 and ended.json()["data"]["reason"] == "staff"

        time.sleep(6)  # more than the worker's idle poll: nothing wakes before its time
        assert cid in _ids(ana, "snoozed") and cid not in _ids(ana, "open")
        clock.advance(timedelta(minutes=61))
        woke = _wait(lambda: next((e for e in _timeline(ana, cid) if e["kind"] == "snooze_ended"), None))
        assert woke["data"] == {"reason": "time", "until": snoozed["data"]["until"]} and woke["author_type"] == "system"
        assert cid in _ids(ana, "open") and cid not in _ids(ana, "snoozed")
        stream.drain_until(woke["seq"])
        frame = next(f for f in stream.events if f["seq"] == woke["seq"])
        assert frame["conversation"]["snoozed_until"] is None
        before = next(f for f in stream.events if f["seq"] == snoozed["seq"])
        assert before["conversation"]["snoozed_until"] is not None
        time.sleep(6)  # another turn of the worker: it wakes once
        assert [e["kind"] for e in _timeline(ana, cid)].count("snooze_ended") == 1
        stream.close()
    finally:
        ana.close()
        srv.stop()


def test_a_patient_writing_wakes_it_at_once(hub_server, staff, integration):
    ana = staff["ana"]
    cid = _new(integration, "Is my result in?", "wake-1", "+16505550731")
    assert ana.post(f"/api/conversations/{cid}/assign", json={"agent_id": ana.me["id"]}).status_code == 201
    snoozed = _snooze(ana, cid, until=(datetime.now(UTC) + timedelta(days=2)).isoformat()).json()
    assert snoozed["data"].get("preset") is None
    assert cid not in _ids(ana, "mine")
    again = post_inbound(integration, inbound("Hello? Anyone?", "wake-2", address="+16505550731")).json()
    assert again["conversation_id"] == cid
    conv = ana.get(f"/api/conversations/{cid}").json()
    assert conv["snoozed_until"] is None and conv["last_event_seq"] > again["seq"]
    kinds = [(e["kind"], e["data"].get("reason")) for e in _timeline(ana, cid)]
    assert kinds[-3:] == [("snoozed", None), ("message_in", None), ("snooze_ended", "patient_wrote")]
    assert cid in _ids(ana, "mine") and cid in _ids(ana, "waiting") and cid not in _ids(ana, "snoozed")


def test_urgent_view_and_snoozing_an_urgent_conversation_is_refused(bot_hub, twilio):
    sofia = Staff(bot_hub.base_url, "sofia")
    try:
        before = _counts(sofia)["urgent"]
        Patient(bot_hub, twilio, "+14155550741").says("tengo un dolor muy fuerte en el pecho")
        cid = _wait(lambda: next(iter(_ids(sofia, "urgent")), None))
        assert _counts(sofia)["urgent"] == before + 1
        r = _snooze(sofia, cid, preset="hour")
        assert r.status_code == 400 and "urgent" in r.json()["detail"]
        assert (
            sofia.post(f"/api/conversations/{cid}/assign", json={"agent_id": sofia.me["id"], "take": True}).status_code
            == 201
        )
        assert cid not in _ids(sofia, "urgent") and _counts(sofia)["urgent"] == before
    finally:
        sofia.close()


def test_two_hubs_on_one_postgres_wake_each_conversation_once(tmp_path):
    pg = PostgresDatabase()
    a = HubServer(hub_settings(tmp_path / "a", db_url=pg.url)).start()
    b = HubServer(hub_settings(tmp_path / "b", db_url=pg.url)).start()
    ana_a, ana_b = Staff(a.base_url, "ana"), Staff(b.base_url, "ana")
    try:
        with httpx.Client(base_url=a.base_url) as http:
            cids = [_new(http, f"later {i}", f"pg-{i}", f"+1650555{750 + i:04d}") for i in range(12)]
        until = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()  # all at once: both hubs race for them
        for i, cid in enumerate(cids):
            assert _snooze(ana_a if i % 2 else ana_b, cid, until=until).status_code == 201
        assert set(cids) <= set(_ids(ana_a, "snoozed"))
        _wait(lambda: not set(cids) & set(_ids(ana_b, "snoozed")), timeout=30)
        time.sleep(6)  # a further turn of both workers
        for cid in cids:
            woke = [e for e in _timeline(ana_a, cid) if e["kind"] == "snooze_ended"]
            assert len(woke) == 1 and woke[0]["data"]["reason"] == "time", (cid, woke)
        assert set(cids) <= set(_ids(ana_b, "open"))
    finally:
        ana_a.close()
        ana_b.close()
        a.stop()
        b.stop()
        pg.drop()

"""The API channel: exactly once, acknowledged only after commit, one patient per person."""

from __future__ import annotations

import sqlite3

import httpx

from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import HubServer, hub_settings
from tests.support.stream import in_threads


def _db(srv: HubServer) -> sqlite3.Connection:
    return sqlite3.connect(srv.settings.database.url.split("///", 1)[1])


def test_retries_never_create_a_second_event_even_concurrently(any_hub_server):
    srv = any_hub_server
    # 40 distinct messages, each sent 5 times at once from different threads
    bodies = [inbound(f"retry {i}", f"retry-{i}", address=f"+1650555{200 + i % 7:04d}") for i in range(40)] * 5
    with httpx.Client(base_url=srv.base_url, timeout=20) as http:
        results = in_threads(lambda b: post_inbound(http, b), bodies, threads=10)
    assert all(r.status_code in (200, 201) for r in results), {r.status_code for r in results}
    by_id: dict[str, set[int]] = {}
    for body, r in zip(bodies, results, strict=True):
        by_id.setdefault(body["provider_message_id"], set()).add(r.json()["seq"])
    assert all(len(seqs) == 1 for seqs in by_id.values()), "a retry got a different event"
    assert sum(r.status_code == 201 for r in results) == 40
    sofia = Staff(srv.base_url, "sofia")
    patients = {r.json()["patient_id"] for r in results}
    assert len(patients) == 7
    texts = [
        e["text"]
        for p in patients
        for e in sofia.get(f"/api/patients/{p}/timeline", params={"limit": 500}).json()["events"]
    ]
    assert sorted(texts) == sorted(f"retry {i}" for i in range(40))


def test_each_ack_comes_after_commit(hub_server):
    """Whenever a 201 arrives, another connection to the database already sees the event."""
    db = _db(hub_server)
    with httpx.Client(base_url=hub_server.base_url, timeout=20) as http:

        def send_and_look(i: int) -> tuple[int, int]:
            r = post_inbound(http, inbound(f"durable {i}", f"durable-{i}", address="+16505550301"))
            assert r.status_code == 201
            seq = r.json()["seq"]
            with sqlite3.connect(hub_server.settings.database.url.split("///", 1)[1]) as other:
                found = other.execute("SELECT count(*) FROM timeline_events WHERE seq = ?", (seq,)).fetchone()[0]
            return seq, found

        seen = in_threads(send_and_look, list(range(120)), threads=12)
    assert all(found == 1 for _, found in seen)
    # and requests shared commits: fewer transactions than messages under concurrency
    writer = hub_server.hub.writer
    assert writer.batches < writer.items
    db.close()


def test_same_person_on_any_channel_is_one_patient(hub_server, integration, staff):
    a = post_inbound(integration, inbound("first", "id-a", address="(650) 253-0000")).json()
    b = post_inbound(integration, inbound("second", "id-b", address="+1 650-253-0000", channel="sms")).json()
    c = post_inbound(integration, inbound("third", "id-c", kind="email", address="Maria@Example.ORG")).json()
    d = post_inbound(integration, inbound("fourth", "id-d", kind="email", address="maria@example.org")).json()
    assert a["patient_id"] == b["patient_id"] and a["conversation_id"] == b["conversation_id"]
    assert c["patient_id"] == d["patient_id"] != a["patient_id"]
    # the same provider id on another channel is another message
    e = post_inbound(integration, inbound("fifth", "id-a", address="(650) 253-0000", channel="sms"))
    assert e.status_code == 201 and e.json()["seq"] != a["seq"]
    events = staff["sofia"].get(f"/api/patients/{a['patient_id']}/timeline").json()["events"]
    assert [(x["text"], x["channel"]) for x in events] == [("first", "api"), ("second", "sms"), ("fifth", "sms")]
    patient = staff["sofia"].get(f"/api/patients/{a['patient_id']}").json()
    shown = ("kind", "address", "verified", "opted_out_at")  # the profile also gives each one's id and consent
    assert [{k: cp[k] for k in shown} for cp in patient["contact_points"]] == [
        {"kind": "phone", "address": "+16502530000", "verified": False, "opted_out_at": None}
    ]


def test_a_resolved_episode_is_followed_by_a_new_conversation(hub_server, integration, staff):
    first = post_inbound(integration, inbound("hello", "ep-1", address="+16505550311")).json()
    ana = staff["ana"]
    assert (
        ana.post(f"/api/conversations/{first['conversation_id']}/status", json={"status": "resolved"}).status_code
        == 201
    )
    again = post_inbound(integration, inbound("me again", "ep-2", address="+16505550311")).json()
    assert again["patient_id"] == first["patient_id"]
    assert again["conversation_id"] != first["conversation_id"]
    timeline = staff["sofia"].get(f"/api/patients/{first['patient_id']}/timeline").json()["events"]
    assert [e["kind"] for e in timeline] == ["message_in", "status_change", "message_in"]


def test_acknowledged_messages_survive_a_restart(tmp_path):
    settings = hub_settings(tmp_path)
    srv = HubServer(settings).start()
    with httpx.Client(base_url=srv.base_url, timeout=10) as http:
        acked = [post_inbound(http, inbound(f"keep {i}", f"keep-{i}")).json() for i in range(20)]
    srv.stop()
    again = HubServer(hub_settings(tmp_path)).start()
    try:
        with httpx.Client(base_url=again.base_url, timeout=10) as http:
            replay = [post_inbound(http, inbound(f"keep {i}", f"keep-{i}")) for i in range(20)]
        assert [r.status_code for r in replay] == [200] * 20
        assert [r.json()["seq"] for r in replay] == [a["seq"] for a in acked]
        # sequence numbers keep increasing after the restart
        fresh = post_inbound(httpx.Client(base_url=again.base_url), inbound("new", "keep-new")).json()
        assert fresh["seq"] > max(a["seq"] for a in acked)
    finally:
        again.stop()


def test_storage_outage_is_a_503_and_a_retry_later_lands_once(tmp_path):
    from dataclasses import replace

    settings = hub_settings(tmp_path)
    settings = replace(settings, database=replace(settings.database, sqlite_busy_timeout_ms=300))
    srv = HubServer(settings).start()
    try:
        with httpx.Client(base_url=srv.base_url, timeout=10) as http:
            blocker = sqlite3.connect(settings.database.url.split("///", 1)[1], isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")  # someone else holds the database
            r = post_inbound(http, inbound("during the outage", "outage-1"))
            assert r.status_code == 503 and "retry" in r.json()["detail"] and r.headers["retry-after"]
            blocker.execute("ROLLBACK")
            blocker.close()
            again = post_inbound(http, inbound("during the outage", "outage-1"))
            assert again.status_code == 201
            assert post_inbound(http, inbound("during the outage", "outage-1")).status_code == 200
    finally:
        srv.stop()

"""Merging two records of one person and undoing it, against a real hub on SQLite and PostgreSQL:
the preview side by side, every row moved, live frames, the audit, and an unmerge that puts every
row back exactly (whole-table snapshots before the merge and after the unmerge)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.models import Appointment, Base
from tests.channels.webchat.test_webchat import _chat_settings, _last_code, _sms_patient
from tests.conftest import _start
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import HubServer
from tests.support.smtp_sink import SmtpSink
from tests.support.stream import StreamClient
from tests.support.webchat import VisitorClient

# Rows a merge and its undoing add on purpose: the trail, the merge itself, the notices in the
# timeline (and the sequence counter they take numbers from).
HISTORY = {"audit_log", "patient_merges", "counters"}


def _run(url: str, work: Any) -> Any:
    async def go() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as c:
                return await work(c)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _plain(v: Any) -> Any:
    return json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else v


def until(stream: StreamClient, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = stream.recv(timeout=max(0.1, deadline - time.monotonic()))
        if predicate(frame):
            return frame
    raise AssertionError("no such frame")


def snapshot(srv: HubServer) -> dict[str, dict[tuple, dict[str, Any]]]:
    """Every row of every table, by primary key."""

    async def work(c: Any) -> dict[str, dict[tuple, dict[str, Any]]]:
        out = {}
        for table in Base.metadata.sorted_tables:
            keys = [col.name for col in table.primary_key.columns]
            rows = (await c.execute(select(table))).mappings().all()
            out[table.name] = {tuple(r[k] for k in keys): {k: _plain(v) for k, v in r.items()} for r in rows}
        return out

    return _run(srv.settings.database.url, work)


def sql(srv: HubServer, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
    async def work(c: Any) -> list[Any]:
        result = await c.execute(text(statement) if isinstance(statement, str) else statement, params or {})
        return list(result.all()) if result.returns_rows else []

    return _run(srv.settings.database.url, work)


@pytest.fixture(params=["sqlite-memory", "postgres-memory"])
def db_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubServer]:
    yield from _start(tmp_path, request.param)


def _two_records(srv: HubServer) -> tuple[int, int, int, int]:
    """One person as two records: a phone (SMS, with an appointment, an email added by staff and a
    record number) and an email, each with its conversation; both with an SMS consent on file."""
    http = httpx.Client(base_url=srv.base_url, timeout=10)
    phone = post_inbound(
        http, inbound("Hola, soy Rosa", "m-rosa-1", address="+16505550181", channel="sms", language="es")
    ).json()
    post_inbound(http, inbound("¿Mi cita?", "m-rosa-2", address="+16505550181", channel="sms"))
    mail = post_inbound(
        http,
        {**inbound("About my bill", "m-rosa-3", kind="email", address="rosa.m@example.org"), "from": {
            "kind": "email", "address": "rosa.m@example.org", "name": "Rosa Martínez"}},
    ).json()  # fmt: skip
    post_inbound(http, inbound("Any news?", "m-rosa-4", kind="email", address="rosa.m@example.org"))
    http.close()
    admin = Staff(srv.base_url, "admin")
    target, source = phone["patient_id"], mail["patient_id"]
    assert admin.post(f"/api/patients/{target}/identifiers", json={"value": "R-5501"}).status_code == 201
    r = admin.post(f"/api/patients/{target}/contact-points", json={"kind": "email", "address": "rosa.work@example.org"})
    assert r.status_code == 201, r.text
    r = admin.request(
        "PATCH", f"/api/patients/{source}", json={"date_of_birth": "1979-04-02", "time_zone": "America/New_York"}
    )
    assert r.status_code == 200, r.text
    for pid, granted in ((target, True), (source, False)):
        r = admin.post(
            f"/api/patients/{pid}/consents", json={"channel": "sms", "granted": granted, "source": "on the phone"}
        )
        assert r.status_code == 201, r.text
    r = admin.post(f"/api/patients/{source}/consents", json={"channel": "email", "granted": True, "source": "web form"})
    assert r.status_code == 201
    start = datetime.now(UTC) + timedelta(days=3)
    sql(
        srv,
        insert(Appointment).values(
            patient_id=source,
            status="booked",
            start=start,
            end=start + timedelta(minutes=30),
            created_at=datetime.now(UTC),
        ),
    )
    admin.close()
    return target, source, phone["conversation_id"], mail["conversation_id"]  # fmt: skip


def test_merge_then_unmerge_puts_every_row_back_exactly(db_hub):
    srv = db_hub
    target, source, target_conv, source_conv = _two_records(srv)
    sofia = Staff(srv.base_url, "sofia")
    stream = StreamClient(srv.ws_url, sofia, sofia.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()
    before = snapshot(srv)

    # The preview: both sides, what moves, what the kept record will be.
    r = sofia.get(f"/api/patients/{target}/merge-preview", params={"source": source})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["source"]["id"] == source and preview["target"]["id"] == target
    assert preview["source_rows"]["timeline_events"] >= 2 and preview["source_rows"]["appointments"] == 1
    result = preview["result"]
    assert result["fields"]["name"] == "Hola, soy Rosa" or result["fields"]["name"] in (None, "Rosa Martínez")
    assert result["fields"]["date_of_birth"] == "1979-04-02"  # the kept record had none
    assert result["fields"]["preferred_language"] == "es"  # the kept record's own
    assert result["consents"]["sms"] is True  # the kept record's consent wins
    assert {c["address"] for c in result["contact_points"]} == {
        "+16505550181", "rosa.work@example.org", "rosa.m@example.org"}  # fmt: skip
    assert [i["value"] for i in result["identifiers"]] == ["R-5501"]
    assert result["conversations"] == 2

    r = sofia.post(f"/api/patients/{target}/merges", json={"source_id": source, "reason": "same person"})
    assert r.status_code == 201, r.text
    merge = r.json()
    assert merge["moved"]["conversations"] == 1 and merge["moved"]["appointments"] == 1
    assert merge["moved"]["consents"] == 1  # email; the sms consent stays with the source (the kept one wins)

    profile = sofia.get(f"/api/patients/{target}").json()
    assert {c["id"] for c in profile["conversations"]} == {target_conv, source_conv}
    assert profile["date_of_birth"] == "1979-04-02" and profile["time_zone"] == "America/New_York"
    assert len(profile["appointments"]) == 1
    assert profile["merges"][0]["id"] == merge["merge_id"] and profile["merges"][0]["can_undo"] is True
    merged_away = sofia.get(f"/api/patients/{source}").json()
    assert merged_away["merged_into_id"] == target and merged_away["contact_points"] == []
    assert merged_away["can"]["edit"] is False
    events = sofia.get(f"/api/patients/{target}/timeline", params={"limit": 200}).json()["events"]
    assert {e["conversation_id"] for e in events} == {target_conv, source_conv}
    assert sql(srv, "SELECT count(*) FROM timeline_events WHERE patient_id = :p", {"p": source}) == [(0,)]
    assert sql(srv, "SELECT count(*) FROM patient_search_terms WHERE patient_id = :p", {"p": source}) == [(0,)]

    # Open inboxes follow: the source's conversation now shows the kept patient.
    frame = until(
        stream,
        lambda f: f.get("type") == "event" and f["event"]["kind"] == "patient_merged"
        and f["conversation"]["id"] == source_conv
    )  # fmt: skip
    assert frame["conversation"]["patient_id"] == target
    data = frame["event"]["data"]
    assert (data["merge_id"], data["source_id"], data["target_id"]) == (merge["merge_id"], source, target)

    # A message after the merge, to the moved conversation, goes back with it.
    http = httpx.Client(base_url=srv.base_url, timeout=10)
    later = post_inbound(http, inbound("Still there?", "m-rosa-5", kind="email", address="rosa.m@example.org")).json()
    http.close()
    assert later["patient_id"] == target and later["conversation_id"] == source_conv

    r = sofia.post(f"/api/patients/merges/{merge['merge_id']}/undo")
    assert r.status_code == 200, r.text
    undone = r.json()
    assert undone["missing"] == [] and undone["kept_fields"] == []
    after = snapshot(srv)
    until(stream, lambda f: f.get("type") == "event" and f["event"]["kind"] == "patient_unmerged")
    stream.close()

    # Every row that existed before the merge is back exactly as it was. What was added since: the
    # trail, the merge, the notices and the message after the merge (all in the conversations they
    # belong to, with those conversations' patients); a conversation's last event moved on.
    for table, rows in before.items():
        if table in HISTORY:
            continue
        for key, row in rows.items():
            now = dict(after[table].get(key) or {})
            if table == "report_conversations":  # derived from the events, which gained the notices:
                now, row = {"patient_id": now.get("patient_id")}, {"patient_id": row["patient_id"]}  # whose it is
            if table == "conversations":
                now.pop("last_event_seq", None), row.pop("last_event_seq", None)
                now.pop("last_message_at", None), row.pop("last_message_at", None)
                now.pop("last_inbound_at", None), row.pop("last_inbound_at", None)
                now.pop("preview", None), row.pop("preview", None)
            assert now == row, (table, key)
        added = set(after[table]) - set(rows)
        if table == "timeline_events":
            kinds = sorted(after[table][k]["kind"] for k in added)
            assert kinds == ["message_in", "patient_merged", "patient_merged", "patient_unmerged", "patient_unmerged"]
            for k in added:
                conv = after["conversations"][(after[table][k]["conversation_id"],)]
                assert after[table][k]["patient_id"] == conv["patient_id"]
        elif table == "email_messages":
            assert all(after[table][k]["patient_id"] == source for k in added)
        else:
            assert added == set(), table
    assert sql(srv, "SELECT DISTINCT patient_id FROM timeline_events WHERE conversation_id = :c",
               {"c": source_conv}) == [(source,)]  # fmt: skip

    # Audited on both records, merge and unmerge, with who did it.
    rows = sql(
        srv,
        "SELECT action, patient_id FROM audit_log WHERE action IN ('patient.merge', 'patient.unmerge', "
        "'patient.merge_preview') AND agent_id = :a ORDER BY id",
        {"a": sofia.me["id"]},
    )
    assert rows == [
        ("patient.merge_preview", target), ("patient.merge_preview", source),
        ("patient.merge", target), ("patient.merge", source),
        ("patient.unmerge", target), ("patient.unmerge", source),
    ]  # fmt: skip
    history = sofia.get(f"/api/patients/{target}").json()["merges"]
    assert history[0]["undone_at"] is not None and history[0]["can_undo"] is False
    sofia.close()


def test_an_unmerge_waits_for_a_later_merge_of_the_same_records(hub_server):
    target, source, _tc, _sc = _two_records(hub_server)
    http = httpx.Client(base_url=hub_server.base_url, timeout=10)
    third = post_inbound(http, inbound("hello", "m-third-1", address="+16505550182")).json()["patient_id"]
    http.close()
    admin = Staff(hub_server.base_url, "admin")
    first = admin.post(f"/api/patients/{target}/merges", json={"source_id": source}).json()["merge_id"]
    second = admin.post(f"/api/patients/{target}/merges", json={"source_id": third}).json()["merge_id"]
    r = admin.post(f"/api/patients/merges/{first}/undo")
    assert r.status_code == 409 and f"undo merge {second} first" in r.json()["detail"]
    history = {m["id"]: m["can_undo"] for m in admin.get(f"/api/patients/{target}").json()["merges"]}
    assert history == {first: False, second: True}
    assert admin.post(f"/api/patients/merges/{second}/undo").status_code == 200
    assert admin.post(f"/api/patients/merges/{second}/undo").status_code == 409  # undone already
    assert admin.post(f"/api/patients/merges/{first}/undo").status_code == 200
    # A merged-away record cannot be merged again, nor a record with itself, nor an unknown one.
    admin.post(f"/api/patients/{target}/merges", json={"source_id": source})
    r = admin.post(f"/api/patients/{third}/merges", json={"source_id": source})
    assert r.status_code == 409 and f"merged into patient {target}" in r.json()["detail"]
    assert admin.post(f"/api/patients/{target}/merges", json={"source_id": target}).status_code == 400
    assert admin.post(f"/api/patients/{target}/merges", json={"source_id": 999999}).status_code == 404
    assert admin.post("/api/patients/merges/999999/undo").status_code == 404
    admin.close()


def test_a_field_changed_since_the_merge_keeps_its_new_value(hub_server):
    target, source, _tc, _sc = _two_records(hub_server)
    admin = Staff(hub_server.base_url, "admin")
    merge = admin.post(f"/api/patients/{target}/merges", json={"source_id": source}).json()["merge_id"]
    assert admin.request("PATCH", f"/api/patients/{target}", json={"time_zone": "America/Chicago"}).status_code == 200
    r = admin.post(f"/api/patients/merges/{merge}/undo")
    assert r.status_code == 200 and r.json()["kept_fields"] == ["time_zone"]
    kept = admin.get(f"/api/patients/{target}").json()
    assert kept["time_zone"] == "America/Chicago" and kept["date_of_birth"] is None  # DOB came from the source: gone
    assert admin.get(f"/api/patients/{source}").json()["date_of_birth"] == "1979-04-02"
    admin.close()


def test_only_supervisors_and_admins_merge(hub_server):
    target, source, _tc, _sc = _two_records(hub_server)
    ana = Staff(hub_server.base_url, "ana")
    assert ana.get(f"/api/patients/{target}/merge-preview", params={"source": source}).status_code == 403
    assert ana.post(f"/api/patients/{target}/merges", json={"source_id": source}).status_code == 403
    admin = Staff(hub_server.base_url, "admin")
    merge = admin.post(f"/api/patients/{target}/merges", json={"source_id": source}).json()["merge_id"]
    r = ana.post(f"/api/patients/merges/{merge}/undo")
    assert r.status_code == 403 and r.json()["detail"] == "This needs a supervisor."
    assert sql(hub_server, "SELECT merged_into_id FROM patients WHERE id = :p", {"p": source}) == [(target,)]
    ana.close(), admin.close()


def test_web_chat_linking_is_a_merge_that_staff_can_undo(tmp_path, twilio):
    """A visitor who proves a phone joins that patient's record through the same mechanism: the
    merge is listed, and undoing it gives the visitor their own record back, row for row."""
    with SmtpSink() as smtp:
        srv = HubServer(_chat_settings(tmp_path, twilio, smtp)).start()
        try:
            maria = _sms_patient(srv)
            visitor = VisitorClient(srv.base_url, srv.ws_url)
            visitor.start("Maria G", language="es")
            seq = visitor.send("Hola, soy María").json()["seq"]
            (visitor_patient,) = sql(srv, "SELECT patient_id FROM timeline_events WHERE seq = :s", {"s": seq})[0]
            before = snapshot(srv)
            assert visitor.post("/api/webchat/verifications", json={"phone": "(650) 555-0161"}).status_code == 202
            code = _last_code(twilio, "+16505550161")
            assert visitor.post("/api/webchat/verifications/confirm", json={"code": code}).status_code == 200
            (merge_id, source, target, agent) = sql(
                srv, "SELECT id, source_id, target_id, agent_id FROM patient_merges"
            )[0]
            assert (source, target, agent) == (visitor_patient, maria, None)
            sofia = Staff(srv.base_url, "sofia")
            history = sofia.get(f"/api/patients/{maria}").json()["merges"]
            assert [(m["id"], m["agent_name"], m["can_undo"]) for m in history] == [(merge_id, None, True)]
            r = sofia.post(f"/api/patients/merges/{merge_id}/undo")
            assert r.status_code == 200, r.text
            after = snapshot(srv)
            for table in ("contact_points", "patients", "consents", "patient_search_terms"):
                moved = {k: v for k, v in before[table].items()}
                back = {k: v for k, v in after[table].items() if k in moved}
                if table == "contact_points":  # the proof stays proof: María's number is verified now
                    for k, v in back.items():
                        moved[k]["verified"] = v["verified"] if v["address"] == "+16505550161" else moved[k]["verified"]
                assert back == moved, table
            convs = sql(srv, "SELECT DISTINCT patient_id FROM timeline_events WHERE conversation_id = "
                        "(SELECT conversation_id FROM timeline_events WHERE seq = :s)", {"s": seq})  # fmt: skip
            assert convs == [(visitor_patient,)]
            sofia.close()
        finally:
            srv.stop()

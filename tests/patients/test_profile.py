"""A patient's profile on a real hub: what each role reads (the date of birth masked for agents
unless the patient is verified in an open conversation), what each role may change, the audit
rows and timeline events changes leave, and a contact point that is another patient's (409 with
that patient's id, nothing stored)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.patients.test_merge import sql, until
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import HubServer
from tests.support.stream import StreamClient


def _patient(srv: HubServer, address: str, name: str = "Rosa Díaz", pid: str | None = None) -> dict[str, Any]:
    with httpx.Client(base_url=srv.base_url, timeout=10) as http:
        body = {**inbound("Hola", pid or f"m-{address}"), "from": {"kind": "phone", "address": address, "name": name}}
        r = post_inbound(http, {**body, "channel": "sms"})
        assert r.status_code == 201, r.text
        return r.json()


def _audit(srv: HubServer, patient_id: int, action: str) -> list[Any]:
    rows = sql(
        srv,
        "SELECT agent_id, detail FROM audit_log WHERE patient_id = :p AND action = :a ORDER BY id",
        {"p": patient_id, "a": action},
    )
    return [(agent, json.loads(d) if isinstance(d, str) else d) for agent, d in rows]


@pytest.fixture
def people(hub_server: HubServer) -> dict[str, Staff]:
    out = {login: Staff(hub_server.base_url, login) for login in ("ana", "sofia", "admin")}
    yield out
    for c in out.values():
        c.close()


def test_the_profile_reads_everything_and_is_audited(hub_server, people):
    p = _patient(hub_server, "+16505550171")
    admin = people["admin"]
    assert admin.post(f"/api/patients/{p['patient_id']}/identifiers", json={"value": "MRN-0042"}).status_code == 201
    r = people["ana"].get(f"/api/patients/{p['patient_id']}")
    assert r.status_code == 200
    profile = r.json()
    assert profile["name"] == "Rosa Díaz"
    assert profile["identifiers"] == [
        {"id": profile["identifiers"][0]["id"], "label": "MRN", "system": "urn:puente:mrn", "value": "MRN-0042"}
    ]
    assert [(c["kind"], c["address"], c["verified"], c["consent"]) for c in profile["contact_points"]] == [
        ("phone", "+16505550171", False, None)
    ]
    (conv,) = profile["conversations"]
    assert (conv["id"], conv["status"], conv["channel"]) == (p["conversation_id"], "open", "sms")
    assert conv["last_message_at"] is not None
    assert profile["merges"] == [] and profile["appointments"] == []
    assert profile["can"] == {"edit": True, "edit_identity": False, "merge": False, "start": True}
    assert people["sofia"].get(f"/api/patients/{p['patient_id']}").json()["can"]["merge"] is True
    reads = _audit(hub_server, p["patient_id"], "patient.read")
    assert [agent for agent, _detail in reads] == [people["ana"].me["id"], people["sofia"].me["id"]]


def test_agents_change_how_to_reach_a_patient_and_seniors_who_they_are(hub_server, people):
    p = _patient(hub_server, "+16505550172")
    pid, ana, sofia = p["patient_id"], people["ana"], people["sofia"]
    stream = StreamClient(hub_server.ws_url, ana, ana.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()

    r = ana.request(
        "PATCH",
        f"/api/patients/{pid}",
        json={"preferred_language": "es", "preferred_channel": "email", "time_zone": "America/Chicago"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["fields"] == ["preferred_channel", "preferred_language", "time_zone"]
    frame = until(stream, lambda f: f.get("type") == "event" and f["event"]["kind"] == "profile_change")
    assert frame["event"]["data"] == {"fields": ["preferred_channel", "preferred_language", "time_zone"]}
    assert frame["event"]["author_id"] == ana.me["id"] and frame["conversation"]["patient_id"] == pid

    for body in ({"name": "Someone Else"}, {"date_of_birth": "1980-01-01"}):
        r = ana.request("PATCH", f"/api/patients/{pid}", json=body)
        assert r.status_code == 403, body
        assert r.json()["detail"] == (
            "Only supervisors and admins can change a patient's name, date of birth or record numbers."
        )
    assert ana.post(f"/api/patients/{pid}/identifiers", json={"value": "X-1"}).status_code == 403
    r = sofia.request("PATCH", f"/api/patients/{pid}", json={"name": "Rosa María Díaz", "date_of_birth": "1981-05-17"})
    assert r.status_code == 200 and r.json()["fields"] == ["date_of_birth", "name"]
    frame = until(
        stream, lambda f: f.get("type") == "event" and f["event"]["data"].get("fields") == ["date_of_birth", "name"]
    )
    assert "1981" not in str(frame)  # an agent's inbox never gets the date itself
    stream.close()
    assert sql(hub_server, "SELECT term FROM patient_search_terms WHERE patient_id = :p ORDER BY term", {"p": pid}) == [
        ("diaz",), ("maria",), ("rosa",)]  # fmt: skip
    profile = sofia.get(f"/api/patients/{pid}").json()
    assert (profile["name"], profile["date_of_birth"], profile["time_zone"]) == (
        "Rosa María Díaz",
        "1981-05-17",
        "America/Chicago",
    )
    updates = _audit(hub_server, pid, "patient.update")
    assert [(a, d["fields"]) for a, d in updates] == [
        (ana.me["id"], ["preferred_channel", "preferred_language", "time_zone"]),
        (sofia.me["id"], ["date_of_birth", "name"]),
    ]
    assert all(isinstance(d["seq"], int) for _a, d in updates)
    # Setting a field to what it is changes nothing and records nothing.
    assert ana.request("PATCH", f"/api/patients/{pid}", json={"time_zone": "America/Chicago"}).json()["seq"] is None
    assert len(_audit(hub_server, pid, "patient.update")) == 2


def test_the_date_of_birth_is_masked_for_agents_unless_the_patient_is_verified(hub_server, people):
    p = _patient(hub_server, "+16505550173")
    pid, ana, sofia = p["patient_id"], people["ana"], people["sofia"]
    assert sofia.request("PATCH", f"/api/patients/{pid}", json={"date_of_birth": "1990-02-03"}).status_code == 200
    masked = ana.get(f"/api/patients/{pid}").json()
    assert masked["date_of_birth"] is None and masked["date_of_birth_masked"] and masked["date_of_birth_on_file"]
    assert "1990" not in ana.get(f"/api/patients/{pid}").text
    assert sofia.get(f"/api/patients/{pid}").json()["date_of_birth"] == "1990-02-03"
    # Verified (date of birth and a code, as the assistant records it) in the open conversation: shown.
    sql(hub_server, "UPDATE conversations SET verified_at = :t WHERE id = :c",
        {"t": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "c": p["conversation_id"]})  # fmt: skip
    shown = ana.get(f"/api/patients/{pid}").json()
    assert shown["date_of_birth"] == "1990-02-03" and not shown["date_of_birth_masked"]
    assert _audit(hub_server, pid, "patient.read")[-1][1] == {"date_of_birth_shown": True}
    # Resolved: the check no longer opens it.
    r = ana.post(f"/api/conversations/{p['conversation_id']}/status", json={"status": "resolved"})
    assert r.status_code == 201, r.text
    assert ana.get(f"/api/patients/{pid}").json()["date_of_birth"] is None


def test_a_contact_point_of_another_patient_is_refused_with_its_owner(hub_server, people):
    first, second = _patient(hub_server, "+16505550174"), _patient(hub_server, "+16505550175", "Luis Ortega")
    ana = people["ana"]
    rows_before = sql(hub_server, "SELECT id, patient_id, kind, address FROM contact_points ORDER BY id")
    audits_before = sql(hub_server, "SELECT count(*) FROM audit_log WHERE action = 'patient.contact_add'")
    r = ana.post(
        f"/api/patients/{first['patient_id']}/contact-points", json={"kind": "phone", "address": "(650) 555-0175"}
    )
    assert r.status_code == 409
    body = r.json()
    assert body["problems"][0]["patient_id"] == second["patient_id"]
    assert body["detail"] == (
        f"This phone number belongs to another patient ({second['patient_id']}). "
        "Merge the two records if they are one person."
    )
    r = ana.post(
        f"/api/patients/{first['patient_id']}/contact-points",
        json={"kind": "phone", "address": "+1 650 555 0174"},
        headers={"accept-language": "es"},
    )
    assert r.status_code == 409 and r.json()["detail"] == "Este paciente ya tiene este número de teléfono."
    assert sql(hub_server, "SELECT id, patient_id, kind, address FROM contact_points ORDER BY id") == rows_before
    assert sql(hub_server, "SELECT count(*) FROM audit_log WHERE action = 'patient.contact_add'") == audits_before

    r = ana.post(
        f"/api/patients/{first['patient_id']}/contact-points",
        json={
            "kind": "email",
            "address": "Rosa.Diaz@Example.org",
            "consent": True,
            "consent_source": "asked on the phone",
        },
    )
    assert r.status_code == 201, r.text
    profile = ana.get(f"/api/patients/{first['patient_id']}").json()
    added = [c for c in profile["contact_points"] if c["kind"] == "email"]
    assert [(c["address"], c["verified"], c["consent"]) for c in added] == [("rosa.diaz@example.org", False, True)]
    assert [(c["channel"], c["granted"], c["source"]) for c in profile["consents"]] == [
        ("email", True, "asked on the phone")
    ]
    (_agent, detail), = _audit(hub_server, first["patient_id"], "patient.contact_add")  # fmt: skip
    assert detail["contact_added"] == {"kind": "email", "address": "rosa.diaz@example.org"}

    # Removing one: supervisors and admins.
    point = added[0]["id"]
    assert ana.request("DELETE", f"/api/patients/{first['patient_id']}/contact-points/{point}").status_code == 403
    sofia = people["sofia"]
    assert sofia.request("DELETE", f"/api/patients/{second['patient_id']}/contact-points/{point}").status_code == 404
    r = sofia.request("DELETE", f"/api/patients/{first['patient_id']}/contact-points/{point}")
    assert r.status_code == 200, r.text
    assert [c["kind"] for c in ana.get(f"/api/patients/{first['patient_id']}").json()["contact_points"]] == ["phone"]


def test_bad_edits_are_clear_refusals_and_store_nothing(hub_server, people):
    p = _patient(hub_server, "+16505550176")
    pid, sofia = p["patient_id"], people["sofia"]
    before = sql(hub_server, "SELECT * FROM patients WHERE id = :p", {"p": pid})
    cases = [
        ({"time_zone": "Mars/Olympus_Mons"}, 400, "Mars/Olympus_Mons is not a time zone"),
        ({"date_of_birth": "2999-01-01"}, 400, "A date of birth must be between 1900-01-01 and today."),
        ({"date_of_birth": "yesterday"}, 400, "date_of_birth"),
        ({"preferred_channel": "fax"}, 400, "preferred_channel"),
        ({"nickname": "Ro"}, 400, "nickname"),
        ({}, 400, "Nothing to change."),
    ]
    for body, status, says in cases:
        r = sofia.request("PATCH", f"/api/patients/{pid}", json=body)
        assert r.status_code == status and says in r.text, (body, r.status_code, r.text)
    r = sofia.post(f"/api/patients/{pid}/contact-points", json={"kind": "phone", "address": "123"})
    assert r.status_code == 400 and "not a phone number the hub can text" in r.json()["detail"]
    assert sofia.request("PATCH", "/api/patients/999999", json={"time_zone": "UTC"}).status_code == 404
    assert sql(hub_server, "SELECT * FROM patients WHERE id = :p", {"p": pid}) == before
    # A record merged into another is edited there.
    other = _patient(hub_server, "+16505550177")
    assert sofia.post(f"/api/patients/{other['patient_id']}/merges", json={"source_id": pid}).status_code == 201
    r = sofia.request("PATCH", f"/api/patients/{pid}", json={"time_zone": "UTC"})
    assert r.status_code == 409 and f"merged into patient {other['patient_id']}" in r.json()["detail"]


def test_break_glass_reads_the_record_but_never_changes_it(hub_server, people):
    """Ben (billing) opens María (scheduling, the demo's) with break-glass: he reads her record,
    her date of birth stays masked, and he can change nothing."""
    ben = Staff(hub_server.base_url, "ben")
    maria = sql(hub_server, "SELECT patient_id FROM contact_points WHERE address = '+16505550134'")[0][0]
    assert ben.get(f"/api/patients/{maria}").status_code == 404
    r = ben.post(
        "/api/break-glass", json={"patient_id": maria, "reason": "on the phone, distressed, asks for her visit"}
    )
    assert r.status_code == 201, r.text
    profile = ben.get(f"/api/patients/{maria}").json()
    assert profile["name"] == "María González" and profile["conversations"]
    assert profile["date_of_birth"] is None and profile["date_of_birth_masked"] is True
    assert profile["can"] == {"edit": False, "edit_identity": False, "merge": False, "start": False}
    assert ben.request("PATCH", f"/api/patients/{maria}", json={"time_zone": "UTC"}).status_code == 404
    r = ben.post(f"/api/patients/{maria}/conversations", json={"channel": "sms", "text": "Hola"})
    assert r.status_code == 404
    (_agent, detail), *_ = [row for row in _audit(hub_server, maria, "patient.read") if row[0] == ben.me["id"]]
    assert isinstance(detail["break_glass"], int)
    ben.close()

"""Every read of a patient's timeline, every message sent and note written is audited."""

from __future__ import annotations

from tests.support.clients import inbound, post_inbound


def test_reads_and_writes_leave_audit_rows_admins_can_read(hub_server, integration, staff):
    msg = post_inbound(integration, inbound("I need my results", "aud-1")).json()
    ana, admin = staff["ana"], staff["admin"]
    pid, cid = msg["patient_id"], msg["conversation_id"]
    assert ana.get(f"/api/patients/{pid}/timeline").status_code == 200
    assert ana.get(f"/api/patients/{pid}").status_code == 200
    reply = ana.post(f"/api/conversations/{cid}/messages", json={"text": "Let me check."}).json()
    note = ana.post(f"/api/conversations/{cid}/notes", json={"text": "asked about labs"}).json()

    rows = admin.get("/api/audit", params={"patient_id": pid}).json()
    mine = [r for r in rows if r["agent_id"] == ana.me["id"]]
    actions = sorted(r["action"] for r in mine)
    assert actions == ["message.send", "note.write", "patient.read", "timeline.read"]
    by_action = {r["action"]: r for r in mine}
    assert by_action["message.send"]["detail"]["seq"] == reply["seq"]
    assert by_action["note.write"]["detail"]["seq"] == note["seq"]
    assert by_action["message.send"]["conversation_id"] == cid
    for r in mine:
        assert r["ip"] == "127.0.0.1" and r["user_agent"].startswith("python-httpx") and r["at"]

    # reading the audit trail is audited too, and filters work
    reads = admin.get("/api/audit", params={"action": "audit.read"}).json()
    assert reads and all(r["action"] == "audit.read" and r["agent_id"] == admin.me["id"] for r in reads)
    assert staff["sofia"].get("/api/audit").status_code == 403


def test_a_refused_read_is_not_an_audited_read(hub_server, staff):
    ben = staff["ben"]
    convs = staff["sofia"].get("/api/conversations").json()["conversations"]
    maria = next(c for c in convs if c["patient_name"] == "María González")
    assert ben.get(f"/api/patients/{maria['patient_id']}/timeline").status_code == 404
    rows = staff["admin"].get("/api/audit", params={"patient_id": maria["patient_id"], "agent_id": ben.me["id"]}).json()
    assert rows == []

"""Agents' actions on a conversation, on every storage and realtime backend."""

from __future__ import annotations

import httpx

from tests.support.clients import Staff, inbound, post_inbound
from tests.support.stream import StreamClient


def test_reply_note_assign_resolve(any_hub_server):
    srv = any_hub_server
    ana, sofia = Staff(srv.base_url, "ana"), Staff(srv.base_url, "sofia")
    with httpx.Client(base_url=srv.base_url) as http:
        first = post_inbound(
            http,
            inbound(
                "Necesito una cita",
                "c-1",
                address="+16505550401",
                language="es",
                **{"from": {"kind": "phone", "address": "+16505550401", "name": "Rosa Díaz"}},
            ),
        ).json()
        post_inbound(http, inbound("rosa@example.org", "c-2", kind="email", address="rosa@example.org"))
        email_too = post_inbound(
            http,
            {
                "provider_message_id": "c-3",
                "channel": "email",
                "from": {"kind": "phone", "address": "+16505550401"},
                "text": "y por correo",
            },
        )
    cid, pid = first["conversation_id"], first["patient_id"]
    listed = ana.get("/api/conversations").json()
    stream = StreamClient(srv.ws_url, ana, after=listed["last_seq"]).open()
    stream.read_until_ready()
    conv = next(c for c in listed["conversations"] if c["id"] == cid)
    assert conv["patient_name"] == "Rosa Díaz" and conv["status"] == "open" and conv["first_response_at"] is None
    assert conv["last_inbound_channel"] == "email" and email_too.status_code == 201

    patient = ana.get(f"/api/patients/{pid}").json()
    assert patient["reply_channels"] == [
        {"channel": "sms", "reachable": True, "reason": None},
        {"channel": "api", "reachable": True, "reason": None},
    ]
    # the patient last wrote by email through a relay, but has no email address on file:
    # the default reply goes where they can be reached
    default = ana.post(f"/api/conversations/{cid}/messages", json={"text": "¿Le escribo por SMS?"}).json()
    assert default["channel"] == "sms"
    # an explicit channel wins
    r = ana.post(f"/api/conversations/{cid}/messages", json={"text": "Claro, ¿qué día?", "channel": "sms"})
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["kind"] == "message_out" and reply["channel"] == "sms" and reply["data"] == {"status": "queued"}
    assert reply["author_name"] == "Ana Agent"
    note = ana.post(f"/api/conversations/{cid}/notes", json={"text": "prefers mornings"}).json()
    mine = ana.post(f"/api/conversations/{cid}/assign", json={"agent_id": ana.me["id"]}).json()
    assert mine["data"]["assignee_name"] == "Ana Agent"
    assert ana.get("/api/conversations", params={"mine": True}).json()["conversations"][0]["id"] == cid
    done = ana.post(f"/api/conversations/{cid}/status", json={"status": "resolved"}).json()
    assert done["data"] == {"from": "open", "to": "resolved"}

    after = sofia.get(f"/api/conversations/{cid}").json()
    assert after["status"] == "resolved" and after["resolved_at"] and after["first_response_at"]
    assert after["assignee_name"] == "Ana Agent" and after["last_event_seq"] == done["seq"]
    assert cid not in [c["id"] for c in ana.get("/api/conversations").json()["conversations"]]
    assert cid in [
        c["id"] for c in ana.get("/api/conversations", params={"status": "resolved"}).json()["conversations"]
    ]

    # the stream carried each change with the conversation's new state
    stream.drain_until(done["seq"])
    frames = {f["seq"]: f for f in stream.events}
    assert frames[reply["seq"]]["conversation"]["first_response_at"]
    assert frames[note["seq"]]["event"]["kind"] == "note"
    assert frames[mine["seq"]]["conversation"]["assignee_id"] == ana.me["id"]
    assert frames[done["seq"]]["conversation"]["status"] == "resolved"
    # one timeline, in order, across channels
    kinds = [(e["kind"], e["channel"]) for e in sofia.get(f"/api/patients/{pid}/timeline").json()["events"]]
    assert kinds[3:4] == [("message_out", "sms")]
    del kinds[3]
    assert kinds == [
        ("message_in", "api"),
        ("message_in", "email"),
        ("message_out", "sms"),
        ("note", None),
        ("assignment", None),
        ("status_change", None),
    ]
    stream.close()


def test_agents_assign_only_themselves_supervisors_anyone(hub_server, staff, integration):
    cid = post_inbound(integration, inbound("hello", "as-1")).json()["conversation_id"]
    ana, ben, sofia = staff["ana"], staff["ben"], staff["sofia"]
    assert ana.post(f"/api/conversations/{cid}/assign", json={"agent_id": ben.me["id"]}).status_code == 403
    assert sofia.post(f"/api/conversations/{cid}/assign", json={"agent_id": ben.me["id"]}).status_code == 201
    assert ana.post(f"/api/conversations/{cid}/assign", json={"agent_id": None}).status_code == 403
    assert ben.post(f"/api/conversations/{cid}/assign", json={"agent_id": None}).status_code == 201
    assert sofia.get(f"/api/conversations/{cid}").json()["assignee_id"] is None

"""The API channel's way out: pull queued replies, report delivery; status only moves forward."""

from __future__ import annotations

from tests.support.clients import inbound, post_inbound
from tests.support.server import INGEST_KEY
from tests.support.stream import StreamClient

KEY = {"authorization": f"Bearer {INGEST_KEY}"}


def test_replies_are_pulled_and_delivery_moves_forward_only(hub_server, integration, staff):
    ana = staff["ana"]
    first = post_inbound(integration, inbound("Do you take Medi-Cal?", "out-1", address="+16505550501")).json()
    cid, pid = first["conversation_id"], first["patient_id"]
    start = ana.get("/api/conversations").json()["last_seq"]
    stream = StreamClient(hub_server.ws_url, ana, after=start).open()
    stream.read_until_ready()

    empty = integration.get("/api/channels/api/outbox", params={"after": start}, headers=KEY).json()
    assert empty == {"messages": [], "next_after": start}
    reply = ana.post(f"/api/conversations/{cid}/messages", json={"text": "Yes, we do."}).json()
    sms = ana.post(f"/api/conversations/{cid}/messages", json={"text": "By text too", "channel": "sms"}).json()
    box = integration.get("/api/channels/api/outbox", params={"after": start}, headers=KEY).json()
    assert [m["seq"] for m in box["messages"]] == [reply["seq"]]  # the SMS reply is not the API's to send
    m = box["messages"][0]
    assert m["text"] == "Yes, we do." and m["status"] == "queued" and m["patient_id"] == pid
    assert m["to"] == [{"kind": "phone", "address": "+16505550501"}]
    assert (
        integration.get("/api/channels/api/outbox", params={"after": box["next_after"]}, headers=KEY).json()["messages"]
        == []
    )

    def report(**body):
        return integration.post("/api/channels/api/status", json=body, headers=KEY)

    r = report(message_seq=reply["seq"], status="sent", provider_message_id="crm-out-77")
    assert r.status_code == 201 and r.json() == {"message_seq": reply["seq"], "status": "sent", "applied": True}
    assert report(provider_message_id="crm-out-77", status="delivered").status_code == 201
    for late in ("sent", "delivered", "queued", "failed"):  # out of order or repeated: never moves back
        r = report(provider_message_id="crm-out-77", status=late)
        assert r.status_code == 200 and r.json() == {
            "message_seq": reply["seq"],
            "status": "delivered",
            "applied": False,
        }

    events = staff["sofia"].get(f"/api/patients/{pid}/timeline").json()["events"]
    message = next(e for e in events if e["seq"] == reply["seq"])
    assert message["data"]["status"] == "delivered" and message["provider_message_id"] == "crm-out-77"
    statuses = [(e["data"]["message_seq"], e["data"]["status"]) for e in events if e["kind"] == "delivery_status"]
    assert statuses == [(reply["seq"], "sent"), (reply["seq"], "delivered")]
    stream.drain_until(max(e["seq"] for e in events))
    live = [f["event"]["data"]["status"] for f in stream.events if f["event"]["kind"] == "delivery_status"]
    assert live == ["sent", "delivered"]
    assert sms["seq"] in stream.held
    stream.close()


def test_bad_delivery_reports(hub_server, integration, staff):
    cid = post_inbound(integration, inbound("hi", "out-2")).json()["conversation_id"]
    reply = staff["ana"].post(f"/api/conversations/{cid}/messages", json={"text": "hello"}).json()
    cases = [
        ({"message_seq": 999999, "status": "sent"}, 404, "no outbound api message"),
        ({"status": "sent"}, 400, "say which message"),
        ({"message_seq": reply["seq"], "status": "exploded"}, 400, "status"),
        ({"message_seq": reply["seq"], "status": "sent", "extra": 1}, 400, "unknown field"),
        ({"message_seq": reply["seq"] - 1, "status": "sent"}, 404, "no outbound api message"),  # an inbound one
    ]
    for body, status, words in cases:
        r = integration.post("/api/channels/api/status", json=body, headers=KEY)
        assert r.status_code == status and words in r.json()["detail"], (body, r.status_code, r.text)
    assert integration.post("/api/channels/api/status", json=cases[0][0]).status_code == 401
    assert integration.get("/api/channels/api/outbox", params={"after": -1}, headers=KEY).status_code == 400


def test_outbound_provider_ids_never_shadow_inbound_ones(hub_server, integration, staff):
    """A provider id reported for our reply names that reply only; the same id on an inbound
    message is a new message, and one id cannot name two replies."""
    cid = post_inbound(integration, inbound("hi", "ns-1")).json()["conversation_id"]
    ana = staff["ana"]
    first = ana.post(f"/api/conversations/{cid}/messages", json={"text": "one"}).json()
    second = ana.post(f"/api/conversations/{cid}/messages", json={"text": "two"}).json()
    r = integration.post(
        "/api/channels/api/status",
        headers=KEY,
        json={"message_seq": first["seq"], "provider_message_id": "crm-9", "status": "sent"},
    )
    assert r.status_code == 201
    patient_says = post_inbound(integration, inbound("a new message that happens to reuse the id", "crm-9"))
    assert patient_says.status_code == 201 and patient_says.json()["duplicate"] is False
    clash = integration.post(
        "/api/channels/api/status",
        headers=KEY,
        json={"message_seq": second["seq"], "provider_message_id": "crm-9", "status": "sent"},
    )
    assert clash.status_code == 409 and "crm-9" in clash.json()["detail"]
    texts = [
        e["text"]
        for e in staff["sofia"].get(f"/api/patients/{patient_says.json()['patient_id']}/timeline").json()["events"]
        if e["kind"] == "message_in"
    ]
    assert texts == ["hi", "a new message that happens to reuse the id"]

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

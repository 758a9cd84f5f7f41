from tests.support.clients import inbound, post_inbound


def test_ingest_lands_once_and_shows_in_timeline(hub_server, integration, staff):
    body = inbound("hello there", "smoke-1", address="(650) 253-0000")
    first = post_inbound(integration, body)
    again = post_inbound(integration, inbound("hello there", "smoke-1", address="+16502530000"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    tl = staff["sofia"].get(f"/api/patients/{first.json()['patient_id']}/timeline").json()
    assert [e["text"] for e in tl["events"]].count("hello there") == 1

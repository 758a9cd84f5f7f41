"""The agents' stream: no gap and no duplicate across reconnects, on every backend."""

from __future__ import annotations

import base64
import os
import threading
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.clients import Staff, inbound, post_inbound
from tests.support.stream import StreamClient, in_threads

PHONES = [f"+1650555{n:04d}" for n in range(100, 110)]


def _post_all(base_url: str, prefix: str, n: int) -> list[dict]:
    with httpx.Client(base_url=base_url, timeout=20) as http:

        def one(i: int) -> dict:
            r = post_inbound(http, inbound(f"{prefix} message {i}", f"{prefix}-{i}", address=PHONES[i % len(PHONES)]))
            assert r.status_code == 201, r.text
            return r.json()

        return in_threads(one, list(range(n)), threads=6)


def test_reconnect_mid_traffic_holds_exactly_the_timeline(any_hub_server):
    srv = any_hub_server
    sofia = Staff(srv.base_url, "sofia")
    start = sofia.get("/api/conversations").json()["last_seq"]
    client = StreamClient(srv.ws_url, sofia, after=start).open()
    assert client.read_until_ready()["backfilled"] == 0

    acks: list[dict] = []
    sender = threading.Thread(target=lambda: acks.extend(_post_all(srv.base_url, "gap", 240)))
    sender.start()
    reconnects = 0
    while sender.is_alive() or reconnects < 3:
        # read a few live events, then drop the socket in the middle of the traffic
        for _ in range(15):
            try:
                client.recv(timeout=2)
            except TimeoutError:
                break
        client.reconnect()
        reconnects += 1
        client.read_until_ready()
    sender.join()
    final = sofia.get("/api/conversations").json()["last_seq"]
    client.drain_until(final)

    seqs = [f["seq"] for f in client.events]
    assert len(seqs) == len(set(seqs)), "an event was delivered twice"
    assert seqs == sorted(seqs), "events arrived out of order"
    # What the client holds equals a fresh fetch of every timeline touched.
    fresh: dict[int, dict] = {}
    for patient_id in {a["patient_id"] for a in acks}:
        for e in sofia.get(f"/api/patients/{patient_id}/timeline", params={"limit": 500}).json()["events"]:
            if e["seq"] > start:
                fresh[e["seq"]] = e
    assert set(client.held) == set(fresh) == {a["seq"] for a in acks}
    assert all(client.held[s]["event"] == fresh[s] for s in fresh)
    assert reconnects >= 3 and len(client.readies) == reconnects + 1
    client.close()
    sofia.close()


def test_agents_only_receive_conversations_they_may_see(hub_server, staff):
    ben = staff["ben"]  # billing team only
    convs = staff["sofia"].get("/api/conversations").json()
    maria = next(c for c in convs["conversations"] if c["patient_name"] == "María González")
    ben_stream = StreamClient(hub_server.ws_url, ben, after=convs["last_seq"]).open()
    sofia_stream = StreamClient(hub_server.ws_url, staff["sofia"], after=convs["last_seq"]).open()
    ben_stream.read_until_ready()
    sofia_stream.read_until_ready()

    hidden = staff["ana"].post(f"/api/conversations/{maria['id']}/notes", json={"text": "scheduling only"}).json()
    shown = post_inbound(httpx.Client(base_url=hub_server.base_url), inbound("new here", "vis-1")).json()
    sofia_stream.drain_until(shown["seq"])
    ben_stream.drain_until(shown["seq"])
    assert hidden["seq"] in sofia_stream.held and shown["seq"] in sofia_stream.held
    assert shown["seq"] in ben_stream.held
    assert hidden["seq"] not in ben_stream.held
    # nor by reading the backfill
    late = StreamClient(hub_server.ws_url, ben, after=convs["last_seq"]).open()
    late.read_until_ready()
    assert hidden["seq"] not in late.held and shown["seq"] in late.held
    # and ben cannot read María's timeline at all
    assert ben.get(f"/api/patients/{maria['patient_id']}/timeline").status_code == 404
    for s in (ben_stream, sofia_stream, late):
        s.close()


@pytest.mark.parametrize("hub_server_options", [{"socket_queue": 20}], indirect=True)
def test_a_stalled_client_never_stalls_the_others(hub_server, staff, hub_server_options):
    start = staff["sofia"].get("/api/conversations").json()["last_seq"]
    # max_queue=1: the stalled client's library stops reading, so TCP fills and the server's sends block.
    stalled = StreamClient(hub_server.ws_url, staff["sofia"], after=start, max_queue=1, rcvbuf=8192).open()
    # a client that keeps reading: its library buffers whatever arrives while the test posts
    healthy = StreamClient(hub_server.ws_url, staff["ana"], after=start, max_queue=None).open()
    stalled.read_until_ready()
    healthy.read_until_ready()

    big = base64.b64encode(os.urandom(14_000)).decode()  # incompressible, should compression be on
    with httpx.Client(base_url=hub_server.base_url, timeout=20) as http:

        def one(i: int) -> int:
            r = post_inbound(http, inbound(f"{i} {big}", f"big-{i}", address=PHONES[i % len(PHONES)]))
            assert r.status_code == 201, r.text
            return r.json()["seq"]

        healthy_got = 0
        seqs = []
        for chunk in range(8):
            seqs += in_threads(one, list(range(chunk * 100, chunk * 100 + 100)), threads=4)
            healthy.drain_until(max(seqs), timeout=10)  # keeps up while the other one sleeps
            healthy_got = len(healthy.held)
    assert healthy_got == len(seqs)

    # The server cut the stalled socket off (and only it)...
    deadline = time.monotonic() + 20
    while hub_server.hub.fanout.socket_count > 1 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert hub_server.hub.fanout.socket_count == 1
    # ...which sees "too slow" (4008), or a dropped connection if even that could not be written;
    with pytest.raises(ConnectionClosed):
        while True:
            stalled.recv(timeout=10)
    assert stalled.ws is not None and stalled.ws.close_code in (4008, 1006)
    # reconnecting from its last seq fills the gap.
    stalled.ws, stalled.rcvbuf, stalled.max_queue = None, None, 64
    stalled.open()
    stalled.read_until_ready()
    stalled.drain_until(max(seqs))
    assert set(seqs) <= set(stalled.held)
    assert len(stalled.events) == len({f["seq"] for f in stalled.events})
    stalled.close()
    healthy.close()


def test_stream_refuses_strangers_and_bad_input(hub_server, staff):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as no_cookie:
        connect(f"{hub_server.ws_url}/api/stream?after=0", open_timeout=5)
    assert no_cookie.value.response.status_code in (401, 403)
    cookie = "; ".join(f"{k}={v}" for k, v in staff["ana"].http.cookies.items())
    with pytest.raises(InvalidStatus) as other_site:
        connect(
            f"{hub_server.ws_url}/api/stream?after=0",
            open_timeout=5,
            additional_headers={"Cookie": cookie, "Origin": "http://evil.example"},
        )
    assert other_site.value.response.status_code == 403
    for query in ("after=-1", "after=abc"):
        with connect(
            f"{hub_server.ws_url}/api/stream?{query}", additional_headers={"Cookie": cookie}, open_timeout=5
        ) as ws:
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 4400 and "after" in ws.close_reason


@pytest.mark.parametrize("hub_server_options", [{"idle_timeout_s": 2}], indirect=True)
def test_a_socket_does_not_outlive_its_session(hub_server, hub_server_options):
    idle, busy = Staff(hub_server.base_url, "ana"), Staff(hub_server.base_url, "ben")
    idle_stream = StreamClient(hub_server.ws_url, idle, after=0).open()
    idle_stream.read_until_ready()
    out = Staff(hub_server.base_url, "sofia")
    out_stream = StreamClient(hub_server.ws_url, out, after=0).open()
    out_stream.read_until_ready()
    assert out.post("/api/auth/logout").status_code == 200
    with pytest.raises(ConnectionClosed):
        while True:
            out_stream.recv(timeout=10)
    assert out_stream.ws.close_code == 4401
    # the stream alone is not activity: idle-logoff closes it too
    with pytest.raises(ConnectionClosed):
        while True:
            idle_stream.recv(timeout=10)
            busy.get("/api/auth/me")
    assert idle_stream.ws.close_code == 4401 and "sign in" in idle_stream.ws.close_reason


def test_an_agent_who_loses_a_conversation_is_told(hub_server, staff):
    ben, sofia = staff["ben"], staff["sofia"]
    listed = sofia.get("/api/conversations").json()
    maria = next(c for c in listed["conversations"] if c["patient_name"] == "María González")  # scheduling team
    stream = StreamClient(hub_server.ws_url, ben, after=listed["last_seq"]).open()
    stream.read_until_ready()
    to_ben = sofia.post(f"/api/conversations/{maria['id']}/assign", json={"agent_id": ben.me["id"]}).json()
    to_ana = sofia.post(f"/api/conversations/{maria['id']}/assign", json={"agent_id": staff["ana"].me["id"]}).json()
    stream.drain_until(to_ana["seq"])
    assert stream.held[to_ben["seq"]]["conversation"]["assignee_id"] == ben.me["id"]
    assert stream.held[to_ana["seq"]]["conversation"]["assignee_id"] == staff["ana"].me["id"]
    note = sofia.post(f"/api/conversations/{maria['id']}/notes", json={"text": "not for ben any more"}).json()
    marker = post_inbound(httpx.Client(base_url=hub_server.base_url), inbound("marker", "lose-1")).json()
    stream.drain_until(marker["seq"])
    assert note["seq"] not in stream.held
    stream.close()


def test_a_position_from_the_future_asks_for_a_reload(hub_server, staff):
    last = staff["ana"].get("/api/conversations").json()["last_seq"]
    client = StreamClient(hub_server.ws_url, staff["ana"], after=last + 1000).open()
    frame = client.recv()
    assert frame == {"type": "resync", "reason": "unknown position; reload", "last_seq": last}


def test_stream_backfills_and_lists_are_audited(hub_server, staff, integration):
    ana = staff["ana"]
    start = ana.get("/api/conversations").json()["last_seq"]
    msg = post_inbound(integration, inbound("audit me", "aud-stream-1")).json()
    client = StreamClient(hub_server.ws_url, ana, after=start).open()
    assert client.read_until_ready()["backfilled"] == 1
    rows = staff["admin"].get("/api/audit", params={"agent_id": ana.me["id"]}).json()
    backfill = [r for r in rows if r["action"] == "stream.backfill"]
    assert backfill and backfill[0]["detail"]["patient_ids"] == [msg["patient_id"]]
    assert any(r["action"] == "conversations.list" for r in rows)
    client.close()


def test_a_socket_closes_when_its_agent_is_deactivated(hub_server, staff):
    import sqlite3

    ben = staff["ben"]
    stream = StreamClient(hub_server.ws_url, ben, after=0).open()
    stream.read_until_ready()
    with sqlite3.connect(hub_server.settings.database.url.split("///", 1)[1]) as db:
        db.execute("UPDATE agents SET active = 0 WHERE login = 'ben'")  # as an admin screen will
    with pytest.raises(ConnectionClosed):
        while True:
            stream.recv(timeout=15)
    assert stream.ws.close_code == 4401
    assert ben.get("/api/auth/me").status_code == 401

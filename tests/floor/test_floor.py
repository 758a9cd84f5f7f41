"""The live floor (hub/floor/): its figures for a known team, kept live on supervisors' sockets,
setting an agent Away (audited, their inbox told), assigning, transferring and taking from it, and
who may use it. A real hub on 127.0.0.1, the bot off."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import HubServer, hub_settings
from tests.support.stream import StreamClient

PASSWORD = "floor-walk-quetzal-8812"


@pytest.fixture
def hub(tmp_path):
    srv = HubServer(hub_settings(tmp_path)).start()
    yield srv
    srv.stop()


def _sign_in(base_url: str, login: str) -> Staff:
    s = Staff(base_url)
    r = s.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    s.me = r.json()
    return s


class Floor:
    """A team of its own (nobody else's conversations in it) with three members: Xena (capacity
    1), Yuri (capacity 2) and Zack (capacity 4, never signs in)."""

    def __init__(self, hub: HubServer) -> None:
        self.hub = hub
        self.admin = Staff(hub.base_url, "admin")
        self.sofia = Staff(hub.base_url, "sofia")
        r = self.admin.post("/api/teams", json={"name": "Floor walk", "name_es": "Recorrido"})
        assert r.status_code in (200, 201), r.text
        self.team_id = r.json()["id"]
        self.ids: dict[str, int] = {}
        for login, cap in (("xena", 1), ("yuri", 2), ("zack", 4)):
            body = {
                "login": login,
                "display_name": login.title(),
                "password": PASSWORD,
                "team_ids": [self.team_id],
                "capacity": cap,
                "languages": ["en", "es"],
            }
            r = self.admin.post("/api/agents", json=body)
            assert r.status_code in (200, 201), r.text
            self.ids[login] = r.json()["id"]
        self.xena = _sign_in(hub.base_url, "xena")
        self.yuri = _sign_in(hub.base_url, "yuri")

    def conversation(self, n: int) -> int:
        r = post_inbound(
            self.admin.http, inbound(f"Question {n}", f"floor-{n}-{time.time_ns()}", address=f"+1650555{n:04d}")
        )
        assert r.status_code == 201, r.text
        return r.json()["conversation_id"]

    def to_team(self, conversation_id: int) -> None:
        r = self.sofia.post(f"/api/conversations/{conversation_id}/transfer", json={"team_id": self.team_id})
        assert r.status_code in (200, 201), r.text

    def team(self, floor: dict[str, Any], team_id: int | None = -1) -> dict[str, Any]:
        wanted = self.team_id if team_id == -1 else team_id
        return next(t for t in floor["teams"] if t["id"] == wanted)

    def close(self) -> None:
        for s in (self.admin, self.sofia, self.xena, self.yuri):
            s.close()


@pytest.fixture
def floor(hub):
    f = Floor(hub)
    yield f
    f.close()


def _presence(staff: Staff, available: bool) -> None:
    r = staff.request("PUT", "/api/presence", json={"available": available})
    assert r.status_code == 200, r.text


def _sql(hub: HubServer, query: str, *args: Any) -> None:
    with sqlite3.connect(hub.settings.database.url.split("///", 1)[1]) as db:
        db.execute(query, args)


def _floor_frame(stream: StreamClient, wanted, timeout: float = 10) -> dict[str, Any]:  # noqa: ANN001
    """The first floor frame that satisfies `wanted`."""
    deadline = time.monotonic() + timeout
    while True:
        frame = stream.recv(max(0.1, deadline - time.monotonic()))
        if frame["type"] == "floor" and wanted(frame["floor"]):
            return frame["floor"]


def _types_for(stream: StreamClient, seconds: float) -> list[str]:
    """The types of the frames a socket got in the next `seconds`."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            seen.append(stream.recv(0.5)["type"])
        except TimeoutError:
            pass
    return seen


def test_the_floor_figures_for_a_known_team(hub, floor):
    """Three conversations join the team's queue while both members online are Away; one is urgent
    (a red flag nobody took). Xena becomes available: she gets the urgent one first (capacity 1),
    two wait. The figures are exact."""
    _presence(floor.xena, False)
    _presence(floor.yuri, False)
    convs = [floor.conversation(n) for n in (1, 2, 3)]
    for c in convs:
        floor.to_team(c)
    long_ago = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S.%f")
    _sql(hub, "UPDATE conversations SET queued_at = ? WHERE id = ?", long_ago, convs[0])
    _sql(hub, "UPDATE conversations SET urgent_since = ?, priority = 10 WHERE id = ?", long_ago, convs[2])

    f = floor.sofia.get("/api/floor").json()
    t = floor.team(f)
    assert (t["waiting"], t["urgent_waiting"], t["online"], t["available"], t["away"]) == (3, 1, 2, 0, 2)
    assert 30 * 60 - 5 <= t["longest_wait_s"] <= 30 * 60 + 60
    assert (t["load"], t["capacity"], t["open"], t["assistant"]) == (0, 0, 3, 0)
    states = {a["id"]: (a["state"], a["load"], a["capacity"]) for a in f["agents"]}
    assert states[floor.ids["xena"]] == ("away", 0, 1)
    assert states[floor.ids["zack"]] == ("offline", 0, 4)
    listed = [w["id"] for w in f["waiting"] if w["team_id"] == floor.team_id]
    assert listed == [convs[2], convs[0], convs[1]]  # urgent first, then the longest waiting
    assert all("patient" not in k and "name" not in k for w in f["waiting"] for k in w)  # no patient data

    _presence(floor.xena, True)  # routing hands her one at once: the urgent one
    t = floor.team(floor.sofia.get("/api/floor").json())
    assert (t["waiting"], t["online"], t["available"], t["away"], t["load"], t["capacity"]) == (2, 2, 1, 1, 1, 1)
    assert t["urgent_waiting"] == 1  # assigned is not taken
    conv = floor.xena.get(f"/api/conversations/{convs[2]}").json()
    assert conv["assignee_id"] == floor.ids["xena"]

    # The assistant's share: one conversation handed back to it.
    before = floor.sofia.get("/api/floor").json()["assistant"]
    r = floor.sofia.post(f"/api/conversations/{convs[1]}/hand-back")
    assert r.status_code in (200, 201), r.text
    after = floor.sofia.get("/api/floor").json()["assistant"]
    assert after["holding"] == before["holding"] + 1 and after["open"] == before["open"]
    assert after["share"] == round(after["holding"] / after["open"], 4)


def test_a_new_message_moves_the_floor_live(hub, floor):
    sofia = floor.sofia
    stream = StreamClient(hub.ws_url, sofia, sofia.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()
    floor.conversation(6)  # an event, but her inbox does not show the floor: no floor frame
    assert "floor" not in _types_for(stream, 2.5)
    stream.ws.send(json.dumps({"type": "floor", "watching": True}))  # the inbox opened #/floor
    start = _floor_frame(stream, lambda f: True)  # pushed at once, then on changes and every few seconds
    no_team = next((t["waiting"] for t in start["teams"] if t["id"] is None), 0)

    conv = floor.conversation(7)
    moved = _floor_frame(stream, lambda f: any(t["id"] is None and t["waiting"] == no_team + 1 for t in f["teams"]))
    assert any(w["id"] == conv for w in moved["waiting"])

    floor.to_team(conv)  # nobody of the team available: it waits in the team's queue
    _floor_frame(stream, lambda f: floor.team(f)["waiting"] == 1)
    _presence(floor.yuri, True)  # she takes it (routing), and the floor says so
    f = _floor_frame(stream, lambda f: floor.team(f)["waiting"] == 0)
    yuri = next(a for a in f["agents"] if a["id"] == floor.ids["yuri"])
    assert (yuri["state"], yuri["load"]) == ("available", 1)
    stream.close()

    # An agent's socket never gets the floor.
    ana = Staff(hub.base_url, "ana")
    mine = StreamClient(hub.ws_url, ana, ana.get("/api/conversations").json()["last_seq"]).open()
    mine.read_until_ready()
    mine.ws.send(json.dumps({"type": "floor", "watching": True}))  # asking is not enough
    floor.conversation(8)
    seen = _types_for(mine, 3)
    assert "event" in seen and "floor" not in seen
    mine.close()
    ana.close()


def test_a_supervisor_sets_an_agent_away_audited_and_their_inbox_is_told(hub, floor):
    _presence(floor.xena, True)
    xena_stream = StreamClient(hub.ws_url, floor.xena, 0).open()
    xena_stream.read_until_ready()

    r = floor.sofia.post(f"/api/floor/agents/{floor.ids['xena']}/away")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "away"
    while (frame := xena_stream.recv(5))["type"] != "presence":
        pass
    assert frame["available"] is False and frame["by_id"] == floor.sofia.me["id"]
    assert floor.xena.get("/api/presence").json()["available"] is False
    xena_stream.close()

    rows = floor.admin.get("/api/audit", params={"action": "agent.set_away"}).json()
    rows = rows.get("entries", rows) if isinstance(rows, dict) else rows
    assert any(
        row["agent_id"] == floor.sofia.me["id"]
        and row["detail"] == {"agent_id": floor.ids["xena"], "was_available": True}
        for row in rows
    ), rows

    # Refusals: an agent may not; nobody by that id; not an id.
    ana = Staff(hub.base_url, "ana")
    assert ana.post(f"/api/floor/agents/{floor.ids['yuri']}/away").status_code == 403
    assert ana.get("/api/floor").status_code == 403
    ana.close()
    assert Staff(hub.base_url).get("/api/floor").status_code == 401
    missing = floor.sofia.post("/api/floor/agents/99999/away")
    assert missing.status_code == 404 and "99999" in missing.json()["detail"]
    assert floor.sofia.post("/api/floor/agents/0/away").status_code == 400
    assert floor.sofia.post("/api/floor/agents/abc/away").status_code in (400, 404)


def test_assign_transfer_and_take_from_the_floor(hub, floor):
    """Each waiting conversation listed on the floor, acted on with the conversation routes."""
    _presence(floor.xena, False)
    _presence(floor.yuri, False)
    a, b, c = (floor.conversation(n) for n in (21, 22, 23))
    for conv in (a, b, c):
        floor.to_team(conv)
    _sql(hub, "UPDATE conversations SET urgent_since = ?, escalation = 1 WHERE id = ?", "2026-01-01 00:00:00", c)
    listed = {w["id"]: w for w in floor.sofia.get("/api/floor").json()["waiting"]}
    assert {a, b, c} <= set(listed) and listed[c]["urgent"] is True

    r = floor.sofia.post(f"/api/conversations/{a}/assign", json={"agent_id": floor.ids["yuri"]})
    assert r.status_code in (200, 201), r.text
    billing = next(t["id"] for t in floor.sofia.get("/api/teams").json() if t["key"] == "billing")
    r = floor.sofia.post(f"/api/conversations/{b}/transfer", json={"team_id": billing})
    assert r.status_code in (200, 201), r.text
    r = floor.sofia.post(f"/api/conversations/{c}/assign", json={"agent_id": floor.sofia.me["id"], "take": True})
    assert r.status_code in (200, 201), r.text

    f = floor.sofia.get("/api/floor").json()
    t = floor.team(f)
    assert (t["waiting"], t["urgent_waiting"]) == (0, 0)
    assert next(x for x in f["agents"] if x["id"] == floor.ids["yuri"])["load"] == 1
    assert not {a, c} & {w["id"] for w in f["waiting"]}
    assert next(w for w in f["waiting"] if w["id"] == b)["team_id"] == billing

"""Collision: who else has a conversation open (viewing presence on the agents' stream, only to
staff who may see it, ending when the view changes or the socket closes, across hub processes),
and a reply sent after a colleague's newer reply, refused (409) until confirmed."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from hub.events import ViewingSignal
from hub.realtime.presence import Viewers
from tests.support.clients import Staff
from tests.support.server import HubServer, hub_settings
from tests.support.services import PostgresDatabase, redis_url
from tests.support.stream import StreamClient


def _conversation(staff: Staff, patient_name: str) -> int:
    convs = staff.get("/api/conversations").json()["conversations"]
    return next(c["id"] for c in convs if c["patient_name"] == patient_name)


def _open(base_ws: str, who: Staff) -> StreamClient:
    client = StreamClient(base_ws, who, after=who.get("/api/conversations").json()["last_seq"]).open()
    client.read_until_ready()
    return client


def _say(client: StreamClient, frame: dict[str, Any]) -> None:
    assert client.ws is not None
    client.ws.send(json.dumps(frame))


def _next(client: StreamClient, kind: str, timeout: float = 10) -> dict[str, Any]:
    while True:
        frame = client.recv(timeout)
        if frame["type"] == kind:
            return frame


def _frames_until_typing(client: StreamClient, conversation_id: int) -> list[dict[str, Any]]:
    """Every frame up to a typing notice in `conversation_id`: signals arrive in the order sent,
    so what was not among them was never sent to this socket."""
    seen = []
    while True:
        frame = client.recv(10)
        seen.append(frame)
        if frame["type"] == "typing" and frame["conversation_id"] == conversation_id:
            return seen


def test_viewing_goes_to_staff_in_reach_and_ends_with_the_view_or_the_socket(hub_server, staff):
    ana, sofia, ben = staff["ana"], staff["sofia"], staff["ben"]
    maria = _conversation(sofia, "María González")  # scheduling: Ana's team, not Ben's
    billing = next(c["id"] for c in ben.get("/api/conversations").json()["conversations"] if c["team_id"] is not None)
    ana_s, sofia_s, ben_s = (_open(hub_server.ws_url, s) for s in (ana, sofia, ben))

    _say(ana_s, {"type": "viewing", "conversation_id": maria})
    seen = _next(sofia_s, "viewing")
    assert seen["conversation_id"] == maria and seen["agent_id"] == ana.me["id"]
    assert seen["name"] == "Ana Agent" and seen["viewing"] is True and seen["expires_in"] > 0
    # Ben, outside the conversation's reach, is never told; he is told of Sofía typing in his team's.
    _say(sofia_s, {"type": "typing", "conversation_id": billing})
    assert not [f for f in _frames_until_typing(ben_s, billing) if f["type"] == "viewing"]
    # Ben cannot announce himself in a conversation he may not see: nobody hears of it.
    _say(ben_s, {"type": "viewing", "conversation_id": maria})
    _say(ben_s, {"type": "viewing", "conversation_id": "not a number"})  # ignored, the socket stays
    _say(ben_s, {"type": "typing", "conversation_id": billing})
    assert not [f for f in _frames_until_typing(sofia_s, billing) if f["type"] == "viewing"]

    # A second inbox opening María's conversation is told at once who already has it open.
    sofia_tab = _open(hub_server.ws_url, sofia)
    _say(sofia_tab, {"type": "viewing", "conversation_id": maria})
    already = _next(sofia_tab, "viewing")
    assert (already["agent_id"], already["viewing"], already["viewer"]) == (ana.me["id"], True, seen["viewer"])
    told = _next(ana_s, "viewing")  # and Ana hears of Sofía
    assert told["agent_id"] == sofia.me["id"] and told["viewing"] is True

    # Ana leaves the conversation: it ends for the others.
    _say(ana_s, {"type": "viewing", "conversation_id": None})
    left = _next(sofia_s, "viewing")
    assert (left["agent_id"], left["viewing"], left["viewer"]) == (ana.me["id"], False, seen["viewer"])
    # Sofía's tab closes: Ana is told it ended, and a new inbox opening it hears of nobody.
    sofia_tab.close()
    gone = _next(ana_s, "viewing")
    assert (gone["agent_id"], gone["viewing"]) == (sofia.me["id"], False)
    assert hub_server.hub.fanout.viewers.of(maria) == []
    for client in (ana_s, sofia_s, ben_s):
        client.close()


def test_a_reply_after_a_colleagues_newer_reply_is_refused_until_confirmed(hub_server, staff):
    ana, sofia = staff["ana"], staff["sofia"]
    maria = _conversation(sofia, "María González")
    timeline = f"/api/patients/{ana.get(f'/api/conversations/{maria}').json()['patient_id']}/timeline"
    started = ana.get("/api/conversations").json()["last_seq"]  # Ana starts writing here
    before = len(ana.get(timeline).json()["events"])
    theirs = sofia.post(f"/api/conversations/{maria}/messages", json={"text": "Ya le escribí yo, María"}).json()

    draft = {"text": "Hola María, ¿el lunes?", "drafted_after": started}
    r = ana.post(f"/api/conversations/{maria}/messages", json=draft)
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "Sofía Supervisor replied after you started. Send anyway?"
    newer = r.json()["problems"][0]
    assert newer["code"] == "replied_since"
    assert newer["reply"]["seq"] == theirs["seq"] and newer["reply"]["text"] == "Ya le escribí yo, María"
    assert newer["reply"]["author_name"] == "Sofía Supervisor" and newer["reply"]["author_id"] == sofia.me["id"]
    assert len(ana.get(timeline).json()["events"]) == before + 1  # nothing of Ana's stored
    # In Spanish for a reader in Spanish.
    r = ana.post(f"/api/conversations/{maria}/messages", json=draft, headers={"Accept-Language": "es"})
    assert r.status_code == 409 and "Sofía Supervisor" in r.json()["detail"] and "replied" not in r.json()["detail"]

    # Having seen it: confirmed, it goes.
    mine = ana.post(f"/api/conversations/{maria}/messages", json={**draft, "confirm": True})
    assert mine.status_code == 201 and mine.json()["text"] == "Hola María, ¿el lunes?"
    # Her own reply since is no collision; nor a draft begun after Sofía's reply.
    again = {"text": "Y otra cosa", "drafted_after": theirs["seq"]}
    assert ana.post(f"/api/conversations/{maria}/messages", json=again).status_code == 201
    # A client that says nothing of its draft is not checked (as before).
    assert ana.post(f"/api/conversations/{maria}/messages", json={"text": "Sin comprobar"}).status_code == 201
    # Bad input is a clear 400, never a 500.
    for bad in ({"drafted_after": -1}, {"drafted_after": "ayer"}, {"confirm": "yes"}):
        r = ana.post(f"/api/conversations/{maria}/messages", json={"text": "x", **bad})
        assert r.status_code == 400, (bad, r.status_code)


def test_viewing_crosses_hub_processes(tmp_path):
    pg = PostgresDatabase()
    a_settings = hub_settings(tmp_path / "a", db_url=pg.url, redis_url=redis_url())
    b_settings = replace(
        hub_settings(tmp_path / "b", db_url=pg.url, redis_url=redis_url()),
        realtime=a_settings.realtime,
        security=a_settings.security,
    )
    a = HubServer(a_settings).start()
    b = HubServer(b_settings).start()
    try:
        ana, sofia = Staff(a.base_url, "ana"), Staff(b.base_url, "sofia")
        maria = _conversation(sofia, "María González")
        ana_s, sofia_s = _open(a.ws_url, ana), _open(b.ws_url, sofia)
        _say(ana_s, {"type": "viewing", "conversation_id": maria})
        seen = _next(sofia_s, "viewing")
        assert (seen["agent_id"], seen["conversation_id"], seen["viewing"]) == (ana.me["id"], maria, True)
        # An inbox opening it on hub b is told at once of Ana, connected to hub a.
        sofia_tab = _open(b.ws_url, sofia)
        _say(sofia_tab, {"type": "viewing", "conversation_id": maria})
        assert _next(sofia_tab, "viewing")["agent_id"] == ana.me["id"]
        ana_s.close()  # her socket on hub a closes: hub b's inboxes are told
        gone = _next(sofia_s, "viewing")
        assert (gone["agent_id"], gone["viewing"]) == (ana.me["id"], False)
        # The reply collision holds across the hubs too (one database).
        started = ana.get("/api/conversations").json()["last_seq"]
        assert sofia.post(f"/api/conversations/{maria}/messages", json={"text": "Desde b"}).status_code == 201
        r = ana.post(f"/api/conversations/{maria}/messages", json={"text": "Desde a", "drafted_after": started})
        assert r.status_code == 409 and r.json()["problems"][0]["reply"]["text"] == "Desde b"
        for client in (sofia_s, sofia_tab):
            client.close()
    finally:
        a.stop()
        b.stop()
        pg.drop()


def test_a_viewer_not_said_again_is_forgotten():
    """A hub process that died says nothing more: what it said fades after the time to live."""
    viewers = Viewers(ttl=1.0)
    said = ViewingSignal(7, "tab-1", 3, "Ben Agent", None, None, 0, True)
    viewers.note(said)
    viewers.note(ViewingSignal(8, "tab-2", 4, "Ana Agent", None, None, 0, True))
    assert viewers.of(7) == [said]
    time.sleep(0.5)
    viewers.note(said)  # said again: lives on
    time.sleep(0.7)
    assert viewers.of(7) == [said] and viewers.of(8) == []
    time.sleep(1.0)
    assert viewers.of(7) == []
    viewers.note(said)
    viewers.note(msgspec.structs.replace(said, viewing=False))  # left
    assert viewers.of(7) == []


@pytest.mark.parametrize("hub_server_options", [{"viewing_every_s": 0.5}], indirect=True)
def test_an_open_view_is_said_again_and_ends_when_the_conversation_leaves_reach(hub_server, staff):
    ana, sofia, ben = staff["ana"], staff["sofia"], staff["ben"]
    maria = _conversation(sofia, "María González")
    ana_s, sofia_s = _open(hub_server.ws_url, ana), _open(hub_server.ws_url, sofia)
    _say(ana_s, {"type": "viewing", "conversation_id": maria})
    first = _next(sofia_s, "viewing")
    assert first["viewing"] is True and first["expires_in"] == 11  # 2 x 0.5 s + 10 s
    again = _next(sofia_s, "viewing", timeout=3)  # said again while open
    assert (again["viewer"], again["viewing"]) == (first["viewer"], True)
    # Transferred to Billing: out of Ana's reach, so her view ends at its next refresh.
    billing = next(t["id"] for t in sofia.get("/api/teams").json() if t["key"] == "billing")
    r = sofia.post(f"/api/conversations/{maria}/transfer", json={"team_id": billing})
    assert r.status_code in (200, 201), r.text
    while (frame := _next(sofia_s, "viewing", timeout=3))["viewing"]:
        assert frame["viewer"] == first["viewer"]
    assert frame["agent_id"] == ana.me["id"]
    # Ben (Billing) opens it now: nobody is said to be viewing it.
    ben_s = _open(hub_server.ws_url, ben)
    _say(ben_s, {"type": "viewing", "conversation_id": maria})
    assert _next(sofia_s, "viewing")["agent_id"] == ben.me["id"]  # by now Ben was told who was there
    _say(sofia_s, {"type": "typing", "conversation_id": maria})
    assert not [f for f in _frames_until_typing(ben_s, maria) if f["type"] == "viewing"]
    assert hub_server.hub.fanout.viewers.of(maria)[0].agent_id == ben.me["id"]
    for client in (ana_s, sofia_s, ben_s):
        client.close()

"""The red-flag list on a real hub: seeded from locales/red-flags.toml (what the table never had), read by supervisors,
edited by admins (add, deactivate, bring back), every change audited, bad input a clear 400."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from hub.bot.redflags import active_phrases, ensure_red_flags
from hub.bot.understand import SEED_RED_FLAGS, red_flags
from tests.support.clients import Staff
from tests.support.server import HubServer


def _list(client: Staff) -> dict:
    r = client.get("/api/red-flags")
    assert r.status_code == 200, r.text
    return r.json()


def _audit(admin: Staff, action: str) -> list[dict]:
    r = admin.get("/api/audit", params={"action": action})
    assert r.status_code == 200, r.text
    return r.json()


def _add(admin: Staff, phrase: str, language: str = "en", category: str = "cardiac", **kw):
    return admin.post("/api/red-flags", json={"language": language, "phrase": phrase, "category": category}, **kw)


def test_the_starting_list_is_seeded_and_edits_survive_a_restart(hub_server: HubServer, staff) -> None:
    admin = staff["admin"]
    data = _list(admin)
    assert len(data["phrases"]) == len(SEED_RED_FLAGS)
    assert all(p["active"] and p["created_by"] is None for p in data["phrases"])
    assert {c["key"] for c in data["categories"]} >= {"cardiac", "breathing", "stroke", "self_harm", "bleeding"}
    assert next(c for c in data["categories"] if c["key"] == "self_harm")["call"][0] == "988"
    [seeded] = _audit(admin, "red_flag.seed")
    assert seeded["agent_id"] is None and seeded["detail"]["count"] == len(SEED_RED_FLAGS)

    chest = next(p for p in data["phrases"] if p["phrase"] == "chest pain")
    assert admin.request("DELETE", f"/api/red-flags/{chest['id']}").status_code == 200
    assert _add(admin, "purple toes").status_code == 201
    # An install from before a phrase joined the starting list: its table never had it.
    newer = next(p for p in data["phrases"] if p["language"] == "es" and p["phrase"] != chest["phrase"])
    with sqlite3.connect(hub_server.settings.database.url.split("///", 1)[1]) as db:
        db.execute("DELETE FROM red_flags WHERE id = ?", (newer["id"],))

    hub_server.stop()
    again = HubServer(hub_server.settings).start()
    try:
        admin = Staff(again.base_url, "admin")
        after = {p["id"]: p for p in _list(admin)["phrases"]}
        assert len(after) == len(SEED_RED_FLAGS) + 1  # the missing one added again, nothing else
        assert after[chest["id"]]["active"] is False  # the deactivation stands
        assert any(p["phrase"] == "purple toes" and p["active"] for p in after.values())
        added = [p for p in after.values() if p["phrase"] == newer["phrase"] and p["language"] == "es"]
        assert len(added) == 1 and added[0]["active"] and added[0]["id"] != newer["id"]
        first, second = sorted(_audit(admin, "red_flag.seed"), key=lambda a: a["id"])
        assert second["detail"] == {"count": 1, "from": "locales/red-flags.toml", "added": [f"es: {newer['phrase']}"]}
        admin.close()
    finally:
        again.stop()


def test_a_phrase_a_newer_file_dropped_is_retired_but_an_admins_stays(hub_server: HubServer, staff) -> None:
    admin = staff["admin"]
    assert _add(admin, "purple toes").status_code == 201
    # What an older release seeded and this one's file no longer has (it was replaced or misfired).
    with sqlite3.connect(hub_server.settings.database.url.split("///", 1)[1]) as db:
        db.execute(
            "INSERT INTO red_flags (language, phrase, category, active, created_at) "
            "VALUES ('es', 'ya no despertar', 'self_harm', 1, '2026-01-01 00:00:00')"
        )
    hub_server.stop()
    again = HubServer(hub_server.settings).start()
    try:
        admin = Staff(again.base_url, "admin")
        phrases = {(p["language"], p["phrase"]): p for p in _list(admin)["phrases"]}
        assert phrases[("es", "ya no despertar")]["active"] is False
        assert phrases[("en", "purple toes")]["active"] is True
        assert all(
            p["active"] for p in phrases.values() if p["created_by"] is None and p["phrase"] != "ya no despertar"
        )
        [retired] = _audit(admin, "red_flag.retire")
        assert retired["agent_id"] is None and retired["detail"] == {"count": 1, "retired": ["es: ya no despertar"]}
        admin.close()
    finally:
        again.stop()


def test_seeding_again_adds_nothing_the_table_has(hub_server: HubServer) -> None:
    engine = create_engine(hub_server.settings.database.url.replace("+aiosqlite", ""))
    try:
        with Session(engine) as s, s.begin():

            class Tx:
                session = s

            assert ensure_red_flags(Tx(), [None, None]) == [0, 0]  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_who_reads_and_who_edits(hub_server: HubServer, staff) -> None:
    anonymous = Staff(hub_server.base_url)
    assert anonymous.get("/api/red-flags").status_code == 401
    assert staff["ana"].get("/api/red-flags").status_code == 403
    assert staff["sofia"].get("/api/red-flags").status_code == 200
    r = _add(staff["sofia"], "purple toes")
    assert r.status_code == 403 and r.json()["detail"] == "This needs an administrator."
    assert staff["sofia"].request("DELETE", "/api/red-flags/1").status_code == 403
    assert staff["ana"].request("DELETE", "/api/red-flags/1").status_code == 403
    assert _list(staff["admin"])["phrases"][0]["active"] is True
    anonymous.close()


def test_an_admin_adds_a_phrase_and_the_bot_looks_for_it_at_once(hub_server: HubServer, staff) -> None:
    admin = staff["admin"]
    engine = create_engine(hub_server.settings.database.url.replace("+aiosqlite", ""))
    try:
        with Session(engine) as s:
            before = active_phrases(s)  # cached now
            assert not red_flags("my toes are purple and cold", before)
        r = _add(admin, "  purple   toes ", language="en", category="cardiac")
        assert r.status_code == 201, r.text
        added = r.json()
        assert (added["phrase"], added["language"], added["category"], added["active"]) == (
            "purple toes",
            "en",
            "cardiac",
            True,
        )
        assert added["created_by"] == "Alex Admin"
        with Session(engine) as s:
            hits = red_flags("my toes are purple and cold", active_phrases(s))
        assert [(h.id, h.category) for h in hits] == [(added["id"], "cardiac")]
    finally:
        engine.dispose()
    listed = next(p for p in _list(staff["sofia"])["phrases"] if p["id"] == added["id"])
    assert listed["active"] and listed["created_by"] == "Alex Admin"
    [entry] = _audit(admin, "red_flag.add")
    assert entry["agent_id"] == admin.me["id"]
    assert entry["detail"] == {"id": added["id"], "language": "en", "phrase": "purple toes", "category": "cardiac"}


def test_deactivating_keeps_the_row_and_can_be_undone(hub_server: HubServer, staff) -> None:
    admin = staff["admin"]
    phrase = next(p for p in _list(admin)["phrases"] if p["phrase"] == "me quiero morir")
    r = admin.request("DELETE", f"/api/red-flags/{phrase['id']}")
    assert r.status_code == 200, r.text
    gone = r.json()
    assert gone["active"] is False and gone["deactivated_by"] == "Alex Admin" and gone["deactivated_at"]
    listed = next(p for p in _list(staff["sofia"])["phrases"] if p["id"] == phrase["id"])
    assert listed["active"] is False and listed["deactivated_by"] == "Alex Admin"
    [entry] = _audit(admin, "red_flag.deactivate")
    assert entry["detail"]["id"] == phrase["id"] and entry["detail"]["phrase"] == "me quiero morir"

    # again: nothing changes, nothing more in the audit trail
    assert admin.request("DELETE", f"/api/red-flags/{phrase['id']}").json()["active"] is False
    assert len(_audit(admin, "red_flag.deactivate")) == 1

    # brought back: the same row, in force again
    r = _add(admin, "me quiero morir", language="es", category="self_harm")
    assert r.status_code == 201 and r.json()["id"] == phrase["id"] and r.json()["active"] is True
    [entry] = _audit(admin, "red_flag.add")
    assert entry["detail"]["reactivated"] is True


def test_bad_input_is_a_clear_400(hub_server: HubServer, staff) -> None:
    admin = staff["admin"]
    cases = [
        ({"language": "fr", "phrase": "douleur thoracique", "category": "cardiac"}, 400, "The language must be"),
        ({"language": "en", "phrase": "purple toes", "category": "toes"}, 400, "There is no category toes"),
        ({"language": "en", "phrase": "   ", "category": "cardiac"}, 400, "Write the words to look for."),
        ({"language": "en", "phrase": "x" * 201, "category": "cardiac"}, 400, "at most 200 characters"),
        ({"language": "en", "phrase": "the of my", "category": "cardiac"}, 400, "has no word to look for"),
        ({"language": "es", "phrase": "de la", "category": "cardiac"}, 400, "has no word to look for"),
        (
            {"language": "en", "phrase": "one two three four five six seven eight nine", "category": "cardiac"},
            400,
            "at most 8 words",
        ),
        ({"language": "en", "phrase": "purple\x00toes", "category": "cardiac"}, 400, "NUL characters"),
        ({"language": "en", "phrase": "purple toes", "category": "cardiac", "extra": 1}, 400, "extra"),
        ({"language": "en", "phrase": "purple toes"}, 400, "category"),
        ({"language": "en", "phrase": 7, "category": "cardiac"}, 400, "phrase"),
        ({"language": "en", "phrase": "x" * 1001, "category": "cardiac"}, 400, "phrase"),
        ({"language": "en", "phrase": "chest pain", "category": "cardiac"}, 409, "already has this phrase"),
        ({"language": "en", "phrase": "CHEST,  pain!", "category": "breathing"}, 409, "“chest pain”"),
        ({"language": "en", "phrase": "pain in the chest", "category": "cardiac"}, 409, "“chest pain”"),
    ]
    for body, status, said in cases:
        r = admin.post("/api/red-flags", json=body)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert said in r.json()["detail"], (body, r.json())
    r = admin.post("/api/red-flags", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    for path in ("/api/red-flags/0", f"/api/red-flags/{2**40}", "/api/red-flags/x"):
        assert admin.request("DELETE", path).status_code in (400, 404, 405), path
    r = admin.request("DELETE", "/api/red-flags/999999")
    assert r.status_code == 404 and r.json()["detail"] == "There is no red-flag phrase 999999."
    assert len(_list(admin)["phrases"]) == len(SEED_RED_FLAGS)  # nothing was stored
    assert _audit(admin, "red_flag.add") == []


def test_refusals_and_labels_speak_the_admins_language(hub_server: HubServer, staff) -> None:
    admin = staff["admin"]
    es = {"accept-language": "es-MX"}
    r = _add(admin, "the", headers=es)
    assert r.status_code == 400 and "no tiene ninguna palabra" in r.json()["detail"], r.text
    r = _add(admin, "chest pain", headers=es)
    assert r.status_code == 409 and r.json()["detail"] == "La lista ya tiene esta frase: “chest pain”."
    r = admin.request("DELETE", "/api/red-flags/999999", headers=es)
    assert r.json()["detail"] == "No hay ninguna frase de alerta 999999."
    labels = {c["key"]: c["label"] for c in admin.get("/api/red-flags", headers=es).json()["categories"]}
    assert labels["cardiac"] == "Corazón"

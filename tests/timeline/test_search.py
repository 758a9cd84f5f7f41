"""Search over timeline text as staff type it: any case, Spanish accents or none, on each storage."""

from __future__ import annotations

import httpx
import pytest

from tests.support.clients import Staff, inbound, post_inbound


def _texts(staff: Staff, q: str) -> list[str]:
    r = staff.get("/api/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [h["event"]["text"] for h in r.json()["hits"]]


@pytest.mark.parametrize("any_hub_server", ["sqlite-memory", "postgres-memory"], indirect=True)
def test_accents_and_case_do_not_matter(any_hub_server) -> None:
    http = httpx.Client(base_url=any_hub_server.base_url, timeout=10)
    written = ["¿Dónde queda la CLÍNICA? Llego mañana", "Necesito una cita para el miercoles"]
    for n, text in enumerate(written):
        assert post_inbound(http, inbound(text, f"search-{n}", address="+16505550177")).status_code == 201
    admin = Staff(any_hub_server.base_url, "admin")
    for q in ("manana", "MAÑANA", "dÓnde", "Mañana clinica", "donde CLÍNICA"):
        assert written[0] in _texts(admin, q), q
    assert _texts(admin, "donde CLÍNICA") == [written[0]]
    assert _texts(admin, "miércoles CITA") == [written[1]]  # an accent typed where none was written
    assert _texts(admin, "mañanas") == []  # still every letter of every word
    assert _texts(admin, "a_a") == _texts(admin, "a%a") == []  # wildcards taken as written
    admin.close()


def test_an_event_not_yet_folded_is_found_on_its_text(hub_server) -> None:
    """Written by an older hub beside this one, or not yet reached by the background fill."""
    import sqlite3

    http = httpx.Client(base_url=hub_server.base_url, timeout=10)
    sent = post_inbound(http, inbound("Necesito ayuda URGENTE con mi receta", "search-old", address="+16505550178"))
    with sqlite3.connect(hub_server.settings.database.url.split("///", 1)[1]) as db:
        db.execute("UPDATE timeline_events SET search_text = NULL WHERE seq = ?", (sent.json()["seq"],))
    admin = Staff(hub_server.base_url, "admin")
    assert _texts(admin, "urgente RECETA") == ["Necesito ayuda URGENTE con mi receta"]
    admin.close()


# --- the full-text index (hub/search/index.py, migration 0016) ---------------------------------------


def _sql(url: str, *statements: str, **params: object) -> list[tuple]:
    """Statements on the hub's database, beside the running hub (its own connection, one
    transaction); the last one's rows."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> list[tuple]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    result = await conn.execute(text(statement), params if ":" in statement else {})
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _hits(staff: Staff, q: str, **params: object) -> dict:
    r = staff.get("/api/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


def _send(base_url: str, texts: list[str], address: str, name: str | None = None) -> list[dict]:
    out = []
    with httpx.Client(base_url=base_url, timeout=10) as http:
        for n, text in enumerate(texts):
            body = inbound(text, f"fts-{address}-{n}", address=address)
            if name:
                body["from"]["name"] = name
            r = post_inbound(http, body)
            assert r.status_code == 201, r.text
            out.append(r.json())
    return out


@pytest.mark.parametrize("any_hub_server", ["sqlite-memory", "postgres-memory"], indirect=True)
def test_words_as_typed_marked_as_written(any_hub_server) -> None:
    """Every word required, any order; the last one also as a word's start; a word with punctuation
    inside is a phrase; the snippet marks the words in the text as written, accents and case kept."""
    base = any_hub_server.base_url
    written = [
        "¿Dónde queda la CLÍNICA? Llego mañana a las 3.30",
        "Quisiera una cita el miércoles, gracias",
        "Mi e-mail cambió; el número es el mismo",
        "Necesito la receta de losartán para mañana " + "con mucho detalle " * 40 + "y el final",
    ]
    _send(base, written, "+16505550181", name="Íñigo Zubizarreta")
    admin = Staff(base, "admin")

    def texts(q: str) -> list[str]:  # among these (the demo clinic has its own mañanas)
        return [h["event"]["text"] for h in _hits(admin, q)["hits"] if h["event"]["text"] in written]

    assert texts("clinica DONDE") == [written[0]]  # any order, any case, accents typed or not
    assert texts("mañ") == [written[3], written[0]]  # the last word as the start of a word, newest first
    assert texts("cli don") == []  # only the last word is a start: 'cli' alone is no word here
    assert texts("miérc") == texts("MIERC") == [written[1]]
    assert texts("cita miercoles") == [written[1]]
    assert texts("e-mail") == texts("e mail") == [written[2]]  # a phrase of its pieces
    assert texts("mail-e") == []  # in that order
    assert texts("3.30") == [written[0]]
    assert texts("ita") == []  # words, not any part of one
    assert texts("losartan final") == [written[3]]

    hit = _hits(admin, "manana clinica donde")["hits"][0]
    assert hit["snippet"] == [
        ["¿", False],
        ["Dónde", True],
        [" queda la ", False],
        ["CLÍNICA", True],
        ["? Llego ", False],
        ["mañana", True],
        [" a las 3.30", False],
    ]
    long = _hits(admin, "final")["hits"][0]["snippet"]  # a long text: the part around its first match
    assert long[0] == ["…", False] and ["final", True] in long and len("".join(t for t, _ in long)) <= 241

    # Patients by name, through the directory's rules (an agent sees them too, masked).
    found = _hits(admin, "inigo")
    assert [p["patient"]["name"] for p in found["patients"]] == ["Íñigo Zubizarreta"]
    assert found["patients"][0]["name"] == [["Íñigo", True], [" Zubizarreta", False]]
    assert _hits(admin, "inigo", before=10**6)["patients"] == []  # listed with the first page only
    admin.close()


@pytest.mark.parametrize("any_hub_server", ["sqlite-memory", "postgres-memory"], indirect=True)
def test_reach_pages_and_audit(any_hub_server) -> None:
    base = any_hub_server.base_url
    sent = _send(base, [f"Pregunta sobre la factura zapoteca {n}" for n in range(7)], "+16505550182")
    admin, ana, ben = (Staff(base, who) for who in ("admin", "ana", "ben"))
    teams = {t["key"]: t["id"] for t in admin.get("/api/teams").json()}
    conversation = sent[0]["conversation_id"]
    r = admin.post(f"/api/conversations/{conversation}/transfer", json={"team_id": teams["billing"]})
    assert r.status_code == 201, r.text

    # Only conversations the staff member may see: Ben is in billing, Ana is not.
    assert len(_hits(ben, "zapoteca")["hits"]) == 7
    assert _hits(ana, "zapoteca")["hits"] == []
    # Pages, newest first: before= the last seq shown.
    first = _hits(admin, "zapoteca", limit=4)
    assert [h["event"]["seq"] for h in first["hits"]] == [s["seq"] for s in reversed(sent)][:4]
    assert first["has_more"] is True
    rest = _hits(admin, "zapoteca", limit=4, before=first["hits"][-1]["event"]["seq"])
    assert [h["event"]["seq"] for h in rest["hits"]] == [s["seq"] for s in reversed(sent)][4:]
    assert rest["has_more"] is False

    # Every search is audited: who, the query, the patients whose events it showed.
    url = any_hub_server.settings.database.url
    rows = _sql(url, "SELECT agent_id, detail FROM audit_log WHERE action = 'search' ORDER BY id")
    import json

    details = [(agent, json.loads(d) if isinstance(d, str) else d) for agent, d in rows]
    assert [(a, d["query"], d["hits"]) for a, d in details][-4:] == [
        (ben.me["id"], "zapoteca", 7),
        (ana.me["id"], "zapoteca", 0),
        (admin.me["id"], "zapoteca", 4),
        (admin.me["id"], "zapoteca", 3),
    ]
    assert details[-4][1]["patient_ids"] == [sent[0]["patient_id"]] and details[-3][1]["patient_ids"] == []

    # Bad input is a clear 400, never a 500.
    for params in (
        {"q": "a"},
        {"q": "%% ¿?"},
        {"q": "x" * 201},
        {"q": ""},
        {"q": "factura", "before": "-1"},
        {"q": "factura", "limit": "0"},
        {"q": "factura", "limit": "101"},
        {},
    ):
        r = admin.get("/api/search", params=params)
        assert r.status_code == 400, (params, r.status_code, r.text)
    assert admin.get("/api/search", params={"q": '"zapoteca" OR * NEAR( -x \\ \x00'}).status_code == 200
    for who in (admin, ana, ben):
        who.close()


def test_the_index_follows_every_change_to_the_text(hub_server) -> None:
    """The triggers keep search_fts in step with timeline_events in the same transaction."""
    sent = _send(hub_server.base_url, ["Primera versión del texto arándano"], "+16505550183")
    url = hub_server.settings.database.url
    admin = Staff(hub_server.base_url, "admin")
    seq = sent[0]["seq"]
    assert len(_hits(admin, "arandano")["hits"]) == 1
    _sql(url, "UPDATE timeline_events SET text = 'otra cosa', search_text = 'otra cosa' WHERE seq = :s", s=seq)
    assert _hits(admin, "arandano")["hits"] == [] and len(_hits(admin, "otra cosa")["hits"]) == 1
    _sql(url, "UPDATE timeline_events SET kind = 'system' WHERE seq = :s", s=seq)  # a kind search leaves out
    assert _hits(admin, "otra cosa")["hits"] == []
    _sql(url, "UPDATE timeline_events SET kind = 'message_in' WHERE seq = :s", s=seq)
    _sql(url, "DELETE FROM outbox WHERE message_seq = :s", s=seq)
    _sql(url, "DELETE FROM timeline_events WHERE seq = :s", s=seq)
    assert _hits(admin, "otra cosa")["hits"] == []
    assert _sql(url, "SELECT count(*) FROM search_fts WHERE search_fts MATCH 'otra'") == [(0,)]
    _sql(url, "INSERT INTO search_fts(search_fts) VALUES ('integrity-check')")  # raises when out of step
    admin.close()


def test_events_stored_before_the_index_are_found_then_indexed(hub_server) -> None:
    """After the upgrade the events already stored are not in search_fts: search reads them the
    old way (still whole words), and a starting hub indexes them in the background."""
    from alembic import command

    from hub.db.migrate import alembic_config, upgrade
    from tests.support.server import HubServer

    sent = _send(hub_server.base_url, ["Tengo dolor de muelas desde el lunes", "Gracias, hasta mañana"], "+16505550184")
    url = hub_server.settings.database.url
    hub_server.stop()
    command.downgrade(alembic_config(url), "0015")  # as if these events predated the index
    assert _sql(url, "SELECT count(*) FROM sqlite_master WHERE name = 'search_fts'") == [(0,)]
    upgrade(url)
    stored = _sql(url, "SELECT max(seq) FROM timeline_events")[0][0]
    assert _sql(url, "SELECT value FROM counters WHERE name = 'search_fts_below'") == [(stored,)]
    assert _sql(url, "SELECT count(*) FROM search_fts") == [(0,)]

    again = HubServer(hub_server.settings).start()
    try:
        import time

        deadline = time.monotonic() + 20
        while _sql(url, "SELECT value FROM counters WHERE name = 'search_fts_below'") != [(0,)]:
            assert time.monotonic() < deadline, "the background fill did not finish"
            time.sleep(0.1)
        searchable = _sql(
            url,
            "SELECT count(*) FROM timeline_events WHERE kind IN ('message_in', 'message_out', 'note', 'transcript')"
            " AND coalesce(search_text, text) IS NOT NULL",
        )[0][0]
        assert _sql(url, "SELECT count(*) FROM search_fts") == [(searchable,)] and searchable > len(sent)
        admin = Staff(again.base_url, "admin")
        assert [h["event"]["seq"] for h in _hits(admin, "muelas LUN")["hits"]] == [sent[0]["seq"]]
        indexed = _hits(admin, "manana")["hits"]

        # While the fill has not reached them, the same events are found the old way, by words.
        _sql(url, "UPDATE counters SET value = :v WHERE name = 'search_fts_below'", v=stored)
        _sql(url, "INSERT INTO search_fts(search_fts) VALUES ('delete-all')")
        assert [h["event"]["seq"] for h in _hits(admin, "muelas LUN")["hits"]] == [sent[0]["seq"]]
        assert _hits(admin, "manana")["hits"] == indexed
        assert _hits(admin, "uelas")["hits"] == []  # part of a word is no word, as with the index
        admin.close()
    finally:
        again.stop()


def test_postgres_builds_its_index_after_a_start_and_search_reads_it(tmp_path) -> None:
    from alembic import command

    from hub.db.migrate import alembic_config
    from tests.support.server import HubServer, hub_settings
    from tests.support.services import PostgresDatabase

    pg = PostgresDatabase()
    try:
        settings = hub_settings(tmp_path, db_url=pg.url)
        srv = HubServer(settings).start()
        valid = "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :n"
        try:
            import time

            deadline = time.monotonic() + 20
            while _sql(pg.url, valid, n="ix_timeline_events_search") != [(True,)]:
                assert time.monotonic() < deadline, "no valid search index"
                time.sleep(0.1)
            sent = _send(srv.base_url, ["Necesito un justificante médico"], "+16505550185")
            admin = Staff(srv.base_url, "admin")
            assert [h["event"]["seq"] for h in _hits(admin, "justificante MEDI")["hits"]] == [sent[0]["seq"]]
            admin.close()
        finally:
            srv.stop()

        # The plan search runs reads the index, once the table is big enough for it to matter.
        from sqlalchemy.dialects import postgresql

        from hub.agents.roles import Principal, Role
        from hub.search.controllers import PG_BITMAPS_ONLY, matching
        from hub.search.words import parse

        _sql(
            pg.url,
            "INSERT INTO timeline_events (seq, conversation_id, patient_id, kind, author_type, text, search_text,"
            " attachments, data, created_at) SELECT 1000000 + g, :c, :p, 'message_in', 'patient', 'relleno ' || g,"
            " 'relleno ' || g, '[]', '{}', now() FROM generate_series(1, 20000) AS g",
            "ANALYZE timeline_events",
            c=sent[0]["conversation_id"],
            p=sent[0]["patient_id"],
        )
        agent = Principal(1, "ana", "Ana", Role.AGENT, (1,), ("es",))
        for after in (1_000_000, None):  # the first window of seqs, and the rest
            statement = matching(agent, parse("justificante medi"), "postgresql", None, 51, after=after)
            sql = str(statement.compile(dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True}))
            plan = _sql(pg.url, *PG_BITMAPS_ONLY, "EXPLAIN " + sql)
            assert any("ix_timeline_events_search" in line[0] for line in plan), "\n".join(r[0] for r in plan)
        command.downgrade(alembic_config(pg.url), "0015")
        assert _sql(pg.url, valid, n="ix_timeline_events_search") == []
    finally:
        pg.drop()

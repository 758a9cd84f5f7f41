"""The bot and routing at their edges: several hub processes routing at once on one PostgreSQL
database (the routing lock), identity checks that expire, a failed catch-up turn retried, and a
voice note from the checked phone keeping the check."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import time
from dataclasses import replace

import httpx

from tests.bot.test_bot import MARIA, Patient, _events, _maria_proves_who_she_is, _wait
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer, hub_settings
from tests.support.services import PG_HOST, PG_PORT, PostgresDatabase
from tests.support.stream import in_threads


def _sql(pg: PostgresDatabase, query: str) -> list[list[str]]:
    """Rows of a query on the hubs' database, as text (psql, as the fixtures use it)."""
    out = subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres", "-d", pg.name, "-v", "ON_ERROR_STOP=1"]
        + ["-AtF", "\t", "-c", query],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def _brief_keep_alive(staff: Staff) -> Staff:
    """Its connections are not reused after 1 s idle: uvicorn closes idle ones at 5 s, and a
    request sent on one just as it closes fails in the client (not in the hub)."""
    old = staff.http
    staff.http = httpx.Client(
        base_url=old.base_url, cookies=old.cookies, timeout=20, limits=httpx.Limits(keepalive_expiry=1)
    )
    old.close()
    return staff


# --- routing: two hub processes, one PostgreSQL database ----------------------------------------------

HAND_OFFS = 40  # conversations transferred to the intake team through hub a
DRAINS = 30  # times hub b drains the queue (Ana says she is available), and times Ana finishes one


def test_two_hubs_routing_at_once_never_fill_an_agent_past_capacity_nor_assign_twice(tmp_path):
    """Hub a and hub b route hand-offs into the intake team at the same time (transfers, and the
    queue drained when Ana says she is available) while Ana keeps finishing conversations: every
    freed place is raced for by both processes. Replaying the timeline in commit order, Ana never
    holds more than her capacity, and no conversation is assigned twice."""
    pg = PostgresDatabase()
    hubs = [
        HubServer(hub_settings(tmp_path / "a", db_url=pg.url)).start(),  # the bot is off: routing only
        HubServer(hub_settings(tmp_path / "b", db_url=pg.url)).start(),
    ]
    try:
        sofia = [_brief_keep_alive(Staff(h.base_url, "sofia")) for h in hubs]
        ana = [_brief_keep_alive(Staff(h.base_url, "ana")) for h in hubs]
        ana_id = ana[0].me["id"]
        convs: list[int] = []
        with httpx.Client(base_url=hubs[0].base_url, timeout=20) as http:
            for i in range(HAND_OFFS):
                r = post_inbound(http, inbound(f"hello {i}", f"route-{i}", address=f"+1415555{2000 + i:04d}"))
                assert r.status_code == 201, r.text
                convs.append(r.json()["conversation_id"])
        intake = next(t["id"] for t in sofia[0].get("/api/teams").json() if t["key"] == "intake")
        # Ana has room for two of these at a time, beside what the demo gave her.
        open_ = f"SELECT count(*) FROM conversations WHERE assignee_id = {ana_id} AND status <> 'resolved'"
        (held,) = _sql(pg, open_)[0]
        capacity = int(held) + 2
        _sql(pg, f"UPDATE agents SET capacity = {capacity} WHERE id = {ana_id}")
        (start,) = _sql(pg, "SELECT value FROM counters WHERE name = 'seq'")[0]

        def transfer(conv_id: int, k: int) -> None:
            r = sofia[k].post(f"/api/conversations/{conv_id}/transfer", json={"team_id": intake})
            assert r.status_code == 201, r.text

        def available(k: int) -> None:  # and the hub drains the queue into her free places
            r = ana[k].request("PUT", "/api/presence", json={"available": True})
            assert r.status_code == 200, r.text

        def finish_one(k: int) -> None:
            mine = ana[k].get("/api/conversations", params={"mine": True}).json()["conversations"]
            for c in mine:
                if c["id"] in convs and c["assignee_id"] == ana_id:
                    r = ana[k].post(f"/api/conversations/{c['id']}/status", json={"status": "resolved"})
                    assert r.status_code in (201, 400, 404), r.text  # 400: resolved a moment ago
                    return

        jobs = [(transfer, (c, 0)) for c in convs]  # hub a routes hand-offs as hub b drains the queue
        jobs += [(available, (1,)) for _ in range(DRAINS)] + [(finish_one, (i % 2,)) for i in range(DRAINS)]
        random.Random(7).shuffle(jobs)
        available(0)
        in_threads(lambda job: job[0](*job[1]), jobs, threads=12)

        rows = _sql(
            pg,
            "SELECT seq, conversation_id, kind, data FROM timeline_events"
            f" WHERE seq > {start} AND kind IN ('assignment', 'transfer', 'status_change') ORDER BY seq",
        )
        assignments = [int(r[1]) for r in rows if r[2] == "assignment"]
        assert len(assignments) >= 4  # the race was run: places were freed and filled again
        assert len(assignments) == len(set(assignments)), "a conversation was assigned twice"
        holder: dict[int, int | None] = {}
        most = 0
        for _seq, conv_id, kind, data in rows:  # seq order is commit order (the counter row is locked)
            fields = json.loads(data)
            if kind in ("assignment", "transfer"):
                holder[int(conv_id)] = fields["assignee_id"]
            elif fields["to"] == "resolved":
                holder[int(conv_id)] = None
            most = max(most, sum(1 for a in holder.values() if a == ana_id))
        assert most <= 2, f"Ana held {most} of these conversations at once; her capacity leaves room for 2"
        for c in sofia + ana:
            c.close()
    finally:
        for h in hubs:
            h.stop()
        pg.drop()


# --- identity checks expire ------------------------------------------------------------------------


def test_an_hour_old_check_is_shown_as_none_and_the_bot_asks_again(bot_hub, twilio):
    """María proves who she is by SMS. An hour and a minute later (her check's time moved back in
    the database) the inbox no longer shows her as verified, and when the bot has her
    conversation again, asking about her appointment starts a fresh check: the old one is dropped
    on the timeline as expired."""
    sofia = Staff(bot_hub.base_url, "sofia")
    maria = Patient(bot_hub, twilio, MARIA)
    conv = _maria_proves_who_she_is(maria, sofia)
    url = f"/api/conversations/{conv['id']}"

    with sqlite3.connect(bot_hub.settings.database.url.split("///", 1)[1]) as db:
        db.execute(
            "UPDATE conversations SET verified_at = datetime(verified_at, '-61 minutes') WHERE id = ?", (conv["id"],)
        )
        (stored,) = db.execute("SELECT verified_at FROM conversations WHERE id = ?", (conv["id"],)).fetchone()
    assert stored is not None  # nothing has dropped it yet: only its age says it no longer holds
    assert sofia.get(url).json()["verified_at"] is None
    listed = next(c for c in sofia.get("/api/conversations").json()["conversations"] if c["id"] == conv["id"])
    assert listed["verified_at"] is None

    back = sofia.post(f"{url}/hand-back")
    assert back.status_code == 201
    maria.says("Necesito cambiar mi cita otra vez")
    answers = _wait(
        lambda: [
            e["data"]["template"]
            for e in _events(sofia, conv["patient_id"])
            if e["seq"] > back.json()["seq"] and e["kind"] == "message_out" and e["author_type"] == "bot"
        ]
    )
    assert answers == ["bot_verify_dob"]  # nothing about her appointment before she is checked again
    _wait(lambda: "fecha de nacimiento" in maria.texts()[-1])
    dropped = [e for e in _events(sofia, conv["patient_id"]) if e["kind"] == "identity_verified"][-1]
    assert dropped["data"] == {"dropped": "expired"}
    after = sofia.get(url).json()
    assert after["verified_at"] is None and after["handler"] == "bot"
    sofia.close()


# --- a failed bot turn is taken again ----------------------------------------------------------------


def test_a_catch_up_turn_that_fails_is_retried_and_alerts_once(tmp_path):
    """The hub stopped between committing a red-flag message in a conversation Ana holds and
    checking it. At the next start another session holds that conversation's row, and the
    database gives up waiting for it (lock_timeout): the catch-up turn fails. Once the row is free
    the turn is taken again, and the alert is raised, once."""
    from hub.bot.worker import SWEEP_S

    pg = PostgresDatabase()
    settings = hub_settings(tmp_path, db_url=pg.url)
    first = HubServer(settings).start()
    try:
        with httpx.Client(base_url=first.base_url, timeout=10) as http:
            conv = post_inbound(http, inbound("hello", "retry-0", address="+14155550195")).json()
        ana = Staff(first.base_url, "ana")
        r = ana.post(f"/api/conversations/{conv['conversation_id']}/assign", json={"agent_id": ana.me["id"]})
        assert r.status_code == 201
        ana.close()
    finally:
        first.stop()
    cid = conv["conversation_id"]
    _sql(  # committed, never checked
        pg,
        "WITH s AS (UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value)"
        " INSERT INTO timeline_events (seq, conversation_id, patient_id, kind, channel, author_type, text,"
        " attachments, provider_message_id, data, created_at)"
        f" SELECT value, {cid}, {conv['patient_id']}, 'message_in', 'api', 'patient',"
        " 'my chest hurts and I can''t breathe', '[]', 'retry-1', '{}', now() FROM s;"
        " UPDATE conversations SET last_event_seq = (SELECT value FROM counters WHERE name = 'seq'),"
        f" last_inbound_at = now() WHERE id = {cid};"
        f" ALTER DATABASE \"{pg.name}\" SET lock_timeout = '300ms'",  # the hub's sessions from now on
    )
    holder = subprocess.Popen(  # another session holds the conversation's row until told
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres", "-d", pg.name, "-v", "ON_ERROR_STOP=1", "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    holder.stdin.write(f"BEGIN; SELECT id FROM conversations WHERE id = {cid} FOR UPDATE;\n")
    holder.stdin.flush()
    _wait(lambda: _sql(pg, "SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction'"))
    again = HubServer(hub_settings(tmp_path, db_url=pg.url)).start()
    try:
        sofia = Staff(again.base_url, "sofia")
        url = f"/api/conversations/{cid}"
        time.sleep(1.5)  # the start's catch-up has tried, and given up on the row
        assert sofia.get(url).json()["priority"] < 10
        holder.communicate("COMMIT;\n", timeout=10)
        after = _wait(lambda: (c := sofia.get(url).json())["priority"] >= 10 and c, timeout=3 * SWEEP_S)
        assert after["assignee_id"] == ana.me["id"]
        time.sleep(SWEEP_S + 0.5)  # a sweep later: nothing taken twice
        handoffs = [e for e in _events(sofia, conv["patient_id"]) if e["kind"] == "handoff"]
        assert [(h["data"]["reason"], h["data"]["urgent"]) for h in handoffs] == [("red_flag", True)]
        sofia.close()
    finally:
        again.stop()
        pg.drop()


# --- a voice note's words come from where the voice note came from -------------------------------------


def test_a_voice_note_from_the_checked_phone_keeps_the_check(tmp_path, twilio):
    """María proves who she is by SMS, then sends a voice note from the same phone. Its transcript
    is an event of the hub's (no contact point of its own): the bot takes it as coming from the
    message it transcribes (data.message_seq), her checked phone, so her check holds. Taken at face
    value, a transcript would look like another sender and drop every check a voice note follows."""
    from hub.settings import MediaSettings, VoiceSettings
    from tests.channels.sms.test_sms_webhooks import _fields, _post
    from tests.support.media_server import MediaServer
    from tests.support.speech import encoded, need_espeak

    need_espeak()
    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as media:
        note = media.add("ME_maria_voice", encoded("ogg"), "audio/ogg")
        settings = hub_settings(tmp_path, bot=True)
        settings = replace(
            settings,
            sms=replace(settings.sms, api_base_url=twilio.url),
            media=MediaSettings(
                timeout_s=5, max_attempts=2, retry_base_s=0.2, allow_http=True, auth_origins=(media.url,)
            ),
            voice=VoiceSettings(retry_base_s=0.2),
        )
        srv = HubServer(settings).start()
        try:
            sofia = Staff(srv.base_url, "sofia")
            maria = Patient(srv, twilio, MARIA)
            conv = _maria_proves_who_she_is(maria, sofia)
            fields = _fields("SMmariavoice01", "", sender=MARIA, NumMedia="1")
            fields.update(MediaUrl0=note, MediaContentType0="audio/ogg")
            assert _post(maria.http, "/api/channels/sms/inbound", fields).status_code == 200
            transcript = _wait(
                lambda: next((e for e in _events(sofia, conv["patient_id"]) if e["kind"] == "transcript"), None),
                timeout=30,
            )
            assert transcript["data"]["state"] == "done" and transcript["conversation_id"] == conv["id"]
            with sqlite3.connect(settings.database.url.split("///", 1)[1]) as db:  # the bot has read it
                _wait(
                    lambda: (
                        db.execute("SELECT bot_seq FROM conversations WHERE id = ?", (conv["id"],)).fetchone()[0]
                        >= transcript["seq"]
                    )
                )
            checks = [e["data"] for e in _events(sofia, conv["patient_id"]) if e["kind"] == "identity_verified"]
            assert [c.get("dropped") for c in checks] == [None]
            assert sofia.get(f"/api/conversations/{conv['id']}").json()["verified_at"] == conv["verified_at"]
            sofia.close()
        finally:
            srv.stop()

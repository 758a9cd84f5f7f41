"""KPIs against a day computed by hand (docs/kpis.md), on SQLite and PostgreSQL.

Wednesday 18 November 2026, America/Los_Angeles, every team open Mon-Fri 8:00-17:00 when the
figures are computed. Nine conversations, made through the hub's routes with the assistant on:

  A 10:00 asks the hours, the assistant answers; 10:02 resolved             bot-resolved, 120 s with it
  B 09:00 hi; 09:05 asks for a person; 09:20 Ana takes it; 09:30 replies; 10:00 resolved
  C 16:30 asks for a person; Thu 08:30 Ana takes it and replies; 08:40 transfers it to billing
  D 11:00 asks; 11:10 Ana takes, replies; 11:15 resolved; 11:30 reopened; 11:40 replies; 11:45 resolved
  E web chat 12:00 asks for a person; 12:05 "hello?"; nobody answers            abandoned (left)
  F 13:00 asks; Thu 14:00 Ana takes it and replies (25 h later)                  abandoned (> 24 h)
  G 14:00 asks; 14:05 Ana takes it; 14:10 replies; 14:15 snoozed; 15:15 back; 15:30 resolved
  H 15:00 chest pain (a red flag); 15:03 Sofia gives it to Ana; 15:04 Ana replies
  I 16:45 STOP                                                                   an opt-out
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

from hub.db.models import Conversation, ReportConversation
from hub.reports.rollup import compute_facts
from hub.routing.hours import DEFAULT_HOURS
from tests.reports.day import Day, _wait, la
from tests.support.clients import Staff
from tests.support.server import HubServer, hub_settings
from tests.support.webchat import VisitorClient

PERSON = "I want to talk to a person"


@pytest.fixture(params=["sqlite", "postgres"])
def day_settings(request, tmp_path, twilio):
    from tests.support.services import PostgresDatabase

    pg = PostgresDatabase() if request.param == "postgres" else None
    settings = hub_settings(tmp_path, db_url=pg.url if pg else None, bot=True)
    yield replace(settings, sms=replace(settings.sms, api_base_url=twilio.url))
    if pg:
        pg.drop()


def _traffic(d: Day, ana_id: int, billing: int) -> dict[str, int]:
    c: dict[str, int] = {}
    ana = lambda at, method, path, body=None, status=201: d.act(at, "ana", method, path, body, status)  # noqa: E731
    take = lambda cid: {"agent_id": ana_id}  # noqa: E731
    reply = {"text": "Hello, this is Ana from the clinic."}
    c["A"] = d.sms(la(18, 10), "+14155550201", "what are your hours?")
    d.act(la(18, 10, 2), "sofia", "POST", f"/api/conversations/{c['A']}/status", {"status": "resolved"})
    c["B"] = d.sms(la(18, 9), "+14155550202", "hi")
    d.sms(la(18, 9, 5), "+14155550202", PERSON)
    ana(la(18, 9, 20), "POST", f"/api/conversations/{c['B']}/assign", take(c["B"]))
    ana(la(18, 9, 30), "POST", f"/api/conversations/{c['B']}/messages", reply)
    ana(la(18, 10), "POST", f"/api/conversations/{c['B']}/status", {"status": "resolved"})
    c["C"] = d.sms(la(18, 16, 30), "+14155550203", PERSON)
    d.step(la(19, 8, 30), lambda: [
        d.staff["ana"].post(f"/api/conversations/{c['C']}/assign", json=take(c["C"])).raise_for_status(),
        d.staff["ana"].post(f"/api/conversations/{c['C']}/messages", json=reply).raise_for_status(),
    ])  # fmt: skip
    ana(la(19, 8, 40), "POST", f"/api/conversations/{c['C']}/transfer", {"team_id": billing})
    c["D"] = d.sms(la(18, 11), "+14155550204", PERSON)
    d.step(la(18, 11, 10), lambda: [
        d.staff["ana"].post(f"/api/conversations/{c['D']}/assign", json=take(c["D"])).raise_for_status(),
        d.staff["ana"].post(f"/api/conversations/{c['D']}/messages", json=reply).raise_for_status(),
    ])  # fmt: skip
    ana(la(18, 11, 15), "POST", f"/api/conversations/{c['D']}/status", {"status": "resolved"})
    ana(la(18, 11, 30), "POST", f"/api/conversations/{c['D']}/status", {"status": "open"})
    ana(la(18, 11, 40), "POST", f"/api/conversations/{c['D']}/messages", reply)
    ana(la(18, 11, 45), "POST", f"/api/conversations/{c['D']}/status", {"status": "resolved"})
    tom = VisitorClient(d.srv.base_url, d.srv.ws_url)
    tom.start("Tom Webb", language="en")
    c["E"] = d.webchat(la(18, 12), tom, "Tom Webb", PERSON)
    d.webchat(la(18, 12, 5), tom, "Tom Webb", "hello?")
    c["F"] = d.sms(la(18, 13), "+14155550206", PERSON)
    d.step(la(19, 14), lambda: [
        d.staff["ana"].post(f"/api/conversations/{c['F']}/assign", json=take(c["F"])).raise_for_status(),
        d.staff["ana"].post(f"/api/conversations/{c['F']}/messages", json=reply).raise_for_status(),
    ])  # fmt: skip
    c["G"] = d.sms(la(18, 14), "+14155550207", PERSON)
    ana(la(18, 14, 5), "POST", f"/api/conversations/{c['G']}/assign", take(c["G"]))
    ana(la(18, 14, 10), "POST", f"/api/conversations/{c['G']}/messages", reply)
    ana(la(18, 14, 15), "POST", f"/api/conversations/{c['G']}/snooze", {"preset": "hour"})
    ana(la(18, 15, 15), "DELETE", f"/api/conversations/{c['G']}/snooze", status=200)
    ana(la(18, 15, 30), "POST", f"/api/conversations/{c['G']}/status", {"status": "resolved"})
    c["H"] = d.sms(la(18, 15), "+14155550208", "I have really bad chest pain and my left arm is numb")
    d.act(la(18, 15, 3), "sofia", "POST", f"/api/conversations/{c['H']}/assign", take(c["H"]))
    ana(la(18, 15, 4), "POST", f"/api/conversations/{c['H']}/messages", reply)
    c["I"] = d.sms(la(18, 16, 45), "+14155550209", "STOP")
    tom.close()
    return c


async def _facts(url: str, settings) -> tuple[dict[int, dict], dict[int, dict]]:
    """(the facts the hub keeps, the same computed from scratch now), by conversation."""
    engine = create_async_engine(url)
    async with engine.connect() as c:
        kept = {
            r["conversation_id"]: dict(r) for r in (await c.execute(select(ReportConversation.__table__))).mappings()
        }
        ids = list((await c.execute(select(Conversation.id))).scalars())
        scratch = await c.run_sync(lambda conn: compute_facts(Session(conn), settings, ids))
    await engine.dispose()
    return kept, {r["conversation_id"]: r for r in scratch}


async def _stale(url: str) -> int:
    engine = create_async_engine(url)
    r = ReportConversation
    async with engine.connect() as c:
        n = (
            await c.execute(
                select(func.count())
                .select_from(Conversation)
                .outerjoin(r, r.conversation_id == Conversation.id)
                .where(or_(r.last_seq.is_(None), r.last_seq < Conversation.last_event_seq))
            )
        ).scalar_one()
    await engine.dispose()
    return n


def _caught_up(srv: HubServer) -> None:
    _wait(lambda: asyncio.run(_stale(srv.settings.database.url)) == 0, timeout=20)


def _same_as_from_scratch(settings) -> None:
    """The kept rows equal the rows computed from scratch now, once the hub has settled (a
    conversation is refreshed again a few seconds after its commit: hub/reports/rollup.py)."""

    def same() -> bool:
        kept, scratch = asyncio.run(_facts(settings.database.url, settings))
        return set(kept) == set(scratch) and all(_comparable(kept[i]) == _comparable(scratch[i]) for i in kept)

    try:
        _wait(same, timeout=15)
    except AssertionError:
        kept, scratch = asyncio.run(_facts(settings.database.url, settings))
        assert set(kept) == set(scratch)
        for cid in kept:
            assert _comparable(kept[cid]) == _comparable(scratch[cid]), cid


def _comparable(row: dict) -> dict:
    """A row as stored and as computed compare alike (dates and times read back, booleans as 0/1)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = v.astimezone(UTC).replace(microsecond=v.microsecond)
        out[k] = int(v) if isinstance(v, bool) else v
    return out


async def _drop_facts_async(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as c:
        await c.execute(delete(ReportConversation))
    await engine.dispose()


def test_every_kpi_of_a_day_computed_by_hand(day_settings):
    srv = HubServer(day_settings).start()
    try:
        d = Day(srv)
        admin = d.staff["admin"]
        teams = {t["key"]: t["id"] for t in admin.get("/api/teams").json()}
        c = _traffic(d, d.staff["ana"].me["id"], teams["billing"])
        # Kept live, after each commit: the rows equal a from-scratch computation.
        _caught_up(srv)
        _same_as_from_scratch(day_settings)
        assert set(c.values()) <= set(asyncio.run(_facts(day_settings.database.url, day_settings))[0])
        # The day dated; office hours for every team; the facts rebuilt by a start (the backfill).
        d.stamp(day_settings.database.url)
        for team_id in teams.values():
            assert admin.request("PUT", f"/api/teams/{team_id}/hours", json=DEFAULT_HOURS).status_code == 200
        d.close()
    finally:
        srv.stop()
    asyncio.run(_drop_facts_async(day_settings.database.url))
    srv = HubServer(day_settings, open_all_hours=False).start()
    try:
        _caught_up(srv)
        _check_the_day(srv, c)
    finally:
        srv.stop()


DAY = {"since": "2026-11-18", "until": "2026-11-18"}
# By hand (seconds). First response from the hand-off to a person's first reply:
# B 09:05-09:30 1500 (open 1500) | C Wed 16:30-Thu 08:30 57600 (open 16:30-17:00 + 08:00-08:30: 3600)
# D 11:00-11:10 600 (the reply after the reopening does not count) | F Wed 13:00-Thu 14:00 90000
# (open 13:00-17:00 + 08:00-14:00: 36000) | G 600 | H 15:00-15:04 240. The assistant's messages never count.
FIRST = sorted([1500, 57600, 600, 90000, 600, 240])  # 240 600 600 1500 57600 90000
FIRST_OPEN = sorted([1500, 3600, 600, 36000, 600, 240])
COUNTED = {  # KPI -> the conversations it counts
    "conversations": "ABCDEFGHI",
    "assistant": "ABCDEFGHI",
    "bot_resolved": "A",
    "handed_off": "BCDEFGH",
    "with_people": "BCDEFGH",
    "first_responses": "BCDFGH",
    "resolved": "ABDG",
    "reopened": "D",
    "abandoned": "EF",  # E left the web chat after 12:35 unanswered; F was answered after 24 h
    "transferred": "C",
    "opted_out": "I",
    "red_flags": "H",
}


def _check_the_day(srv: HubServer, c: dict[str, int]) -> None:
    sofia, admin = Staff(srv.base_url, "sofia"), Staff(srv.base_url, "admin")
    r = sofia.get("/api/reports/kpis", params=DAY)
    assert r.status_code == 200, r.text
    k = r.json()
    t = k["totals"]
    assert {n: t[n] for n in COUNTED} == {n: len(which) for n, which in COUNTED.items()}
    assert (t["messages_in"], t["messages_out"]) == (11, 7)  # people's replies only
    assert t["bot_messages"] >= 8  # the assistant answered each first message: not in messages_out
    assert t["opt_outs"] == 1
    assert t["bot_resolved_rate"] == round(1 / 9, 4) and t["abandonment_rate"] == round(2 / 7, 4)
    assert t["transfer_rate"] == round(1 / 7, 4)
    assert t["first_response_s_median"] == 600 and t["first_response_business_s_median"] == 600
    assert t["first_response_avg_s"] == round(sum(FIRST) / 6, 1)
    assert t["first_response_business_avg_s"] == round(sum(FIRST_OPEN) / 6, 1)
    pct = {p["p"]: (p["calendar_s"], p["business_s"]) for p in k["first_response_percentiles"]}
    assert pct == {50: (600, 600), 75: (57600, 3600), 90: (90000, 36000), 95: (90000, 36000)}
    # Wait (hand-off to taken): B 900, C 57600, D 600, F 90000, G 300, H 180 -> median 600.
    assert t["wait_s_median"] == 600
    # Handle (taken to resolved, less snoozed time): B 2400, D 2100 (to the last resolution), G 5100 - 3600.
    assert t["handle_s_median"] == 2100
    # Resolution (opened to resolved): A 120, B 3600, D 2700, G 5400.
    assert t["resolution_s_median"] == 2700
    assert t["red_flag_s_median"] == 180  # 15:00 to Sofia giving it to Ana at 15:03
    # With the assistant: A 120 (to its resolution), B 300 (to the hand-off), the others asked at once.
    assert t["bot_s_median"] == 0
    reasons = {x["reason"]: x["conversations"] for x in k["handoff_reasons"]}
    assert sum(reasons.values()) == 7 and reasons["red_flag"] == 1
    # The card and the table agree: the day's row is the totals.
    (row,) = k["rows"]
    assert row["period"] == "2026-11-18" and all(row[n] == t[n] for n in COUNTED)
    assert {x["key"]: x["conversations"] for x in k["by_channel"]} == {"sms": 8, "webchat": 1}
    heat = {(h["weekday"], h["hour"]): h["conversations"] for h in k["heatmap"]}
    assert heat == {(2, 9): 1, (2, 10): 1, (2, 11): 1, (2, 12): 1, (2, 13): 1, (2, 14): 1, (2, 15): 1, (2, 16): 2}
    # Each figure's conversations: exactly those it counts, and the read is audited.
    for name, which in COUNTED.items():
        r = sofia.get("/api/reports/conversations", params={**DAY, "kpi": name})
        assert r.status_code == 200, r.text
        assert sorted(x["conversation_id"] for x in r.json()["conversations"]) == sorted(c[w] for w in which), name
    audit = admin.get("/api/audit", params={"action": "report.conversations"}).json()
    assert len(audit) == len(COUNTED) and audit[0]["agent_id"] == sofia.me["id"]
    assert audit[-1]["detail"]["conversation_ids"] == sorted((c[w] for w in COUNTED["conversations"]), reverse=True)
    # Filters: Ana's conversations (the one she holds or held last).
    ana_id = Staff(srv.base_url, "ana").me["id"]
    mine = sofia.get("/api/reports/kpis", params={**DAY, "agent_id": ana_id}).json()["totals"]
    assert mine["first_responses"] == 6 and mine["conversations"] == 6
    # CSV: the table with its total row, audited as an export.
    r = sofia.get("/api/reports/export.csv", params={**DAY, "table": "rows"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    head = lines[0].split(",")
    assert lines[1].split(",")[head.index("abandoned")] == "2" and lines[-1].startswith("total,")
    assert admin.get("/api/audit", params={"action": "report.export"}).json()[0]["detail"]["table"] == "rows"
    sofia.close()
    admin.close()

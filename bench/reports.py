"""Reports over the real server: p50/p99 of GET /api/reports/kpis on a year of traffic.

    .venv/bin/python bench/reports.py                       # 100k conversations, 1M events (~4 minutes)
    .venv/bin/python bench/reports.py --conversations 10000 # a smaller year

A fresh data dir: the hub starts once (migrations, the demo clinic) and stops; 5,000 patients and
100,000 conversations over the past year (opened mostly in office hours, on every channel, English
and Spanish, five intents, four teams), ten events each (1M), are bulk-inserted into its SQLite file:
the patient's messages, the assistant's answers, hand-offs with reasons (some urgent), assignments,
staff replies, transfers, snoozes, resolutions and reopenings. The hub starts again and fills the
report facts of every conversation in the background (the backfill after migration 0019: timed).
Then a signed-in supervisor asks, one request at a time over keep-alive HTTP, for: the last 30 days
by day, the whole year by month, the year by week for one channel, a quarter by day for one team,
the year for one agent; 50 warm-up requests, then --requests timed. Every answer must be a 200.
Target: p99 <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulkseed import _ts, add_patients, checkpoint, connect  # noqa: E402
from bench.hubproc import Hub, machine_busy_seconds  # noqa: E402
from bench.search import pct, sign_in  # noqa: E402

KEY = "bench-reports-key"
LA = ZoneInfo("America/Los_Angeles")
CHANNELS = ["sms", "sms", "webchat", "email", "api"]
INTENTS = ["appointment", "billing", "refill", "results", None]
REASONS = ["asked_for_person", "not_understood", "intent", "red_flag"]


def _conversation(
    rng: random.Random, opened: datetime, teams: list[int], agents: list[int]
) -> tuple[dict, list[tuple]]:
    """One conversation's row and its ten events (kind, author_type, author_id, data, at)."""
    ev: list[tuple] = []
    t = opened

    def add(kind: str, author: str, who: int | None = None, data: dict | None = None, after_s: float = 0) -> None:
        nonlocal t
        t += timedelta(seconds=after_s)
        ev.append((kind, author, who, data or {}, t))

    team, agent = rng.choice(teams), rng.choice(agents)
    add("message_in", "patient")
    add("message_out", "bot", after_s=2)
    status, assignee = "open", None
    if rng.random() < 0.25:  # the assistant resolves it
        for _ in range(3):
            add("message_in", "patient", after_s=rng.uniform(20, 120))
            add("message_out", "bot", after_s=2)
        add("message_out", "bot", after_s=2)
        add("status_change", "bot", data={"to": "resolved", "from": "open"}, after_s=60)
        status = "resolved"
    else:
        reason = rng.choices(REASONS, weights=[50, 20, 27, 3])[0]
        add(
            "handoff",
            "bot",
            data={"reason": reason, "team_id": team, "urgent": reason == "red_flag"},
            after_s=rng.uniform(10, 600),
        )
        add("assignment", "system", data={"assignee_id": agent, "automatic": True}, after_s=rng.expovariate(1 / 900))
        add("message_out", "agent", agent, after_s=rng.expovariate(1 / 300))
        add("message_in", "patient", after_s=rng.uniform(30, 900))
        if rng.random() < 0.1:
            add("transfer", "agent", agent, data={"team_id": rng.choice(teams)}, after_s=60)
        else:
            add("snoozed", "agent", agent, data={"until": "x"}, after_s=60)
            add("snooze_ended", "system", data={"reason": "time"}, after_s=3600)
        add("message_out", "agent", agent, after_s=rng.uniform(30, 600))
        if rng.random() < 0.85:
            add("status_change", "agent", agent, data={"to": "resolved", "from": "open"}, after_s=rng.uniform(60, 1800))
            status = "resolved"
        else:
            add("message_in", "patient", after_s=60)
        assignee = agent
        while len(ev) < 10:
            add("note", "agent", agent, after_s=10)
    conv = {"team_id": team if assignee else None, "assignee_id": assignee, "status": status}
    return conv, ev[:10]


def load(db: Path, n_conversations: int, seed: int) -> None:
    conn = connect(db)
    rng = random.Random(seed)
    teams = [r[0] for r in conn.execute("SELECT id FROM teams")]
    agents = [r[0] for r in conn.execute("SELECT id FROM agents WHERE role = 'agent'")]
    patients = [p.patient_id for p in add_patients(conn, 5_000)]
    now = datetime.now(UTC)
    conn.execute("BEGIN IMMEDIATE")
    c0 = conn.execute("SELECT coalesce(max(id), 0) FROM conversations").fetchone()[0]
    seq = conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0]
    convs, events = [], []
    for i in range(n_conversations):
        day = now - timedelta(days=rng.uniform(0, 365))
        local = day.astimezone(LA).replace(hour=rng.choices(range(24), weights=[1] * 7 + [8] * 10 + [2] * 7)[0])
        opened = local.astimezone(UTC)
        conv, evs = _conversation(rng, opened, teams, agents)
        cid, pid = c0 + 1 + i, rng.choice(patients)
        channel = rng.choice(CHANNELS)
        for kind, author, who, data, at in evs:
            seq += 1
            events.append((seq, cid, pid, kind, channel, author, who, "bench" if kind.startswith("message") else None,
                           "[]", None, json.dumps(data), _ts(at)))  # fmt: skip
        handler = "agent" if conv["assignee_id"] else "bot"
        language, intent = rng.choice(["en", "es"]), rng.choice(INTENTS)
        convs.append((cid, pid, conv["status"], handler, conv["assignee_id"], conv["team_id"], channel,
                      _ts(opened), seq, language, intent))  # fmt: skip
    conn.executemany(
        "INSERT INTO conversations (id, patient_id, status, handler, assignee_id, team_id, priority, channel,"
        " opened_at, last_event_seq, language, intent) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
        convs,
    )
    conn.executemany(
        "INSERT INTO timeline_events (seq, conversation_id, patient_id, kind, channel, author_type, author_id,"
        " text, attachments, provider_message_id, data, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        events,
    )
    conn.execute("UPDATE counters SET value = ? WHERE name = 'seq'", (seq,))
    conn.execute("COMMIT")
    checkpoint(conn)
    conn.close()


def filled(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return (
            conn.execute("SELECT count(*) FROM report_conversations").fetchone()[0],
            conn.execute("SELECT count(*) FROM conversations").fetchone()[0],
        )
    finally:
        conn.close()


def queries(today: datetime) -> list[tuple[str, dict]]:
    d = today.astimezone(LA).date()
    year = {"since": (d - timedelta(days=364)).isoformat(), "until": d.isoformat()}
    return [
        ("30 days by day", {}),
        ("year by month", {**year, "period": "month"}),
        ("year by week, SMS", {**year, "period": "week", "channel": "sms"}),
        ("quarter by day, one team", {"since": (d - timedelta(days=90)).isoformat(), "team_id": 1}),
        ("year by month, one agent", {**year, "period": "month", "agent_id": 3}),
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200, help="timed requests of each query")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="puente-reports-bench-"))
    hub = Hub(work / "data", KEY, work / "hub.log")
    try:
        hub.start()
        hub.stop()
        t0 = time.perf_counter()
        load(hub.db_path, args.conversations, seed=19)
        print(f"{args.conversations:,} conversations, {args.conversations * 10:,} events loaded in "
              f"{time.perf_counter() - t0:.1f} s, {hub.db_path.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
        t0 = time.perf_counter()
        hub.start()
        while (n := filled(hub.db_path))[0] < n[1]:
            time.sleep(0.5)
        print(f"backfill of the report facts after a start: {n[0]:,} conversations in {time.perf_counter() - t0:.1f} s")
        client = sign_in(hub.base, "sofia")
        times: dict[str, list[float]] = {}
        s0, p0, m0, began = hub.cpu_seconds(), time.process_time(), machine_busy_seconds(), time.monotonic()
        for i in range(args.requests + 10):
            for name, params in queries(datetime.now(UTC)):
                t1 = time.perf_counter()
                r = client.get("/api/reports/kpis", params=params)
                dt = (time.perf_counter() - t1) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"{name}: {r.status_code} {r.text[:200]}")
                if i >= 10:
                    times.setdefault(name, []).append(dt)
        wall = time.monotonic() - began
        server, mine = hub.cpu_seconds() - s0, time.process_time() - p0
        others = machine_busy_seconds() - m0 - server - mine
        print(f"  CPU (% of one core): server {100 * server / wall:.0f}%, client {100 * mine / wall:.0f}%, "
              f"other processes {100 * others / wall:.0f}%")  # fmt: skip
        every: list[float] = []
        for name, xs in times.items():
            every += xs
            print(f"  {name:28s} p50 {pct(xs, 0.5):6.1f} ms   p99 {pct(xs, 0.99):6.1f} ms")
        p99 = pct(every, 0.99)
        print(f"GET /api/reports/kpis, all queries: p50 {pct(every, 0.5):.1f} ms, p99 {p99:.1f} ms "
              f"(target <= 200 ms: {'PASS' if p99 <= 200 else 'MISS'})")  # fmt: skip
        client.close()
    finally:
        hub.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if p99 <= 200 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Search over the real server: p50/p99 of GET /api/search?q= with 10k and 1M timeline events.

    .venv/bin/python bench/search.py                  # 10k, then 1M (about 6 minutes, ~1.5 GB of disk)
    .venv/bin/python bench/search.py --sizes 10000    # one size
    .venv/bin/python bench/search.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
                                                      # also PostgreSQL's plans and timings (same rows)

A fresh data dir: the hub starts once (migrations, the demo clinic) and stops; 1,000 patients and
their events are bulk-inserted straight into its SQLite file with sqlite3 (bench/bulkseed.py's
patients; messages in and out, notes and transcripts made of English and Spanish sentences with
accents, each event folded for search as the hub writes it; the full-text table is filled by the
migration's triggers, as the hub's own writes fill it). The hub starts again and a signed-in
supervisor and an agent (whose reach is filtered) send, one at a time over keep-alive HTTP on
127.0.0.1, a mix of queries: a rare word, a common word, two words, the start of a word as typed, a
word typed with its accents. Each size: 100 warm-up requests, then 1,000 timed; every answer must be
a 200, and a rare word's answer must hold the event it was drawn from. Each search writes its audit
row through the writer before it answers, as in production.

Query plans (SQLite, and PostgreSQL with --postgres) are printed and checked to read the index.
Target: p99 <= 50 ms at 1M.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulkseed import add_patients, checkpoint, connect  # noqa: E402
from bench.hubproc import REPO, WEBCHAT_LIMITS, Hub, free_port, machine_busy_seconds  # noqa: E402
from hub.search.controllers import PG_BITMAPS_ONLY, WINDOWS  # noqa: E402
from hub.search.fold import fold  # noqa: E402
from hub.search.index import PG_INDEX  # noqa: E402

KEY = "bench-search-key"
EN = [
    "I need to move my appointment on {day}, please",
    "Can I get a refill of my {drug} prescription?",
    "Is the clinic open on {day} morning?",
    "My {who} has a fever since yesterday, what should we do?",
    "I got a bill I don't understand, can someone call me back?",
    "The pharmacy says the {drug} refill is not ready yet",
    "Thanks! See you on {day}.",
    "Could you send me the results of my blood test?",
    "Your appointment is confirmed for {day} at {hour}.",
    "Please bring your insurance card and a list of your medicines.",
]
ES = [
    "Hola, necesito cambiar mi cita del {dia}",
    "¿Me pueden dar una receta de {drug} para mi {quien}?",
    "¿Dónde queda la clínica? Llego mañana a las {hour}",
    "Mi {quien} tiene fiebre desde ayer, ¿qué hacemos?",
    "Recibí una factura que no entiendo, ¿me pueden llamar?",
    "La farmacia dice que la receta todavía no está lista",
    "¡Gracias! Nos vemos el {dia}.",
    "¿Me envían los resultados del análisis de sangre?",
    "Su cita está confirmada para el {dia} a las {hour}.",
    "Por favor traiga su tarjeta del seguro y la lista de sus medicamentos.",
]
NOTES = [
    "Called back, left a voicemail about the {drug} refill",
    "Paciente prefiere español; llamar después de las {hour}",
    "Insurance verified, copay explained",
    "Revisar con la doctora el cambio de {drug}",
]
FILL = {
    "day": "Monday Tuesday Wednesday Thursday Friday Saturday".split(),
    "dia": "lunes martes miércoles jueves viernes sábado".split(),
    "drug": "metformin lisinopril amoxicilina ibuprofeno atorvastatin omeprazol insulina losartán".split(),
    "who": "son daughter husband wife mother father".split(),
    "quien": "hijo hija esposo esposa mamá papá".split(),
    "hour": "9 am,10:30,3 pm,las 4,noon".split(","),
}
RARE = "zorbtavix"  # a made-up word: one event in 10,000 carries a numbered one (zorbtavix0042)


def sentence(rng: random.Random, kind: str) -> str:
    pool = NOTES if kind == "note" else (ES if rng.random() < 0.4 else EN)
    text = rng.choice(pool)
    for k, v in FILL.items():
        text = text.replace("{" + k + "}", rng.choice(v))
    return text


def load(db: Path, n_events: int, seed: int) -> list[str]:
    """Bulk-insert n_events over 1,000 patients; the rare words written, to search for."""
    rng = random.Random(seed)
    conn = connect(db)
    patients = (
        add_patients(conn, 1000)
        if not conn.execute("SELECT 1 FROM patients WHERE name LIKE 'Bench Patient%' LIMIT 1").fetchone()
        else [
            type("P", (), {"patient_id": p, "conversation_id": c})()
            for p, c in conn.execute(
                "SELECT p.id, c.id FROM patients p JOIN conversations c ON c.patient_id = p.id "
                "WHERE p.name LIKE 'Bench Patient%' ORDER BY p.id"
            )
        ]
    )
    agent = conn.execute("SELECT id FROM agents WHERE login = 'sofia'").fetchone()[0]
    rare: list[str] = []
    conn.execute("BEGIN IMMEDIATE")
    seq = max(
        conn.execute("SELECT coalesce(max(seq), 0) FROM timeline_events").fetchone()[0],
        conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0],
    )
    stamp = "2026-11-20 12:00:00.000000"
    sql = (
        "INSERT INTO timeline_events (seq, conversation_id, patient_id, kind, channel, author_type, author_id, text,"
        " attachments, provider_message_id, data, created_at, search_text) VALUES (?,?,?,?,?,?,?,?,'[]',?,'{}',?,?)"
    )
    batch = []
    for _ in range(n_events):
        seq += 1
        p = patients[rng.randrange(len(patients))]
        r = rng.random()
        kind = "message_in" if r < 0.55 else "message_out" if r < 0.85 else "note" if r < 0.95 else "transcript"
        text = sentence(rng, kind)
        if rng.random() < 0.0001:
            word = f"{RARE}{len(rare):04d}"
            rare.append(word)
            text = f"{text} {word}"
        author = ("patient", None) if kind in ("message_in", "transcript") else ("agent", agent)
        pmid = f"bench-{seq}" if kind == "message_in" else None
        channel = "api" if kind != "note" else None
        batch.append((seq, p.conversation_id, p.patient_id, kind, channel, *author, text, pmid, stamp, fold(text)))
        if len(batch) >= 50_000:
            conn.executemany(sql, batch)
            batch = []
    conn.executemany(sql, batch)
    conn.execute("UPDATE counters SET value = ? WHERE name = 'seq'", (seq,))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    checkpoint(conn)
    conn.close()
    return rare


def queries(rng: random.Random, rare: list[str]) -> list[tuple[str, str]]:
    mix = [
        ("rare word", lambda: rng.choice(rare) if rare else RARE),
        ("common word", lambda: rng.choice(["appointment", "cita", "receta", "refill", "clinic", "pharmacy"])),
        (
            "two words",
            lambda: rng.choice(["refill metformin", "cita lunes", "fiebre hijo", "blood test", "open Monday"]),
        ),
        ("prefix", lambda: rng.choice(["appoi", "farm", "medic", "resul", "insur", "cita ma"])),
        ("accented", lambda: rng.choice(["mañana", "Clínica", "miércoles", "MAMÁ", "losartán", "¿dónde"])),
    ]
    return [(name, make()) for name, make in mix]


def sign_in(base: str, login: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    c.get("/api/health")  # the CSRF cookie
    c.get("/api/auth/me")
    r = c.post(
        "/api/auth/login",
        json={"login": login, "password": f"puente-{login}-demo"},
        headers={"x-csrf-token": c.cookies.get("puente_csrf", "")},
    )
    r.raise_for_status()
    return c


def measure(hub: Hub, rare: list[str], n: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    clients = {"sofia": sign_in(hub.base, "sofia"), "ana": sign_in(hub.base, "ana")}
    times: dict[str, list[float]] = {}
    began, s0, p0, m0 = time.monotonic(), hub.cpu_seconds(), time.process_time(), machine_busy_seconds()
    for i in range(n + 100):
        who = "ana" if i % 4 == 0 else "sofia"  # an agent's reach is a filter too
        for name, q in queries(rng, rare):
            t0 = time.perf_counter()
            r = clients[who].get("/api/search", params={"q": q})
            dt = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                raise SystemExit(f"{q!r}: {r.status_code} {r.text[:200]}")
            if name == "rare word" and who == "sofia" and rare:
                assert any(q in h["event"]["text"] for h in r.json()["hits"]), q
            if i >= 100:
                times.setdefault(name, []).append(dt)
    for c in clients.values():
        c.close()
    wall = time.monotonic() - began
    server, client = hub.cpu_seconds() - s0, time.process_time() - p0
    others = machine_busy_seconds() - m0 - server - client
    flag = "  <- a busy machine: re-run when it is quiet" if others / wall > 0.25 else ""
    searches = (n + 100) * 5  # the warm-up's too: the CPU covers them
    print(f"  server CPU per search (whatever the machine's load): {1000 * server / searches:.1f} ms")
    print(
        f"  CPU (% of one core): server {100 * server / wall:.0f}%, client {100 * client / wall:.0f}%, "
        f"other processes {100 * others / wall:.0f}%{flag}"
    )
    return times


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def compiled(dialect: str, q: str, agent: bool, after: int | None = None) -> str:
    """The SQL the server runs for `q` (hub/search/controllers.py: matching), parameters inlined;
    on PostgreSQL, the window of seqs above `after`."""
    from sqlalchemy.dialects import postgresql, sqlite

    from hub.agents.roles import Principal, Role
    from hub.search.controllers import matching
    from hub.search.words import parse

    who = Principal(1, "x", "x", Role.AGENT if agent else Role.SUPERVISOR, (1,), ("en",))
    query = parse(q)
    assert query is not None
    statement = matching(who, query, dialect, None, 51, after=after)
    d = sqlite.dialect() if dialect == "sqlite" else postgresql.asyncpg.dialect()
    return str(statement.compile(dialect=d, compile_kwargs={"literal_binds": True}))


def sqlite_plans(db: Path) -> None:
    conn = sqlite3.connect(db)
    for q, agent in (("cita", False), ("refill metformin", True), ("mañ", False)):
        plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + compiled("sqlite", q, agent))]
        ok = plan and plan[0].startswith("SCAN search_fts VIRTUAL TABLE") and not any("TEMP B-TREE" in p for p in plan)
        who = "agent" if agent else "supervisor"
        print(f"  sqlite plan for {q!r} ({who}): {'index, newest first' if ok else 'NOT THE INDEX'}")
        for line in plan:
            print(f"      {line}")
        if not ok:
            raise SystemExit("the SQLite plan does not read the FTS table first")
    conn.close()


class PgHub(Hub):
    """The same hub process on a PostgreSQL database (bench/hubproc.py's Hub runs SQLite only)."""

    def __init__(self, data_dir: Path, log_path: Path, url: str) -> None:
        super().__init__(data_dir, KEY, log_path)
        self.url = url

    def start(self, timeout_s: float = 120.0) -> None:
        self.port = free_port()
        env = {**os.environ, **WEBCHAT_LIMITS, "PUENTE_DATA_DIR": str(self.data_dir), "PUENTE_INGEST_KEYS": KEY}
        env.update(PUENTE_DATABASE_URL=self.url, PUENTE_LOG_LEVEL="warning", PYTHONPATH=str(REPO))
        env.pop("PUENTE_REDIS_URL", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "--demo", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"hub did not start; see {self.log_path}")


async def _pg(url: str, *statements: str) -> list[tuple]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as c:
            for statement in statements:
                result = await c.execute(text(statement.replace("SET LOCAL", "SET")))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def _copy(target: str, db: Path) -> int:
    """The bench's patients, conversations and events from the SQLite file, after the demo's rows."""
    from datetime import datetime

    import asyncpg

    src = sqlite3.connect(db)
    pg = await asyncpg.connect(target.replace("postgresql+asyncpg", "postgresql"))
    try:
        p0, c0, s0 = await pg.fetchrow(
            "SELECT (SELECT max(id) FROM patients), (SELECT max(id) FROM conversations), "
            "(SELECT value FROM counters WHERE name = 'seq')"
        )
        bench = "SELECT id FROM patients WHERE name LIKE 'Bench Patient%'"
        when = datetime.fromisoformat("2026-11-20T12:00:00+00:00")
        patients = [(p0 + i, n, when) for i, n in src.execute(f"SELECT id, name FROM patients WHERE id IN ({bench})")]
        await pg.copy_records_to_table("patients", records=patients, columns=["id", "name", "created_at"])
        convs = [
            (c0 + cid, p0 + pid, "open", "agent", 0, "api", when, 0)
            for cid, pid in src.execute(f"SELECT id, patient_id FROM conversations WHERE patient_id IN ({bench})")
        ]
        cols = ["id", "patient_id", "status", "handler", "priority", "channel", "opened_at", "last_event_seq"]
        await pg.copy_records_to_table("conversations", records=convs, columns=cols)
        cols = [
            "seq",
            "conversation_id",
            "patient_id",
            "kind",
            "channel",
            "author_type",
            "text",
            "search_text",
            "attachments",
            "data",
            "created_at",
        ]
        n = 0
        cur = src.execute(
            "SELECT conversation_id, patient_id, kind, channel, author_type, text, search_text FROM timeline_events "
            f"WHERE patient_id IN ({bench}) ORDER BY seq"
        )
        while chunk := cur.fetchmany(50_000):
            rows = [
                (s0 + n + i + 1, c0 + c, p0 + p, k, ch, a, t, f, "[]", "{}", when)
                for i, (c, p, k, ch, a, t, f) in enumerate(chunk)
            ]
            await pg.copy_records_to_table("timeline_events", records=rows, columns=cols)
            n += len(rows)
        await pg.execute("UPDATE counters SET value = $1 WHERE name = 'seq'", s0 + n)
        await pg.execute("SELECT setval(pg_get_serial_sequence('patients', 'id'), $1)", p0 + len(patients) + 1)
        await pg.execute("SELECT setval(pg_get_serial_sequence('conversations', 'id'), $1)", c0 + len(convs) + 1)
        return n
    finally:
        await pg.close()
        src.close()


def postgres(url: str, db: Path, work: Path, requests: int, keep: bool = False) -> tuple[float, float]:
    """The same rows in a throw-away PostgreSQL database, the same hub on it: the index built by a
    start (CONCURRENTLY), its plans, and /api/search over HTTP."""
    name = f"bench_search_{os.getpid()}"
    asyncio.run(_pg(url, f"CREATE DATABASE {name}"))
    target = url.rsplit("/", 1)[0] + "/" + name
    hub = PgHub(work / "pg-data", work / "pg-hub.log", target)
    try:
        hub.start()  # migrations and the demo clinic
        hub.stop()
        n = asyncio.run(_copy(target, db))
        asyncio.run(_pg(target, f"DROP INDEX IF EXISTS {PG_INDEX}"))  # built again as an upgrade builds it
        t0 = time.perf_counter()
        hub.start()
        valid = (
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            f"WHERE c.relname = '{PG_INDEX}'"
        )
        while asyncio.run(_pg(target, valid)) != [(True,)]:
            time.sleep(0.5)
        print(
            f"  postgres: {n:,} events copied; the GIN index built CONCURRENTLY after a start in "
            f"{time.perf_counter() - t0:.0f} s (the hub answering meanwhile)"
        )
        asyncio.run(_pg(target, "ANALYZE"))
        top = asyncio.run(_pg(target, "SELECT max(seq) FROM timeline_events"))[0][0]
        for q, agent in (("cita", False), ("zorbtavix0001", False), ("refill metformin", True), ("mañ", False)):
            for after in (top - WINDOWS[0], None):  # the first window, and the last (everything older)
                sql = "EXPLAIN ANALYZE " + compiled("postgresql", q, agent, after)
                plan = [r[0] for r in asyncio.run(_pg(target, *PG_BITMAPS_ONLY, sql))]
                index = any(PG_INDEX in p for p in plan)
                where = "the newest window" if after else "all"
                print(
                    f"  postgres plan for {q!r} ({'agent' if agent else 'supervisor'}, {where}): "
                    f"{'the GIN index' if index else 'NO INDEX'}, {plan[-1].strip()}"
                )
                if not index:
                    raise SystemExit("\n".join(plan))
        rare = [
            t.split()[-1]
            for (t,) in sqlite3.connect(db).execute(f"SELECT text FROM timeline_events WHERE text LIKE '%{RARE}%'")
        ]
        return report("postgres over HTTP", measure(hub, rare, requests, seed=7))
    finally:
        hub.stop()
        if not keep:
            asyncio.run(_pg(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def report(label: str, times: dict[str, list[float]]) -> tuple[float, float]:
    every = [t for ts in times.values() for t in ts]
    p50, p99 = statistics.median(every), pct(every, 0.99)
    print(f"  {label}: all p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(every)} searches)")
    for name, ts in times.items():
        print(f"      {name:12s} p50 {statistics.median(ts):6.1f} ms  p99 {pct(ts, 0.99):6.1f} ms")
    return p50, p99


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--requests", type=int, default=200, help="rounds of the five queries per size")
    ap.add_argument("--postgres", help="also load the largest size into a throw-away PostgreSQL database")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="puente-search-bench-"))
    hub = Hub(work / "data", KEY, work / "hub.log")
    figures: dict[int, tuple[float, float]] = {}
    try:
        hub.start()
        hub.stop()
        rare: list[str] = []
        stored = 0
        for size in sorted(args.sizes):
            t0 = time.perf_counter()
            rare += load(hub.db_path, size - stored, seed=size)
            stored = size
            print(
                f"{size:,} events: loaded (with the FTS triggers) in {time.perf_counter() - t0:.1f} s, "
                f"{hub.db_path.stat().st_size / 2**20:.0f} MiB"
            )
            sqlite_plans(hub.db_path)
            hub.start()
            try:
                figures[size] = report("sqlite over HTTP", measure(hub, rare, args.requests, seed=size))
            finally:
                hub.stop()
        if args.postgres:
            figures_pg = postgres(args.postgres, hub.db_path, work, args.requests, args.keep)
            print(f"postgres p99 at {max(figures):,}: {figures_pg[1]:.1f} ms")
    finally:
        hub.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    small, big = min(figures), max(figures)
    p99 = figures[big][1]
    print(f"p99 at {big:,}: {p99:.1f} ms (target <= 50 ms: {'PASS' if p99 <= 50 else 'MISS'})", end="")
    if small != big:
        print(
            f"; p50 {big:,}/{small:,} = {figures[big][0] / figures[small][0]:.2f}x, "
            f"p99 {figures[big][1] / figures[small][1]:.2f}x"
        )
    else:
        print()
    return 0 if p99 <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())

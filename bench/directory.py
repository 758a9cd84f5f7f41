"""Directory search over the real server: p50/p99 of GET /api/patients?q= with 10k and 1M patients.

    .venv/bin/python bench/directory.py                 # 10k, then 1M (about 4 minutes, ~1 GB of disk)
    .venv/bin/python bench/directory.py --sizes 10000   # one size
    .venv/bin/python bench/directory.py --plans         # also print SQLite's query plan of each reading

A fresh data dir: the hub starts once (migrations, the demo clinic) and stops; synthetic patients
are bulk-inserted straight into its SQLite file with sqlite3 (names with Spanish and English given
names and surnames, accents included, dates of birth, a phone each, an email for most, an MRN each,
and their name words in patient_search_terms as hub/patients/names.py makes them); the hub starts
again and one signed-in supervisor sends, one at a time over keep-alive HTTP on 127.0.0.1, a mix of
queries of every kind (full names, a surname's start, a common given name, phones as people type
them, the start of a number, emails in capitals, MRNs, numeric and worded dates of birth), drawn from
the patients stored. Each size: 200 warm-up requests, then 2,000 timed. Every answer must be a 200
with the patient it was drawn from on its first page when the query names one patient (a phone, an
email, an MRN, a full name with its date of birth). Each search also writes its audit row through the
writer before it answers, as in production.

Targets: p99 <= 50 ms at each size, and the 1M p50 within 2x the 10k p50.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hubproc import REPO, Hub  # noqa: E402
from hub.patients.names import name_terms  # noqa: E402

GIVEN = (
    "María José Juan Carlos Luis Ana Carmen Jorge Lucía Sofía Diego Valentina Mateo Camila Santiago Isabella "
    "Sebastián Gabriela Daniel Fernanda Alejandro Paula Miguel Andrea Javier Natalia Ricardo Elena Andrés Laura "
    "Pablo Marta Raúl Rosa Héctor Beatriz Iván Julia Óscar Inés James Mary Robert Patricia John Jennifer Michael "
    "Linda William Elizabeth David Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa "
    "Matthew Nancy Anthony Betty Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle "
    "Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward "
    "Cynthia Jeffrey Kathleen Ryan Amy Jacob Angela Gary Shirley Nicholas Brenda Eric Emma Jonathan Anna Stephen "
    "Pamela Larry Nicole Justin Samantha Scott Katherine Brandon Christine Benjamin Debra Samuel Rachel Gregory "
    "Carolyn Alexander Janet Frank Catherine Patrick Maria Raymond Heather Jack Diane Dennis Ruth Jerry Julie Tyler "
    "Olivia Aaron Joyce Jose Virginia Adam Victoria Nathan Kelly Henry Lauren Douglas Christina Zachary Joan Peter "
    "Evelyn Kyle Judith Noah Megan Ethan Andrea Jeremy Cheryl Walter Hannah Christian Jacqueline Keith Martha Roger "
    "Gloria Terry Teresa Austin Ann Sean Madison Gerald Frances Carl Kathryn Harold Janice Dylan Jean Arthur Abigail "
    "Lawrence Alice Jordan Judy Jesse Sophia Bryan Grace Billy Denise Bruce Amber Gabriel Doris Joe Marilyn Logan "
    "Danielle Albert Beverly Willie Isabel Alan Theresa Eugene Diana Russell Natalie Vincent Brittany Randy Charlotte"
).split()
FAMILY = (
    "García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz Cruz "
    "Morales Reyes Gutiérrez Ortiz Chávez Ruiz Jiménez Mendoza Álvarez Castillo Romero Vargas Herrera Medina Aguilar "
    "Núñez Castro Ramos Vásquez Guzmán Muñoz Rojas Salazar Delgado Peña Ríos Ibáñez Orozco Zúñiga Beltrán Cárdenas "
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson Martin Lee Thompson "
    "White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Nelson Baker Hall "
    "Campbell Mitchell Carter Roberts Phillips Evans Turner Parker Collins Edwards Stewart Morris Murphy Cook Rogers "
    "Morgan Peterson Cooper Reed Bailey Bell Kelly Howard Ward Cox Richardson Wood Watson Brooks Bennett Gray James "
    "Hughes Price Sanders Myers Long Ross Foster Powell Jenkins Perry Russell Sullivan Fisher Henderson Coleman "
    "Simmons Patterson Jordan Reynolds Hamilton Graham Kim Wallace Cole West Stone Hayes Gibson Ellis Tran Nguyen "
    "Pham Le Chen Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin Luo Zheng Liang Song Tang Han "
    "Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye Cheng Wei Su Lu Ding Ren Shen Yao Tan Liao "
    "Fan Wang OBrien Murray Ford Marshall Owens McDonald Harrison Kennedy Wells Alvarez Woods Mendez Castro Hansen "
    "Black Daniels Palmer Mills Grant Knight Ferguson Rose Hunt Hicks Holmes Rice Warren Dixon Burns Gordon Shaw"
).split()
AREAS = (650, 415, 408, 510, 212, 305, 713)
MONTHS_EN = "jan feb mar apr may jun jul aug sep oct nov dec".split()
MONTHS_ES = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split()
CHUNK = 50_000
NOW = "2026-12-01 12:00:00.000000"


def person(n: int) -> dict:
    """Patient n, the same on every run: a name (some with a middle name or two surnames), a date of
    birth, a phone, an email for most, an MRN."""
    r = random.Random(n)
    given = r.choice(GIVEN) + (" " + r.choice(GIVEN) if r.random() < 0.2 else "")
    family = r.choice(FAMILY) + (" " + r.choice(FAMILY) if r.random() < 0.3 else "")
    dob = date(1930, 1, 1) + timedelta(days=r.randrange(0, 365 * 90))
    area = AREAS[n % len(AREAS)]
    local = 2_000_000 + n // len(AREAS)
    phone = f"+1{area}{local:07d}"
    ascii_name = "".join(c for c in unicodedata.normalize("NFKD", f"{given}.{family}") if c.isascii()).lower()
    email = f"{ascii_name.replace(' ', '')}{n}@example.org" if r.random() < 0.8 else None
    return {"n": n, "name": f"{given} {family}", "dob": dob, "phone": phone, "email": email, "mrn": f"M{n:08d}"}


def load(db: Path, first: int, count: int) -> float:
    """Patients first..first+count-1 and all their rows, one transaction; the hub must be stopped."""
    t0 = time.monotonic()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    base = conn.execute("SELECT coalesce(max(id), 0) FROM patients").fetchone()[0] + 1
    with conn:
        for start in range(first, first + count, CHUNK):
            people = [person(n) for n in range(start, min(first + count, start + CHUNK))]
            ids = [base + p["n"] - first for p in people]
            conn.executemany(
                "INSERT INTO patients (id, name, date_of_birth, source, created_at, updated_at)"
                " VALUES (?, ?, ?, 'csv', ?, ?)",
                [(i, p["name"], p["dob"].isoformat(), NOW, NOW) for i, p in zip(ids, people, strict=True)],
            )
            conn.executemany(
                "INSERT INTO contact_points (patient_id, kind, address, verified, created_at) VALUES (?, ?, ?, 0, ?)",
                [(i, "phone", p["phone"], NOW) for i, p in zip(ids, people, strict=True)]
                + [(i, "email", p["email"], NOW) for i, p in zip(ids, people, strict=True) if p["email"]],
            )
            conn.executemany(
                "INSERT INTO patient_identifiers (patient_id, system, value, label, created_at)"
                " VALUES (?, 'urn:bench:mrn', ?, 'MRN', ?)",
                [(i, p["mrn"], NOW) for i, p in zip(ids, people, strict=True)],
            )
            conn.executemany(
                "INSERT INTO patient_search_terms (term, patient_id) VALUES (?, ?)",
                [(t, i) for i, p in zip(ids, people, strict=True) for t in sorted(name_terms(p["name"]))],
            )
    conn.execute("ANALYZE")
    conn.close()
    return time.monotonic() - t0


def queries(stored: int, n: int, seed: int) -> list[tuple[str, str, str | None]]:
    """(kind, query, the MRN of the one patient it must find, or None) drawn from the patients stored."""
    r = random.Random(seed)
    out = []
    kinds = ["name_full", "name_prefix", "name_given", "name_dob", "phone", "phone_start", "email", "mrn", "dob"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        p = person(r.randrange(stored))
        given, *rest = p["name"].split()
        family = rest[-1]
        d = p["dob"]
        digits = p["phone"][2:]
        if kind == "name_full":
            q, one = p["name"].upper(), None
        elif kind == "name_prefix":
            q, one = family[: max(3, len(family) - 2)].lower(), None
        elif kind == "name_given":
            q, one = given, None
        elif kind == "name_dob":
            q, one = f"{family} {given} {d.isoformat()}", None
        elif kind == "phone":
            q, one = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", p["mrn"]
        elif kind == "phone_start":
            q, one = f"{digits[:3]}-{digits[3:6]}-{digits[6]}", None
        elif kind == "email":
            if not p["email"]:
                q, one = p["mrn"], p["mrn"]
            else:
                q, one = p["email"].upper(), p["mrn"]
        elif kind == "mrn":
            q, one = p["mrn"].lower(), p["mrn"]
        else:
            q = (
                f"{d.month:02d}/{d.day:02d}/{d.year}"
                if i % 2
                else f"{d.day} {(MONTHS_ES if i % 4 == 0 else MONTHS_EN)[d.month - 1]} {d.year}"
            )
            one = None
        out.append((kind, q, one))
    return out


def measure(hub: Hub, stored: int, warm: int, timed: int) -> dict:
    with httpx.Client(base_url=hub.base, timeout=30) as c:
        c.get("/api/health")
        c.get("/api/auth/me")
        r = c.post(
            "/api/auth/login",
            json={"login": "sofia", "password": "puente-sofia-demo"},
            headers={"x-csrf-token": c.cookies.get("puente_csrf") or ""},
        )
        r.raise_for_status()
        for _kind, q, _one in queries(stored, warm, seed=1):
            c.get("/api/patients", params={"q": q}).raise_for_status()
        times: dict[str, list[float]] = defaultdict(list)
        found_counts: dict[str, list[int]] = defaultdict(list)
        for kind, q, one in queries(stored, timed, seed=2):
            t0 = time.perf_counter()
            r = c.get("/api/patients", params={"q": q})
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                raise SystemExit(f"{kind} {q!r}: {r.status_code} {r.text[:200]}")
            page = r.json()["patients"]
            if one is not None and one not in {m for p in page for m in p["record_numbers"]}:
                raise SystemExit(f"{kind} {q!r} did not find {one}")
            if kind.startswith("name") and not page:
                raise SystemExit(f"{kind} {q!r} found nobody")
            times[kind].append(dt * 1000)
            times["all"].append(dt * 1000)
            found_counts[kind].append(len(page))
    return {
        k: _pcts(v) | {"found": statistics.mean(found_counts[k]) if k in found_counts else None}
        for k, v in times.items()
    }


def _pcts(ms: list[float]) -> dict:
    s = sorted(ms)
    return {"n": len(s), "p50": s[len(s) // 2], "p99": s[min(len(s) - 1, int(len(s) * 0.99))], "max": s[-1]}


def plans(db: Path) -> None:
    """SQLite's plan for each reading, as the hub builds its SQL."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from hub.patients.directory_lanes import lane_query
    from hub.patients.directory_query import read_query

    conn = sqlite3.connect(db)
    for q in (
        "maria garcia",
        "(650) 200-0001",
        "maria.garcia1@example.org",
        "m00000001",
        "03/07/1984",
        "garc 1984-03-07",
    ):
        for kind, arg in read_query(q, "US").lanes():
            sql = lane_query(kind, arg, None, 26).compile(
                dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}
            )
            plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            print(f"  {q!r} [{kind}]")
            for row in plan:
                print("     ", row[-1])
    conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,1000000", help="patients stored at each step, increasing")
    ap.add_argument("--timed", type=int, default=2000)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--plans", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the data dir (its path is printed)")
    ap.add_argument("--rev", help="bench this committed revision (exported with git archive), not the working tree")
    ap.add_argument("--reuse", type=Path, help="measure a data dir kept with --keep again, as it is (no loading)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    data = args.reuse or Path(tempfile.mkdtemp(prefix="puente-directory-bench-"))
    code = REPO
    if args.rev:
        code = data / "code"
        shutil.rmtree(code, ignore_errors=True)
        code.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        print(f"benching {args.rev} exported to {code}")
    hub = Hub(data, "pk_bench_directory", data / "hub.log", code_dir=code)
    results = {}
    try:
        hub.start()  # migrations and the demo clinic
        hub.stop()
        stored = 0
        if args.reuse:
            with sqlite3.connect(hub.db_path) as conn:
                stored = conn.execute("SELECT count(*) FROM patients WHERE source = 'csv'").fetchone()[0]
            sizes = [stored]
        for size in sizes:
            took = load(hub.db_path, stored, size - stored)
            print(f"{size:>9,} patients stored ({size - stored:,} bulk-inserted in {took:.1f} s)", flush=True)
            stored = size
            if args.plans:
                plans(hub.db_path)
            hub.start()
            try:
                results[size] = measure(hub, stored, args.warm, args.timed)
            finally:
                hub.stop()
            row = results[size]["all"]
            print(
                f"          all kinds: p50 {row['p50']:.1f} ms  p99 {row['p99']:.1f} ms  max {row['max']:.1f} ms",
                flush=True,
            )
            for kind, v in sorted(results[size].items()):
                if kind != "all":
                    found = f"found {v['found']:.1f} a page"
                    print(f"{'':10}{kind:<12} p50 {v['p50']:5.1f} ms  p99 {v['p99']:5.1f} ms  ({found})", flush=True)
    finally:
        hub.stop()
        if args.keep or args.reuse:
            print("data dir:", data)
        else:
            shutil.rmtree(data, ignore_errors=True)
    ok = True
    for size, r in results.items():
        good = r["all"]["p99"] <= 50
        ok &= good
        print(f"p99 at {size:,}: {r['all']['p99']:.1f} ms (target <= 50 ms) {'PASS' if good else 'MISS'}")
    if len(results) > 1:
        small, big = results[sizes[0]]["all"]["p50"], results[sizes[-1]]["all"]["p50"]
        good = big <= 2 * small
        ok &= good
        print(f"p50 {sizes[-1]:,} / {sizes[0]:,}: {big / small:.2f}x (target <= 2x) {'PASS' if good else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""FHIR import throughput: the hub as a real server imports Synthea-shaped patients and their
appointments from the local FHIR R4 server (tests/support/fake_fhir.py, SMART Backend Services,
100 a page), then imports them all again (every version known: nothing written).

    .venv/bin/python bench/fhir_import.py                   # 5,000 patients, ~4,000 appointments
    .venv/bin/python bench/fhir_import.py --patients 20000

Prints patients/s for the patient phase (first page asked for -> the phase's last page committed),
appointments/s, and the whole import's resources/s, for the first import and the re-import. The
FHIR server runs in this process and shares the machine's cores with the hub. A report: the exit
status is 0 unless the import failed or its counts are wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hubproc import Hub, proc_cpu_seconds  # noqa: E402
from tests.support.fake_fhir import FakeFhir, key_pair  # noqa: E402
from tests.support.synthea import population  # noqa: E402

CLIENT_ID = "puente-bench"


def _admin(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    c.get("/api/health")
    r = c.post(
        "/api/auth/login",
        json={"login": "admin", "password": "puente-admin-demo"},
        headers={"x-csrf-token": c.cookies.get("puente_csrf") or ""},
    )
    r.raise_for_status()
    return c


def _import(c: httpx.Client, full: bool, pid: int) -> dict:
    """Start an import and follow it; the run, and when each phase ended (monotonic seconds)."""
    cpu0 = proc_cpu_seconds(pid)
    t0 = time.monotonic()
    r = c.post("/api/fhir/imports", json={"full": full}, headers={"x-csrf-token": c.cookies.get("puente_csrf") or ""})
    r.raise_for_status()
    run_id = r.json()["run"]["id"]
    patients_done = None
    while True:
        run = next(x for x in c.get("/api/fhir/imports").json()["runs"] if x["id"] == run_id)
        if patients_done is None and run["phase"] in ("Appointment", "done"):
            patients_done = time.monotonic()
        if run["status"] in ("done", "failed"):
            end = time.monotonic()
            break
        time.sleep(0.02)
    return {"run": run, "t0": t0, "patients_s": patients_done - t0, "total_s": end - t0,
            "cpu_s": proc_cpu_seconds(pid) - cpu0}  # fmt: skip


def _print(label: str, out: dict, n_patients: int, n_appts: int) -> None:
    c = out["run"]["counts"]
    appt_s = max(out["total_s"] - out["patients_s"], 1e-9)
    print(
        f"\n{label}: {out['run']['status']}, {c['pages']} pages, {out['total_s']:.2f} s, hub CPU {out['cpu_s']:.1f} s"
    )
    print(f"  patients      {n_patients / out['patients_s']:8.0f} /s  ({n_patients} in {out['patients_s']:.2f} s)")
    print(f"  appointments  {n_appts / appt_s:8.0f} /s  ({n_appts} in {appt_s:.2f} s)")
    print(f"  all resources {(n_patients + n_appts) / out['total_s']:8.0f} /s")
    print(
        f"  per hub CPU second {(n_patients + n_appts) / max(out['cpu_s'], 1e-9):8.0f} resources (steadier when busy)"
    )
    print("  counts: " + ", ".join(f"{k} {v}" for k, v in c.items() if v and k not in ("pages", "resources")))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--page-size", type=int, default=100)
    args = ap.parse_args()
    t = time.monotonic()
    pop = population(args.patients, seed=2026)
    n_patients, n_appts = len(pop.patients), len(pop.appointments)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other processes slow the figures)")
    print(f"{n_patients} Synthea-shaped patients and {n_appts} appointments made in {time.monotonic() - t:.1f} s")
    private, public = key_pair("RS384")
    ok = True
    with FakeFhir(CLIENT_ID, public_key=public) as ehr, tempfile.TemporaryDirectory(prefix="puente-fhir-bench-") as tmp:
        ehr.load(pop.patients, pop.appointments)
        os.environ.update(
            PUENTE_FHIR_BASE_URL=ehr.url,
            PUENTE_FHIR_CLIENT_ID=CLIENT_ID,
            PUENTE_FHIR_PRIVATE_KEY=private,
            PUENTE_FHIR_PAGE_SIZE=str(args.page_size),
            PUENTE_FHIR_ALLOW_HTTP="1",
        )
        hub = Hub(Path(tmp) / "data", "bench-key", Path(tmp) / "hub.log")
        hub.start()
        try:
            with closing(_admin(hub.base)) as c:
                first = _import(c, False, hub.pid)
                again = _import(c, True, hub.pid)
        finally:
            hub.stop()
    _print("first import (SQLite, synchronous=FULL)", first, n_patients, n_appts)
    _print("re-import, everything (every version known)", again, n_patients, n_appts)
    fc, ac = first["run"]["counts"], again["run"]["counts"]
    ok = (
        first["run"]["status"] == again["run"]["status"] == "done"
        and fc["patients_created"] == n_patients
        and fc["appointments_created"] == n_appts
        and ac["patients_unchanged"] == n_patients
        and ac["patients_created"] == ac["patients_updated"] == 0
    )
    print("\ncounts " + ("OK" if ok else "WRONG"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

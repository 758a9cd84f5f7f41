"""The bench's instruments: load generators (wrk), meters of CPU and latency, the profiler, the
timeline-read timer; bench/run.py uses them."""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import phonenumbers  # noqa: E402
import rawhttp  # noqa: E402
from hubproc import Hub, live_children_cpu_seconds, machine_busy_seconds  # noqa: E402
from profile_summary import summarize  # noqa: E402
from wslatency import pct  # noqa: E402

LOGIN, PASSWORD = "sofia", "puente-sofia-demo"
INGEST_KEY = "pk_bench_" + os.urandom(8).hex()
RESULTS = BENCH / "results"

TARGET_B_RATIO = 0.60
TARGET_C_P99_MS = 25.0
TARGET_D_FACTOR = 1.5
TARGET_E1_RATIO = TARGET_B_RATIO  # web-chat ingest: the same bar as API-channel ingest
TARGET_E2_P99_MS = TARGET_C_P99_MS


# --- helpers -----------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk not found: installing it with apt-get (Debian package 'wrk')")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, timeout=300)
        path = shutil.which("wrk")
    if not path:
        sys.exit(
            "bench: the load generator `wrk` is missing. Install it (Debian/Ubuntu: "
            "`sudo apt-get install -y wrk`; macOS: `brew install wrk`) and run again."
        )
    return path


def ingest_senders(n: int) -> list[str]:
    """n distinct US numbers +1 650 555 0000.., each checked valid (invalid ones would get 400)."""
    out = []
    for i in range(n):
        number = f"+1650555{i:04d}"
        if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
            sys.exit(f"bench: {number} is not a valid phone number according to phonenumbers")
        out.append(number)
    return out


def busy_elsewhere(seconds: float = 1.0) -> float:
    """% of one core that processes other than this one used over `seconds`."""
    m0, p0, c0 = machine_busy_seconds(), time.process_time(), children_cpu()
    time.sleep(seconds)
    other = (machine_busy_seconds() - m0) - (time.process_time() - p0) - (children_cpu() - c0)
    return max(0.0, 100 * other / seconds)


def wait_until_quiet(limit_pct: float, max_wait_s: float) -> float:
    """The figures are only meaningful on an otherwise idle machine: wait (bounded) for one."""
    deadline = time.monotonic() + max_wait_s
    load = busy_elsewhere()
    while load > limit_pct and time.monotonic() < deadline:
        log(
            f"other processes are using {load:.0f}% of a core; waiting for a quieter machine "
            f"(up to {max(0, deadline - time.monotonic()):.0f}s more)"
        )
        time.sleep(4)
        load = busy_elsewhere()
    if load > limit_pct:
        log(f"WARNING: the machine is busy ({load:.0f}% of a core used by other processes); figures will be noisy")
    return load


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Meter:
    """CPU use over a phase, in % of one core: the server, this process (the Python client),
    our tools (wrk, py-spy), and everything else on the machine (other tenants: noise)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.t0 = time.perf_counter()
        self.s0, self.p0, self.m0 = hub.cpu_seconds(), time.process_time(), machine_busy_seconds()
        self.c0 = children_cpu() + live_children_cpu_seconds(exclude=(hub.pid,))

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self.t0
        server = self.hub.cpu_seconds() - self.s0
        client = time.process_time() - self.p0
        child = children_cpu() + live_children_cpu_seconds(exclude=(self.hub.pid,)) - self.c0
        machine = machine_busy_seconds() - self.m0
        pct_ = lambda x: round(100 * x / wall, 1)  # noqa: E731
        return {
            "wall_s": round(wall, 2),
            "server_cpu_pct": pct_(server),
            "client_cpu_pct": pct_(client),
            "wrk_cpu_pct": pct_(child),
            "other_cpu_pct": pct_(max(0.0, machine - server - client - child)),
        }


class Profiler:
    """py-spy record (non-blocking, raw collapsed stacks) of the server for one phase."""

    def __init__(self, enabled: bool, pid: int, name: str, seconds: float) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.out = RESULTS / f"profile_{name}.txt"
        if not enabled:
            return
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            log("--profile: py-spy not found (pip install py-spy into the venv); not profiling")
            return
        self.proc = subprocess.Popen(
            [
                spy,
                "record",
                "--nonblocking",
                "--gil",
                "--format",
                "raw",
                "--rate",
                "200",
                "--duration",
                str(int(seconds) + 1),
                "--pid",
                str(pid),
                "--output",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def finish(self) -> str | None:
        if self.proc is None:
            return None
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(10)
        if not self.out.exists():
            return None
        text = summarize(self.out, top=30)
        self.out.with_suffix(".summary.txt").write_text(text + "\n")
        return str(self.out.with_suffix(".summary.txt").relative_to(REPO))


async def stored_last_seq(port: int, cookies: dict[str, str]) -> int:
    c = rawhttp.Conn(port, dict(cookies))
    try:
        return (await c.json("GET", "/api/conversations?limit=1"))["last_seq"]
    finally:
        c.close()


# --- (a) and (b): wrk ---------------------------------------------------------------------------


def run_wrk(
    wrk: str, hub: Hub, mode: str, conns: int, duration: int, run_id: str, senders: int, key: str = INGEST_KEY
) -> dict[str, Any]:
    cmd = [
        wrk,
        "-t1",
        f"-c{conns}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk_post.lua"),
        hub.base,
        "--",
        mode,
        key,
        run_id,
        str(senders),
    ]
    meter = Meter(hub)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    cpu = meter.read()
    m = re.search(r"^BENCH_JSON (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    r.update(
        command=" ".join(cmd[:-4] + ["--", mode, "<tokens>" if mode == "webchat" else "<key>", run_id, str(senders)]),
        rate=r["requests"] / secs,
        socket_errors=r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"],
        cpu=cpu,
        stderr=proc.stderr.strip()[-600:],
    )
    return r


# --- (d): timeline reads --------------------------------------------------------------------------


async def timeline_reads(
    port: int,
    cookies: dict[str, str],
    patient_ids: list[int],
    reads: int,
    seed: int,
) -> dict[str, Any]:
    c = rawhttp.Conn(port, dict(cookies))
    rnd = random.Random(seed)
    non2xx = 0
    short = 0
    lat: list[float] = []
    perf = time.perf_counter
    try:
        for pid in patient_ids:  # warm-up: one read of each sampled patient, not counted
            await c.request("GET", f"/api/patients/{pid}/timeline?limit=50")
        order = [patient_ids[i % len(patient_ids)] for i in range(reads)]
        rnd.shuffle(order)
        for pid in order:
            raw = c.build("GET", f"/api/patients/{pid}/timeline?limit=50")
            t = perf()
            await c.send_raw(raw)
            status, _, body = await c.read_response()
            lat.append((perf() - t) * 1000)
            if not 200 <= status < 300:
                non2xx += 1
            elif len(json.loads(body)["events"]) != 50:
                short += 1
    finally:
        c.close()
    return {
        "reads": len(lat),
        "non2xx": non2xx,
        "not_50_events": short,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
        "mean_ms": sum(lat) / len(lat) if lat else float("nan"),
    }


def agent_id_of(db: Path, login: str) -> int | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT id FROM agents WHERE login = ?", (login,)).fetchone()
    return row[0] if row else None

"""Puente benchmark: one command, real server on 127.0.0.1, all figures from one run.

    .venv/bin/python bench/run.py            # the full bench (about 2.5 minutes)
    .venv/bin/python bench/run.py --quick    # a smoke run with small numbers (not comparable)
    .venv/bin/python bench/run.py --profile  # also py-spy the server in (b), (c), (d 1M), (e1), (e2)
    .venv/bin/python bench/run.py --only e   # web chat only (with its (a) baseline)

See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import rawhttp  # noqa: E402
import wslatency  # noqa: E402
from hubproc import WEBCHAT_LIMIT, Hub  # noqa: E402
from measure import (  # noqa: E402  (one key and one set of targets for every part of the run)
    INGEST_KEY,
    LOGIN,
    PASSWORD,
    RESULTS,
    TARGET_B_RATIO,
    TARGET_C_P99_MS,
    TARGET_D_FACTOR,
    TARGET_E1_RATIO,
    TARGET_E2_P99_MS,
    Meter,
    Profiler,
    ensure_wrk,
    ingest_senders,
    log,
    run_wrk,
    stored_last_seq,
    wait_until_quiet,
)
from parts import _sign_in_many, run_timeline_part, run_webchat_part  # noqa: E402
from wslatency import pct  # noqa: E402

# --- the run ----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small numbers for a smoke run (not comparable)")
    ap.add_argument("--conns", type=int, default=32, help="wrk connections for (a) and (b) [32]")
    ap.add_argument("--duration", type=int, default=9, help="wrk seconds for each of (a) and (b) [9]")
    ap.add_argument("--senders", type=int, default=1000, help="distinct sender numbers [1000]")
    ap.add_argument("--agents", type=int, default=100, help="agent sockets in (c) [100]")
    ap.add_argument("--rate", type=float, default=300, help="messages/s in (c) [300]")
    ap.add_argument("--ws-seconds", type=float, default=10, help="seconds of sending in (c) [10]")
    ap.add_argument("--patients", type=int, default=1000, help="patients the (d) events are spread over [1000]")
    ap.add_argument("--sample", type=int, default=100, help="patients whose timelines (d) reads [100]")
    ap.add_argument("--reads", type=int, default=1000, help="timeline reads per size in (d) [1000]")
    ap.add_argument("--small", type=int, default=10_000, help="events stored for the small (d) run [10000]")
    ap.add_argument("--large", type=int, default=1_000_000, help="events stored for the large (d) run [1000000]")
    ap.add_argument("--visitors", type=int, default=1000, help="web-chat visitors wrk posts as in (e1) [1000]")
    ap.add_argument("--chat-visitors", type=int, default=200, help="visitor sockets in (e2) [200]")
    ap.add_argument("--chat-agents", type=int, default=20, help="agent sockets in (e2) [20]")
    ap.add_argument("--chat-convs", type=int, default=50, help="conversations exchanging messages in (e2) [50]")
    ap.add_argument("--chat-rate", type=float, default=100, help="messages/s in (e2), both ways together [100]")
    ap.add_argument("--chat-seconds", type=float, default=10, help="seconds of sending in (e2) [10]")
    ap.add_argument("--only", default="abcde", help="run only these parts, e.g. 'd' or 'ab'; 'e' also runs (a) [abcde]")
    ap.add_argument("--profile", action="store_true", help="py-spy the server during (b), (c), (d large), (e)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dirs")
    ap.add_argument(
        "--rev",
        default=None,
        help="bench this committed git revision (exported with git archive) instead of the working tree",
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="seconds to wait, at most, for other processes to leave the CPUs idle [60]",
    )
    a = ap.parse_args()
    if a.quick:
        a.duration, a.agents, a.ws_seconds, a.reads, a.large = 3, 10, 3, 200, 100_000
        a.visitors, a.chat_visitors, a.chat_agents, a.chat_seconds = 200, 50, 5, 3
    if a.chat_convs > a.chat_visitors or a.chat_agents < 1:
        sys.exit("bench: --chat-convs must be <= --chat-visitors, and --chat-agents >= 1")
    if a.sample * 55 > a.small - 100 or a.sample > a.patients:
        sys.exit("bench: --sample too large for --small/--patients (each sampled patient needs 55 events)")

    started = time.perf_counter()
    RESULTS.mkdir(exist_ok=True)
    wrk = ensure_wrk()
    senders = ingest_senders(a.senders)
    load_before = wait_until_quiet(25.0, a.quiet_wait)
    run_id = datetime.now(UTC).strftime("%H%M%S") + os.urandom(2).hex()
    tmp_root = Path(tempfile.mkdtemp(prefix="puente-bench-"))
    _STATE["tmp_root"] = tmp_root
    hub_log = tmp_root / "hub.log"
    py = sys.executable
    code_dir = REPO
    if a.rev:
        code_dir = tmp_root / "code"
        code_dir.mkdir()
        archive = subprocess.run(["git", "archive", a.rev], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code_dir)], input=archive, check=True)
        log(f"benching {a.rev} exported to {code_dir}")
    loop_run = asyncio.run
    try:
        import uvloop  # the client's loop: cheaper per frame than asyncio's

        loop_run = uvloop.run
    except ImportError:
        pass

    res: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "git": _git_rev(a.rev),
        "quick": a.quick,
        "other_cpu_pct_before": round(load_before, 1),
        "config": vars(a),
        "targets": {
            "b_ratio_min": TARGET_B_RATIO,
            "c_p99_ms_max": TARGET_C_P99_MS,
            "d_p50_factor_max": TARGET_D_FACTOR,
            "e1_ratio_min": TARGET_E1_RATIO,
            "e2_p99_ms_max": TARGET_E2_P99_MS,
        },
    }
    verdicts: dict[str, bool] = {}
    lines: list[str] = []
    profiles: dict[str, str | None] = {}

    # ============ server 1: (a), (b), (c), (e) on one server, back to back ============
    if set("abce") & set(a.only):
        hub = Hub(tmp_root / "data-abc", INGEST_KEY, hub_log, py, code_dir)
        log(f"starting hub (data dir {hub.data_dir})")
        hub.start()
        try:
            boot = loop_run(rawhttp.sign_in(hub.port, LOGIN, PASSWORD))
            if "a" in a.only or "e" in a.only:  # (e1) is a ratio to (a) from the same run
                log(f"(a) wrk hello: {a.conns} connections, {a.duration}s")
                ra = run_wrk(wrk, hub, "hello", a.conns, a.duration, run_id, len(senders))
                res["a_hello"] = ra
            if "b" in a.only:
                seq0 = loop_run(stored_last_seq(hub.port, boot))
                log(f"(b) wrk ingest: {a.conns} connections, {a.duration}s, {len(senders)} senders")
                prof = Profiler(a.profile, hub.pid, "b_ingest", a.duration)
                rb = run_wrk(wrk, hub, "ingest", a.conns, a.duration, run_id, len(senders))
                profiles["b"] = prof.finish()
                rb["stored"] = loop_run(stored_last_seq(hub.port, boot)) - seq0
                res["b_ingest"] = rb
            sessions: list[dict[str, str]] = []
            if "c" in a.only:
                log(f"(c) signing in {a.agents} agent sessions ({LOGIN})")
                sessions = loop_run(_sign_in_many(hub.port, a.agents))
                log(f"(c) {a.agents} sockets, {a.rate:.0f} msg/s for {a.ws_seconds:.0f}s")
                prof = Profiler(a.profile, hub.pid, "c_ws", a.ws_seconds + 2)
                meter = Meter(hub)
                rc = loop_run(
                    wslatency.run_ws_latency(hub.port, INGEST_KEY, sessions, run_id, senders, a.rate, a.ws_seconds)
                )
                cpu = meter.read()
                profiles["c"] = prof.finish()
                res["c_ws"] = {
                    "agents": rc.sockets,
                    "rate_target": rc.rate,
                    "rate_achieved": rc.achieved_rate,
                    "seconds": rc.duration_s,
                    "posts_planned": rc.planned,
                    "posts_sent": rc.sent,
                    "posts_2xx": rc.post_2xx,
                    "posts_non2xx": rc.post_non2xx,
                    "post_errors": rc.post_errors,
                    "expected_receipts": rc.expected,
                    "receipts": rc.received,
                    "missing": rc.missing,
                    "duplicates": rc.duplicates,
                    "sockets_closed_early": rc.closed_early,
                    "p50_ms": pct(rc.latencies_ms, 50),
                    "p90_ms": pct(rc.latencies_ms, 90),
                    "p99_ms": pct(rc.latencies_ms, 99),
                    "max_ms": max(rc.latencies_ms, default=float("nan")),
                    "post_ack_p50_ms": pct(rc.post_latency_ms, 50),
                    "post_ack_p99_ms": pct(rc.post_latency_ms, 99),
                    "receipt_minus_ack_p50_ms": pct(rc.after_ack_ms, 50),
                    "receipt_minus_ack_p99_ms": pct(rc.after_ack_ms, 99),
                    "send_lag_p99_ms": pct(rc.send_lag_ms, 99),
                    "send_lag_max_ms": max(rc.send_lag_ms, default=0.0),
                    "client_cpu_pct_during_send": 100 * rc.client_cpu_s / rc.wall_s,
                    "cpu": cpu,
                    "notes": rc.notes,
                }
            if "e" in a.only:
                try:
                    run_webchat_part(a, hub, wrk, run_id, boot, sessions, tmp_root, loop_run, res, profiles)
                except rawhttp.HttpError as exc:  # e.g. a --rev without the web-chat limit settings
                    log(f"(e) failed: {exc}")
                    res["e_error"] = str(exc)
        finally:
            hub.stop()

    # ============ server 2: (d) timeline reads at two sizes ============
    if "d" in a.only:
        res["d_timeline"] = run_timeline_part(a, tmp_root, hub_log, py, code_dir, loop_run, profiles)

    res["elapsed_s"] = time.perf_counter() - started
    res["profiles"] = profiles

    # ============ report ============
    lines.append(
        f"Puente bench  {res['when']}  git {res['git']}  {res['host']['cpus']} CPUs  "
        f"Python {res['host']['python']}  SQLite file, synchronous=FULL, 1 uvicorn worker"
        + ("  [QUICK: not comparable]" if a.quick else "")
    )
    if "a_hello" in res:
        ra = res["a_hello"]
        lines.append(
            f"(a) hello   POST /bench/hello        {ra['rate']:8.0f} req/s   p50 {ra['lat_p50_us'] / 1000:.1f} ms "
            f"p99 {ra['lat_p99_us'] / 1000:.1f} ms   non-2xx {ra['non2xx']}  socket errors {ra['socket_errors']}   "
            + _cpu(ra["cpu"])
        )
    if "b_ingest" in res:
        rb = res["b_ingest"]
        ratio = rb["rate"] / res["a_hello"]["rate"] if "a_hello" in res else float("nan")
        rb["ratio_to_hello"] = ratio
        ok = ratio >= TARGET_B_RATIO and rb["non2xx"] == 0 and rb["socket_errors"] == 0
        verdicts["b"] = ok
        lines.append(
            f"(b) ingest  POST /api/channels/api/messages {rb['rate']:6.0f} msg/s acked after commit = "
            f"{100 * ratio:.1f}% of (a)   [target >= {100 * TARGET_B_RATIO:.0f}%]  {_pf(ok)}"
        )
        lines.append(
            f"            p50 {rb['lat_p50_us'] / 1000:.1f} ms p99 {rb['lat_p99_us'] / 1000:.1f} ms   "
            f"201: {rb['n201']}  200(dup): {rb['n200']}  non-2xx: {rb['non2xx']}  socket errors: "
            f"{rb['socket_errors']}  events stored: {rb['stored']} (incl. those in flight when wrk stopped)"
        )
        lines.append("            " + _cpu(rb["cpu"]))
    if "c_ws" in res:
        rc = res["c_ws"]
        ok = (
            rc["p99_ms"] <= TARGET_C_P99_MS
            and rc["missing"] == 0
            and rc["posts_non2xx"] == 0
            and rc["post_errors"] == 0
            and rc["posts_sent"] == rc["posts_planned"]
        )
        verdicts["c"] = ok
        lines.append(
            f"(c) POST -> agent WebSocket, {rc['agents']} agents, {rc['rate_achieved']:.0f} msg/s x "
            f"{rc['seconds']:.0f}s: p50 {rc['p50_ms']:.1f} ms  p99 {rc['p99_ms']:.1f} ms  "
            f"[target p99 <= {TARGET_C_P99_MS:.0f} ms]  {_pf(ok)}"
        )
        lines.append(
            f"            receipts {rc['receipts']}/{rc['expected_receipts']}  missing {rc['missing']}  "
            f"dup {rc['duplicates']}  POSTs {rc['posts_sent']}/{rc['posts_planned']} non-2xx {rc['posts_non2xx']} "
            f"errors {rc['post_errors']}   "
            f"p90 {rc['p90_ms']:.1f} max {rc['max_ms']:.1f} ms   POST ack p50 {rc['post_ack_p50_ms']:.1f} "
            f"p99 {rc['post_ack_p99_ms']:.1f} ms   receipt - ack p50 {rc['receipt_minus_ack_p50_ms']:.1f} "
            f"p99 {rc['receipt_minus_ack_p99_ms']:.1f} ms   send lag p99 {rc['send_lag_p99_ms']:.1f} ms"
        )
        lines.append("            " + _cpu(rc["cpu"]))
        if rc["notes"]:
            lines.append(f"            notes: {'; '.join(rc['notes'])}")
    if "d_timeline" in res:
        rd = res["d_timeline"]
        small, large = rd["small"], rd["large"]
        factor = large["p50_ms"] / small["p50_ms"]
        rd["p50_factor"] = factor
        ok = factor <= TARGET_D_FACTOR and all(r["non2xx"] == 0 and r["not_50_events"] == 0 for r in (small, large))
        verdicts["d"] = ok
        lines.append(
            f"(d) last-50 timeline read (GET /api/patients/{{id}}/timeline?limit=50 as {LOGIN}, sequential, "
            f"{rd['reads']} reads of {rd['sample']} sampled patients out of {rd['patients']}):"
        )
        for r in (small, large):
            lines.append(
                f"            {r['events_stored']:>9,} events stored: p50 {r['p50_ms']:.2f} ms  "
                f"p99 {r['p99_ms']:.2f} ms  max {r['max_ms']:.1f} ms  non-2xx {r['non2xx']}  "
                f"short {r['not_50_events']}  (bulk load {r['load_s']:.1f}s)  " + _cpu(r["cpu"])
            )
        lines.append(
            f"            {_size(large['events_stored'])}/{_size(small['events_stored'])} p50 = {factor:.2f}x  "
            f"[target <= {TARGET_D_FACTOR}x]  {_pf(ok)}"
        )
    if "e1_webchat_ingest" in res:
        re1 = res["e1_webchat_ingest"]
        ratio = re1["rate"] / res["a_hello"]["rate"] if "a_hello" in res else float("nan")
        re1["ratio_to_hello"] = ratio
        ok = ratio >= TARGET_E1_RATIO and re1["non2xx"] == 0 and re1["socket_errors"] == 0
        verdicts["e1"] = ok
        lines.append(
            f"(e1) web chat  POST /api/webchat/messages {re1['rate']:6.0f} msg/s acked after commit = "
            f"{100 * ratio:.1f}% of (a)   [target >= {100 * TARGET_E1_RATIO:.0f}%]  {_pf(ok)}"
        )
        lines.append(
            f"            {re1['visitors']} visitors round-robin   p50 {re1['lat_p50_us'] / 1000:.1f} ms "
            f"p99 {re1['lat_p99_us'] / 1000:.1f} ms   201: {re1['n201']}  200(dup): {re1['n200']}  "
            f"non-2xx: {re1['non2xx']}  socket errors: {re1['socket_errors']}  events stored: {re1['stored']}"
        )
        lines.append(
            f"            web-chat limits raised to {WEBCHAT_LIMIT:,} (PUENTE_WEBCHAT_MESSAGES_PER_MINUTE, "
            "_SESSIONS_PER_HOUR, _CODES_PER_HOUR): the code path is measured, not the limiter"
        )
        lines.append("            " + _cpu(re1["cpu"]))
    if "e2_webchat_ws" in res:
        re2 = res["e2_webchat_ws"]
        ok = (
            max(re2["to_agent_p99_ms"], re2["to_visitor_p99_ms"]) <= TARGET_E2_P99_MS
            and re2["missing"] == 0
            and re2["posts_non2xx"] == 0
            and re2["post_errors"] == 0
            and re2["posts_sent"] == re2["posts_planned"]
        )
        verdicts["e2"] = ok
        lines.append(
            f"(e2) web chat, {re2['visitor_sockets']} visitor + {re2['agent_sockets']} agent sockets, "
            f"{re2['conversations']} conversations at {re2['rate_achieved']:.0f} msg/s x {re2['seconds']:.0f}s "
            f"[target p99 <= {TARGET_E2_P99_MS:.0f} ms, 0 missing]  {_pf(ok)}"
        )
        lines.append(
            f"            visitor POST -> agent stream: p50 {re2['to_agent_p50_ms']:.1f} ms  "
            f"p99 {re2['to_agent_p99_ms']:.1f} ms  max {re2['to_agent_max_ms']:.1f} ms   "
            f"receipts {re2['agent_receipts']}/{re2['expected_agent_receipts']}   "
            f"POST ack p50 {re2['visitor_ack_p50_ms']:.1f} p99 {re2['visitor_ack_p99_ms']:.1f} ms"
        )
        lines.append(
            f"            agent reply -> visitor socket: p50 {re2['to_visitor_p50_ms']:.1f} ms  "
            f"p99 {re2['to_visitor_p99_ms']:.1f} ms  max {re2['to_visitor_max_ms']:.1f} ms   "
            f"receipts {re2['visitor_receipts']}/{re2['expected_visitor_receipts']}   "
            f"POST ack p50 {re2['reply_ack_p50_ms']:.1f} p99 {re2['reply_ack_p99_ms']:.1f} ms"
        )
        lines.append(
            f"            missing {re2['missing']}  dup {re2['duplicates']}  POSTs {re2['posts_sent']}/"
            f"{re2['posts_planned']} non-2xx {re2['posts_non2xx']} errors {re2['post_errors']}   "
            f"send lag p99 {re2['send_lag_p99_ms']:.1f} ms   " + _cpu(re2["cpu"])
        )
        if re2["notes"]:
            lines.append(f"            notes: {'; '.join(re2['notes'])}")
    if "e_error" in res:
        verdicts["e"] = False
        lines.append(f"(e) web chat failed: {res['e_error']}")
    for part, path in profiles.items():
        if path:
            lines.append(f"    profile ({part}): {path}")
    res["verdicts"] = {k: ("PASS" if v else "MISS") for k, v in verdicts.items()}
    noisy = sorted({k for k, v in _phase_cpu(res).items() if v["other_cpu_pct"] > 25})
    res["noisy_phases"] = noisy
    if noisy:
        lines.append(
            f"WARNING: other processes used > 25% of a core during {', '.join(noisy)}: "
            "those figures understate the hub; re-run on a quiet machine"
        )
    lines.append(
        "targets: "
        + "  ".join(f"({k}) {'PASS' if v else 'MISS'}" for k, v in verdicts.items())
        + f"   total {res['elapsed_s']:.0f}s"
    )
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(res, indent=2, default=str) + "\n")
    lines.append(f"results: {out.relative_to(REPO)}")
    print("\n".join(lines), flush=True)

    if a.keep:
        log(f"kept {tmp_root}")
    else:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return 0 if all(verdicts.values()) else 1


def _phase_cpu(res: dict[str, Any]) -> dict[str, dict[str, float]]:
    out = {}
    for key, name in (
        ("a_hello", "(a)"),
        ("b_ingest", "(b)"),
        ("c_ws", "(c)"),
        ("e1_webchat_ingest", "(e1)"),
        ("e2_webchat_ws", "(e2)"),
    ):
        if key in res:
            out[name] = res[key]["cpu"]
    for size in ("small", "large"):
        if size in res.get("d_timeline", {}):
            out[f"(d {size})"] = res["d_timeline"][size]["cpu"]
    return out


def _cpu(c: dict[str, float]) -> str:
    """CPU in % of one core over the phase (200% = both cores)."""
    return (
        f"CPU: server {c['server_cpu_pct']:.0f}%  python client {c['client_cpu_pct']:.0f}%  "
        f"wrk/py-spy {c['wrk_cpu_pct']:.0f}%  other processes {c['other_cpu_pct']:.0f}%"
    )


def _git_rev(rev: str | None) -> str:
    """The revision benched: HEAD plus '+dirty' when the server's code (hub/, channels/) has
    uncommitted changes, or the --rev given."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    if rev:
        return (git("rev-parse", "--short", rev) or rev) + " (--rev)"
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--", "hub", "channels") else "")


def _size(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k" if n >= 1000 else str(n)


def _pf(ok: bool) -> str:
    return "PASS" if ok else "MISS"


_STATE: dict[str, Path] = {}

if __name__ == "__main__":
    try:
        sys.exit(main())
    except BaseException as exc:
        if not isinstance(exc, SystemExit) and "tmp_root" in _STATE:
            log(f"bench failed; data dirs and the server log (hub.log) are kept in {_STATE['tmp_root']}")
        raise

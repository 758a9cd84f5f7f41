"""The bench's web-chat (e) and timeline-read (d) parts, each against its own hub; bench/run.py runs them."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import bulkseed  # noqa: E402
import rawhttp  # noqa: E402
import webchat  # noqa: E402
from hubproc import WEBCHAT_LIMIT, Hub  # noqa: E402
from measure import (  # noqa: E402
    INGEST_KEY,
    LOGIN,
    PASSWORD,
    Meter,
    Profiler,
    agent_id_of,
    log,
    run_wrk,
    stored_last_seq,
    timeline_reads,
)
from wslatency import pct  # noqa: E402


async def _sign_in_many(port: int, n: int) -> list[dict[str, str]]:
    """n separate sessions of the same login (argon2 makes each ~0.1 s; two at a time)."""
    out: list[dict[str, str]] = []
    for i in range(0, n, 2):
        out += await asyncio.gather(*(rawhttp.sign_in(port, LOGIN, PASSWORD) for _ in range(min(2, n - i))))
    return out


def run_webchat_part(
    a: argparse.Namespace,
    hub: Hub,
    wrk: str,
    run_id: str,
    boot: dict[str, str],
    sessions: list[dict[str, str]],
    tmp_root: Path,
    loop_run: Any,
    res: dict[str, Any],
    profiles: dict[str, str | None],
) -> None:
    """(e1) wrk as many web-chat visitors; (e2) visitor and agent sockets, paced both ways."""
    log(f"(e1) starting {a.visitors} web-chat visitors")
    tokens = loop_run(webchat.start_visitors(hub.port, a.visitors, run_id))
    token_file = tmp_root / "webchat-tokens.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    seq0 = loop_run(stored_last_seq(hub.port, boot))
    log(f"(e1) wrk web-chat ingest: {a.conns} connections, {a.duration}s, {a.visitors} visitors")
    prof = Profiler(a.profile, hub.pid, "e1_webchat_ingest", a.duration)
    r1 = run_wrk(wrk, hub, "webchat", a.conns, a.duration, run_id, a.visitors, key=str(token_file))
    profiles["e1"] = prof.finish()
    r1["stored"] = loop_run(stored_last_seq(hub.port, boot)) - seq0
    r1["visitors"] = a.visitors
    r1["webchat_limits"] = WEBCHAT_LIMIT
    res["e1_webchat_ingest"] = r1

    log(f"(e2) starting {a.chat_visitors} web-chat visitors")
    tokens = loop_run(webchat.start_visitors(hub.port, a.chat_visitors, run_id + "s"))
    if len(sessions) < a.chat_agents:
        log(f"(e2) signing in {a.chat_agents - len(sessions)} agent sessions ({LOGIN})")
        sessions = sessions + loop_run(_sign_in_many(hub.port, a.chat_agents - len(sessions)))
    log(
        f"(e2) {a.chat_visitors} visitor + {a.chat_agents} agent sockets; {a.chat_convs} conversations, "
        f"{a.chat_rate:.0f} msg/s for {a.chat_seconds:.0f}s"
    )

    # The phase's CPU (and profile) cover the timed sending and the drain, not the set-up.
    phase: dict[str, Any] = {}

    def started() -> None:
        phase["prof"] = Profiler(a.profile, hub.pid, "e2_webchat_ws", a.chat_seconds + 1)
        phase["meter"] = Meter(hub)

    def finished() -> None:
        phase["cpu"] = phase["meter"].read()

    r2 = loop_run(
        webchat.run_chat_latency(
            hub.port,
            tokens,
            sessions[: a.chat_agents],
            run_id,
            a.chat_convs,
            a.chat_rate,
            a.chat_seconds,
            started=started,
            finished=finished,
        )
    )
    cpu = phase["cpu"]
    profiles["e2"] = phase["prof"].finish()
    res["e2_webchat_ws"] = {
        "visitor_sockets": r2.visitor_sockets,
        "agent_sockets": r2.agent_sockets,
        "conversations": r2.conversations,
        "rate_target": r2.rate,
        "rate_achieved": r2.achieved_rate,
        "seconds": r2.duration_s,
        "setup_s": r2.setup_s,
        "posts_planned": r2.planned,
        "posts_sent": r2.sent,
        "posts_2xx": r2.post_2xx,
        "posts_non2xx": r2.post_non2xx,
        "post_errors": r2.post_errors,
        "visitor_messages_2xx": r2.visitor_msgs_2xx,
        "replies_2xx": r2.replies_2xx,
        "expected_agent_receipts": r2.expected_agent,
        "agent_receipts": r2.received_agent,
        "expected_visitor_receipts": r2.expected_visitor,
        "visitor_receipts": r2.received_visitor,
        "missing": r2.missing,
        "duplicates": r2.duplicates,
        "sockets_closed_early": r2.closed_early,
        "to_agent_p50_ms": pct(r2.to_agent_ms, 50),
        "to_agent_p90_ms": pct(r2.to_agent_ms, 90),
        "to_agent_p99_ms": pct(r2.to_agent_ms, 99),
        "to_agent_max_ms": max(r2.to_agent_ms, default=float("nan")),
        "to_visitor_p50_ms": pct(r2.to_visitor_ms, 50),
        "to_visitor_p90_ms": pct(r2.to_visitor_ms, 90),
        "to_visitor_p99_ms": pct(r2.to_visitor_ms, 99),
        "to_visitor_max_ms": max(r2.to_visitor_ms, default=float("nan")),
        "visitor_ack_p50_ms": pct(r2.visitor_ack_ms, 50),
        "visitor_ack_p99_ms": pct(r2.visitor_ack_ms, 99),
        "reply_ack_p50_ms": pct(r2.reply_ack_ms, 50),
        "reply_ack_p99_ms": pct(r2.reply_ack_ms, 99),
        "send_lag_p99_ms": pct(r2.send_lag_ms, 99),
        "send_lag_max_ms": max(r2.send_lag_ms, default=0.0),
        "client_cpu_pct_during_send": 100 * r2.client_cpu_s / r2.wall_s if r2.wall_s else float("nan"),
        "cpu": cpu,
        "notes": r2.notes,
    }


def run_timeline_part(
    a: argparse.Namespace,
    tmp_root: Path,
    hub_log: Path,
    py: str,
    code_dir: Path,
    loop_run: Any,
    profiles: dict[str, str | None],
) -> dict[str, Any]:
    hub = Hub(tmp_root / "data-d", INGEST_KEY, hub_log, py, code_dir)
    log("(d) fresh hub: migrate and seed the demo clinic")
    hub.start()
    hub.stop()
    conn = bulkseed.connect(hub.db_path)
    patients = bulkseed.add_patients(conn, a.patients)
    author = agent_id_of(hub.db_path, "ana")
    # Small size: every sampled patient holds 55 events (a full last-50 page), the rest share what is left.
    step = a.patients // a.sample
    sampled = [i * step for i in range(a.sample)]
    counts = [0] * a.patients
    for i in sampled:
        counts[i] = 55
    others = [i for i in range(a.patients) if counts[i] == 0]
    rest = a.small - bulkseed.count_events(conn) - sum(counts)
    for k in range(max(rest, 0)):
        counts[others[k % len(others)]] += 1
    added, secs = bulkseed.add_events(conn, patients, bulkseed.interleave(counts), author)
    small_total = bulkseed.count_events(conn)
    bulkseed.checkpoint(conn)
    log(f"(d) stored {small_total:,} events ({added:,} bulk-loaded in {secs:.1f}s) over {a.patients} patients")
    sample_ids = [patients[i].patient_id for i in sampled]
    out: dict[str, Any] = {
        "patients": a.patients,
        "sample": len(sample_ids),
        "reads": a.reads,
        "sample_patient_ids": [sample_ids[0], sample_ids[-1]],
    }

    def measure(name: str, total: int, load_s: float, profile: bool) -> None:
        hub.start()
        try:
            cookies = loop_run(rawhttp.sign_in(hub.port, LOGIN, PASSWORD))
            prof = Profiler(profile, hub.pid, f"d_{name}", 8) if profile else None
            meter = Meter(hub)
            r = loop_run(timeline_reads(hub.port, cookies, sample_ids, a.reads, seed=42))
            r["cpu"] = meter.read()
            if prof:
                profiles[f"d_{name}"] = prof.finish()
        finally:
            hub.stop()
        r.update(events_stored=total, load_s=load_s)
        out[name] = r

    conn.close()
    log(f"(d) {a.reads} timeline reads with {small_total:,} events")
    measure("small", small_total, secs, False)

    conn = bulkseed.connect(hub.db_path)
    n = a.large - bulkseed.count_events(conn)
    log(f"(d) bulk-loading {n:,} more events")
    added, secs = bulkseed.add_events(conn, patients, bulkseed.round_robin(n, a.patients), author)
    large_total = bulkseed.count_events(conn)
    bulkseed.checkpoint(conn)
    conn.close()
    log(f"(d) stored {large_total:,} events ({added:,} in {secs:.1f}s); {a.reads} timeline reads")
    measure("large", large_total, secs, a.profile)
    return out

"""(c) inbound POST -> agent WebSocket receipt latency.

N agent sockets (each its own signed-in session) connect to /api/stream?after=<last_seq> and
wait for `ready`. Then messages are POSTed open-loop at a fixed rate: message i is due at
t0 + i/rate whatever happened to earlier ones (a late client catches up at once). For every
(socket, message) pair the latency is the socket's receipt time minus the moment the POST's
bytes were written. Both instants come from time.perf_counter() in this one process.

Kept cheap: pre-built request bytes, a raw keep-alive HTTP client, frames taken as bytes
(no UTF-8 decode, no JSON parse: the provider id is found with bytes.find), no compression.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

import websockets
from rawhttp import Conn
from websockets.asyncio.client import ClientConnection, connect


@dataclass
class WsResult:
    sockets: int
    rate: float
    duration_s: float
    planned: int = 0
    sent: int = 0
    post_2xx: int = 0
    post_non2xx: int = 0
    post_errors: int = 0
    expected: int = 0
    received: int = 0
    missing: int = 0
    duplicates: int = 0
    closed_early: int = 0
    latencies_ms: array = field(default_factory=lambda: array("d"))
    send_lag_ms: array = field(default_factory=lambda: array("d"))  # actual send - scheduled
    post_latency_ms: array = field(default_factory=lambda: array("d"))  # POST write -> 2xx answer
    after_ack_ms: array = field(default_factory=lambda: array("d"))  # receipt - the POST's answer (may be < 0)
    achieved_rate: float = 0.0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _body(run: str, i: int, senders: list[str]) -> bytes:
    sender = senders[i % len(senders)]
    return (
        f'{{"provider_message_id":"c-{run}-{i}","from":{{"kind":"phone","address":"{sender}"}},'
        f'"text":"Hi, can I get a call back about my test results? ({i})"}}'
    ).encode()


async def run_ws_latency(
    port: int,
    ingest_key: str,
    sessions: list[dict[str, str]],
    run: str,
    senders: list[str],
    rate: float = 300.0,
    duration_s: float = 10.0,
    max_conns: int = 64,
    drain_s: float = 10.0,
) -> WsResult:
    n_msgs = int(rate * duration_s)
    res = WsResult(sockets=len(sessions), rate=rate, duration_s=duration_s, planned=n_msgs)

    # --- the agents' sockets -------------------------------------------------------------
    probe = Conn(port, dict(sessions[0]))
    last_seq = (await probe.json("GET", "/api/conversations"))["last_seq"]
    probe.close()
    url = f"ws://127.0.0.1:{port}/api/stream?after={last_seq}"
    sockets: list[ClientConnection] = []
    for s in sessions:
        cookie = "; ".join(f"{k}={v}" for k, v in s.items())
        ws = await connect(
            url,
            additional_headers={"Cookie": cookie},
            compression=None,
            open_timeout=20,
            ping_interval=None,
            max_size=2**20,
            max_queue=None,
        )
        sockets.append(ws)
    for ws in sockets:  # each says `ready` once its (empty) backfill is done
        for _ in range(10_000):
            frame = await asyncio.wait_for(ws.recv(decode=False), 20)
            if b'"type":"ready"' in frame:
                break

    sent_at = array("d", [0.0]) * n_msgs
    acked_at = array("d", [0.0]) * n_msgs
    recv_at = [array("d", [0.0]) * n_msgs for _ in sessions]
    seen = [bytearray(n_msgs) for _ in sockets]
    lat = res.latencies_ms
    mark = f'"provider_message_id":"c-{run}-'.encode()
    mlen = len(mark)
    perf = time.perf_counter
    counts = [0] * len(sockets)
    dups = [0]

    async def receive(idx: int, ws: ClientConnection) -> None:
        flags = seen[idx]
        times = recv_at[idx]
        got = 0
        try:
            for _ in range(n_msgs * 4 + 1000):  # bounded: more frames than we can expect
                data = await ws.recv(decode=False)
                t = perf()
                j = data.find(mark)
                if j < 0:
                    continue
                j += mlen
                i = int(data[j : data.index(b'"', j)])
                if i >= n_msgs or sent_at[i] == 0.0:
                    continue
                if flags[i]:
                    dups[0] += 1
                    continue
                flags[i] = 1
                times[i] = t
                got += 1
                counts[idx] = got
                lat.append((t - sent_at[i]) * 1000.0)
        except websockets.ConnectionClosed as exc:
            res.closed_early += 1
            if len(res.notes) < 5:
                res.notes.append(f"socket {idx} closed early: {exc}")

    receivers = [asyncio.create_task(receive(i, ws)) for i, ws in enumerate(sockets)]

    # --- the open-loop sender --------------------------------------------------------------
    auth = {"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/json"}
    builder = Conn(port)
    requests = [
        builder.build("POST", "/api/channels/api/messages", _body(run, i, senders), auth) for i in range(n_msgs)
    ]
    # A pool of keep-alive connections: 16 opened up front, more (up to max_conns) only if all
    # are busy, so a slow answer never delays the next message's send.
    idle: asyncio.Queue[Conn] = asyncio.Queue()
    pool = [Conn(port) for _ in range(16)]
    for c in pool:
        await c._ensure()
        idle.put_nowait(c)
    inflight: set[asyncio.Task[None]] = set()
    post_lat = res.post_latency_ms

    async def acquire() -> Conn:
        if idle.empty() and len(pool) < max_conns:
            c = Conn(port)
            pool.append(c)
            return c
        return await asyncio.wait_for(idle.get(), 30)

    async def post(i: int) -> None:
        c: Conn | None = None
        try:
            c = await acquire()
            await c._ensure()
            t = perf()
            sent_at[i] = t
            await c.send_raw(requests[i])
            status, _, _ = await c.read_response()
            if 200 <= status < 300:
                res.post_2xx += 1
                acked_at[i] = perf()
                post_lat.append((acked_at[i] - t) * 1000.0)
            else:
                res.post_non2xx += 1
                if len(res.notes) < 5:
                    res.notes.append(f"POST {i} -> HTTP {status}")
        except Exception as exc:  # noqa: BLE001 - counted and reported
            res.post_errors += 1
            if c is not None:
                c.close()
            if len(res.notes) < 5:
                res.notes.append(f"POST {i} failed: {exc!r}")
        finally:
            if c is not None:
                idle.put_nowait(c)

    cpu0 = time.process_time()
    t0 = perf() + 0.05
    for i in range(n_msgs):
        due = t0 + i / rate
        delay = due - perf()
        if delay > 0:
            await asyncio.sleep(delay)
        res.send_lag_ms.append((perf() - due) * 1000.0)
        task = asyncio.create_task(post(i))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
    t_last = perf()
    res.achieved_rate = n_msgs / max(t_last - t0, 1e-9)
    if inflight:
        await asyncio.wait(list(inflight), timeout=30)
    res.sent = sum(1 for t in sent_at if t)
    if res.sent != n_msgs:
        res.notes.append(f"{n_msgs - res.sent} messages never sent")

    # --- wait for every socket to hold every message (bounded) --------------------------------
    expected_each = res.post_2xx
    deadline = perf() + drain_s
    while perf() < deadline:
        if all(c >= expected_each for c in counts) or all(r.done() for r in receivers):
            break
        await asyncio.sleep(0.02)
    res.wall_s = perf() - t0
    res.client_cpu_s = time.process_time() - cpu0
    for r in receivers:
        r.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    for ws in sockets:
        await ws.close()
    for c in pool:
        c.close()

    res.expected = expected_each * len(sockets)
    res.received = sum(counts)
    res.missing = res.expected - res.received
    res.duplicates = dups[0]
    for times in recv_at:
        for i in range(n_msgs):
            if times[i] and acked_at[i]:
                res.after_ack_ms.append((times[i] - acked_at[i]) * 1000.0)
    return res


def pct(values: Any, p: float) -> float:
    """Nearest-rank percentile of a sequence (0 < p <= 100)."""
    if not len(values):
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]

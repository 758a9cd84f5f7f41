"""The live floor's update latency: an inbound message -> the floor frame that counts it, at
supervisors' sockets, on a real hub (one uvicorn process, SQLite, in-process fan-out) on 127.0.0.1.

    .venv/bin/python bench/floor.py                        # 200 messages, 1 and 10 supervisor sockets
    .venv/bin/python bench/floor.py --messages 500 --sockets 1,10,50

Each supervisor socket is its own `sofia` session on /api/stream. Messages are sent one at a time
on the API channel, each from a new number (+1 628 2xx-xxxx) (a new conversation, with nobody assigned: the floor's
"No team" waiting count moves by one), a fresh one after the previous was seen on every socket plus
a pause (`--gap-ms`, default 50), so the figure is the path's latency, not a queue's. Latency = the
receipt of the first floor frame whose count includes the message, minus the moment before the
POST was written (both perf_counter in this process). Also printed: the POST's own latency
(commit), and GET /api/floor p50/p99 (the recompute a frame costs) with what the database holds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hubproc import Hub  # noqa: E402

PASSWORD = "puente-sofia-demo"
NUMBERS = itertools.count(2_000_000)  # +1 628 200-0000 onwards: none of the demo's patients


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def no_team_waiting(floor: dict) -> int:
    return next((t["waiting"] for t in floor["teams"] if t["id"] is None), 0)


async def sign_in(base: str) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=base, timeout=10)
    await c.get("/api/health")
    await c.get("/api/auth/me")  # a safe request sets the CSRF cookie
    r = await c.post(
        "/api/auth/login",
        json={"login": "sofia", "password": PASSWORD},
        headers={"x-csrf-token": c.cookies.get("puente_csrf") or ""},
    )
    r.raise_for_status()
    return c


class Watcher:
    """One supervisor socket: the latest "No team" waiting count and when each count was first seen."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.frames = 0
        self.changed = asyncio.Event()

    async def run(self, ws) -> None:  # noqa: ANN001
        async for raw in ws:
            at = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") != "floor":
                continue
            self.frames += 1
            self.seen.setdefault(no_team_waiting(frame["floor"]), at)
            self.changed.set()


async def run(hub: Hub, messages: int, sockets: int, gap_s: float, key: str) -> dict:
    sessions = [await sign_in(hub.base) for _ in range(sockets)]
    last_seq = (await sessions[0].get("/api/conversations")).json()["last_seq"]
    watchers, tasks, conns = [], [], []
    for c in sessions:
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        ws = await connect(
            f"ws://127.0.0.1:{hub.port}/api/stream?after={last_seq}",
            additional_headers={"Cookie": cookie},
            max_size=2**22,
        )
        await ws.send(json.dumps({"type": "floor", "watching": True}))  # as the inbox does on #/floor
        w = Watcher()
        conns.append(ws)
        watchers.append(w)
        tasks.append(asyncio.create_task(w.run(ws)))
    start = no_team_waiting((await sessions[0].get("/api/floor")).json())
    api = httpx.AsyncClient(base_url=hub.base, timeout=10, headers={"authorization": f"Bearer {key}"})
    run_id = uuid.uuid4().hex[:6]
    latencies, posts = [], []
    for i in range(messages):
        want = start + i + 1
        body = {
            "provider_message_id": f"floor-{run_id}-{i}",
            "from": {"kind": "phone", "address": f"+1628{next(NUMBERS)}"},  # a new patient each time
            "text": "Hello, a question about my appointment",
        }
        t0 = time.perf_counter()
        r = await api.post("/api/channels/api/messages", json=body)
        posts.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.text
        deadline = t0 + 10
        for w in watchers:
            while want not in w.seen:
                w.changed.clear()
                if want in w.seen:
                    break
                try:
                    await asyncio.wait_for(w.changed.wait(), max(0.01, deadline - time.perf_counter()))
                except TimeoutError:
                    seen = sorted(w.seen)[-5:]
                    raise SystemExit(f"message {i}: no floor frame counting {want} (seen {seen})") from None
            latencies.append((w.seen[want] - t0) * 1000)
        await asyncio.sleep(gap_s)
    reads = []
    for _ in range(100):
        t0 = time.perf_counter()
        floor = (await sessions[0].get("/api/floor")).json()
        reads.append((time.perf_counter() - t0) * 1000)
    for t in tasks:
        t.cancel()
    for ws in conns:
        await ws.close()
    for c in [*sessions, api]:
        await c.aclose()
    return {
        "sockets": sockets,
        "messages": messages,
        "latency_ms": latencies,
        "post_ms": posts,
        "read_ms": reads,
        "open": floor["assistant"]["open"],
        "frames": sum(w.frames for w in watchers),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--sockets", default="1,10")
    ap.add_argument("--gap-ms", type=float, default=50)
    args = ap.parse_args()
    key = "pk_bench_" + uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="puente-floor-bench-") as tmp:
        hub = Hub(Path(tmp), key, Path(tmp) / "hub.log")
        hub.start()
        try:
            for n in (int(x) for x in args.sockets.split(",")):
                res = asyncio.run(run(hub, args.messages, n, args.gap_ms / 1000, key))
                lat, post, read = res["latency_ms"], res["post_ms"], res["read_ms"]
                print(
                    f"floor update, {n:>3} supervisor socket(s), {res['messages']} messages: "
                    f"p50 {statistics.median(lat):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  max {max(lat):6.1f} ms "
                    f"| POST (commit) p50 {statistics.median(post):5.1f} ms "
                    f"| GET /api/floor p50 {statistics.median(read):5.1f} ms p99 {pct(read, 99):5.1f} ms "
                    f"with {res['open']} open conversations | {res['frames']} floor frames"
                )
        finally:
            hub.stop()


if __name__ == "__main__":
    main()

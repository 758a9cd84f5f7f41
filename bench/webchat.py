"""(e) web chat: visitors as the widget behaves (tests/support/webchat.py), on the bench server.

(e1) needs visitor tokens for wrk: `start_visitors` starts chats (POST /api/webchat/sessions)
and bench/run.py writes the tokens to a file that wrk_post.lua's `webchat` mode reads.

(e2) `run_chat_latency`: V visitor sockets (/api/webchat/socket, `hello` then `ready`) and A
agent sockets (/api/stream?after=<last_seq>, each its own signed-in session). C of the visitors
each send one untimed message first, which opens their conversation (its id is read from an
agent socket). Then messages go out open-loop at a fixed rate, slot i due at t0 + i/rate,
whatever happened to earlier ones: even slots are a visitor's message (POST
/api/webchat/messages, conversation i/2 mod C), odd slots an agent's reply (POST
/api/conversations/{id}/messages, channel webchat, conversation (i/2 + C/2) mod C, i.e. the
one whose visitor wrote half a cycle earlier; conversation k's replies come from agent session
k mod A, with its CSRF token).
Latencies: a visitor message's POST write -> its receipt on every agent socket; a reply's POST
write -> its receipt on that visitor's socket. Every expected receipt must arrive.

Kept cheap as (c) is: pre-built request bytes, raw keep-alive HTTP, frames taken as bytes and
searched for a marker (the widget id in the provider id, a tag in the reply's text), no
compression.
"""

from __future__ import annotations

import asyncio
import json
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from rawhttp import Conn, HttpError
from websockets.asyncio.client import ClientConnection, connect

WS_OPTS: dict[str, Any] = {"compression": None, "open_timeout": 20, "ping_interval": None, "max_queue": None}


async def start_visitors(port: int, n: int, run: str, parallel: int = 16) -> list[str]:
    """n new web-chat visitors (one patient record each); their tokens."""
    tokens: list[str] = [""] * n
    next_i = iter(range(n))

    async def worker() -> None:
        c = Conn(port)
        try:
            for i in next_i:
                try:
                    name = {"name": f"Bench Visitor {run} {i}"}
                    body = await c.json("POST", "/api/webchat/sessions", name, expect=201)
                except HttpError as exc:
                    if " 429:" in str(exc):
                        raise HttpError(
                            f"{exc}: the server did not take PUENTE_WEBCHAT_SESSIONS_PER_HOUR "
                            "(a revision older than the setting?)"
                        ) from None
                    raise
                tokens[i] = body["token"]
        finally:
            c.close()

    await asyncio.gather(*(worker() for _ in range(min(parallel, n))))
    return tokens


@dataclass
class ChatResult:
    visitor_sockets: int
    agent_sockets: int
    conversations: int
    rate: float
    duration_s: float
    planned: int = 0
    sent: int = 0
    post_2xx: int = 0
    post_non2xx: int = 0
    post_errors: int = 0
    visitor_msgs_2xx: int = 0
    replies_2xx: int = 0
    expected_agent: int = 0  # visitor messages x agent sockets
    received_agent: int = 0
    expected_visitor: int = 0  # replies x 1 (the visitor's socket)
    received_visitor: int = 0
    duplicates: int = 0
    closed_early: int = 0
    to_agent_ms: array = field(default_factory=lambda: array("d"))  # visitor POST write -> agent socket
    to_visitor_ms: array = field(default_factory=lambda: array("d"))  # reply POST write -> visitor socket
    visitor_ack_ms: array = field(default_factory=lambda: array("d"))  # visitor POST -> 201
    reply_ack_ms: array = field(default_factory=lambda: array("d"))  # reply POST -> 2xx
    send_lag_ms: array = field(default_factory=lambda: array("d"))
    achieved_rate: float = 0.0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0
    setup_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return self.expected_agent - self.received_agent + self.expected_visitor - self.received_visitor


async def _visitor_socket(port: int, token: str) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{port}/api/webchat/socket", max_size=2**20, **WS_OPTS)
    await ws.send(json.dumps({"type": "hello", "token": token, "after": 0}))
    for _ in range(1000):
        if b'"type":"ready"' in await asyncio.wait_for(ws.recv(decode=False), 20):
            return ws
    raise RuntimeError("a visitor socket never said ready")


async def _agent_socket(port: int, session: dict[str, str], after: int) -> ClientConnection:
    cookie = "; ".join(f"{k}={v}" for k, v in session.items())
    ws = await connect(
        f"ws://127.0.0.1:{port}/api/stream?after={after}",
        additional_headers={"Cookie": cookie},
        max_size=2**20,
        **WS_OPTS,
    )
    for _ in range(10_000):
        if b'"type":"ready"' in await asyncio.wait_for(ws.recv(decode=False), 20):
            return ws
    raise RuntimeError("an agent socket never said ready")


def _int_at(data: bytes, j: int, end: bytes) -> int:
    return int(data[j : data.index(end, j)])


async def run_chat_latency(
    port: int,
    tokens: list[str],
    sessions: list[dict[str, str]],
    run: str,
    conversations: int = 50,
    rate: float = 100.0,
    duration_s: float = 10.0,
    max_conns: int = 64,
    drain_s: float = 10.0,
    started: Callable[[], None] | None = None,
    finished: Callable[[], None] | None = None,
) -> ChatResult:
    n_msgs = int(rate * duration_s)
    n_conv = min(conversations, len(tokens))
    n_agents = len(sessions)
    res = ChatResult(len(tokens), n_agents, n_conv, rate, duration_s, planned=n_msgs)
    perf = time.perf_counter
    setup0 = perf()

    # --- sockets ---------------------------------------------------------------------------------
    probe = Conn(port, dict(sessions[0]))
    last_seq = (await probe.json("GET", "/api/conversations?limit=1"))["last_seq"]
    probe.close()
    visitors: list[ClientConnection] = []
    for i in range(0, len(tokens), 20):  # 20 handshakes at a time
        visitors += await asyncio.gather(*(_visitor_socket(port, t) for t in tokens[i : i + 20]))
    agents = [await _agent_socket(port, s, last_seq) for s in sessions]

    # --- each talking visitor's first message opens their conversation (not timed) ---------------
    warm = f"ew-{run}-"
    c = Conn(port)
    try:
        for k in range(n_conv):
            await c.json(
                "POST",
                "/api/webchat/messages",
                {"id": f"{warm}{k}", "text": "Hello, I have a question about my appointment."},
                headers={"Authorization": f"Bearer {tokens[k]}"},
                expect=201,
            )
    finally:
        c.close()
    conv_ids: dict[int, int] = {}
    deadline = perf() + 20
    while len(conv_ids) < n_conv and perf() < deadline:
        frame = json.loads(await asyncio.wait_for(agents[0].recv(decode=False), 20))
        event = frame.get("event") or {}
        pid = event.get("provider_message_id") or ""
        if frame.get("type") == "event" and f"/{warm}" in pid:
            conv_ids[int(pid.rsplit("-", 1)[1])] = event["conversation_id"]
    if len(conv_ids) < n_conv:
        raise RuntimeError(f"(e2) only {len(conv_ids)} of {n_conv} warm-up messages reached the agent stream")

    # --- the timed messages -------------------------------------------------------------------------
    # Even slots: a visitor's message; odd slots: an agent's reply to the conversation whose
    # visitor wrote half a cycle (C/2 slot pairs) earlier. Every conversation then gets one
    # message each way per C/rate*2 seconds, and the mix is even at every moment.
    is_reply = [i % 2 == 1 for i in range(n_msgs)]
    conv_of = [(i // 2 + (n_conv // 2 if i % 2 else 0)) % n_conv for i in range(n_msgs)]
    builders = [Conn(port, dict(s)) for s in sessions]  # build() only: the Cookie header
    plain = Conn(port)
    requests: list[bytes] = []
    for i in range(n_msgs):
        k = conv_of[i]
        if is_reply[i]:
            s = sessions[k % n_agents]
            body = json.dumps({"text": f"Yes, we are open 9 to 12 on Saturdays. [er-{run}-{i}]", "channel": "webchat"})
            requests.append(
                builders[k % n_agents].build(
                    "POST",
                    f"/api/conversations/{conv_ids[k]}/messages",
                    body.encode(),
                    {"Content-Type": "application/json", "x-csrf-token": s["puente_csrf"]},
                )
            )
        else:
            body = json.dumps({"id": f"ev-{run}-{i}", "text": f"Is the clinic open on Saturday morning? ({i})"})
            requests.append(
                plain.build(
                    "POST",
                    "/api/webchat/messages",
                    body.encode(),
                    {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[k]}"},
                )
            )

    sent_at = array("d", [0.0]) * n_msgs
    acked = bytearray(n_msgs)
    agent_seen = [bytearray(n_msgs) for _ in agents]
    agent_counts = [0] * n_agents
    visitor_seen = bytearray(n_msgs)
    visitor_counts = [0] * n_conv
    dups = [0]
    v_mark = f"/ev-{run}-".encode()  # in the provider id of a visitor's message (agent stream)
    r_mark = f"[er-{run}-".encode()  # in the text of a reply (visitor socket)
    to_agent, to_visitor = res.to_agent_ms, res.to_visitor_ms

    async def agent_receiver(idx: int, ws: ClientConnection) -> None:
        flags = agent_seen[idx]
        try:
            while True:
                data = await ws.recv(decode=False)
                t = perf()
                j = data.find(v_mark)
                if j < 0:
                    continue
                i = _int_at(data, j + len(v_mark), b'"')
                if i >= n_msgs or sent_at[i] == 0.0 or is_reply[i]:
                    continue
                if flags[i]:
                    dups[0] += 1
                    continue
                flags[i] = 1
                agent_counts[idx] += 1
                to_agent.append((t - sent_at[i]) * 1000.0)
        except websockets.ConnectionClosed as exc:
            res.closed_early += 1
            if len(res.notes) < 5:
                res.notes.append(f"agent socket {idx} closed early: {exc}")

    async def visitor_receiver(k: int, ws: ClientConnection) -> None:
        try:
            while True:
                data = await ws.recv(decode=False)
                t = perf()
                j = data.find(r_mark)
                if j < 0:
                    continue
                i = _int_at(data, j + len(r_mark), b"]")
                if i >= n_msgs or sent_at[i] == 0.0 or not is_reply[i] or conv_of[i] != k:
                    continue
                if visitor_seen[i]:
                    dups[0] += 1
                    continue
                visitor_seen[i] = 1
                visitor_counts[k] += 1
                to_visitor.append((t - sent_at[i]) * 1000.0)
        except websockets.ConnectionClosed as exc:
            res.closed_early += 1
            if len(res.notes) < 5:
                res.notes.append(f"visitor socket {k} closed early: {exc}")

    receivers = [asyncio.create_task(agent_receiver(i, ws)) for i, ws in enumerate(agents)]
    receivers += [asyncio.create_task(visitor_receiver(k, ws)) for k, ws in enumerate(visitors)]

    idle: asyncio.Queue[Conn] = asyncio.Queue()
    pool = [Conn(port) for _ in range(16)]
    for conn in pool:
        await conn._ensure()
        idle.put_nowait(conn)
    inflight: set[asyncio.Task[None]] = set()

    async def acquire() -> Conn:
        if idle.empty() and len(pool) < max_conns:
            conn = Conn(port)
            pool.append(conn)
            return conn
        return await asyncio.wait_for(idle.get(), 30)

    async def post(i: int) -> None:
        conn: Conn | None = None
        try:
            conn = await acquire()
            await conn._ensure()
            t = perf()
            sent_at[i] = t
            await conn.send_raw(requests[i])
            status, _, body = await conn.read_response()
            if 200 <= status < 300:
                res.post_2xx += 1
                acked[i] = 1
                if is_reply[i]:
                    res.replies_2xx += 1
                    res.reply_ack_ms.append((perf() - t) * 1000.0)
                else:
                    res.visitor_msgs_2xx += 1
                    res.visitor_ack_ms.append((perf() - t) * 1000.0)
            else:
                res.post_non2xx += 1
                if len(res.notes) < 5:
                    res.notes.append(f"POST {i} -> HTTP {status}: {body[:200]!r}")
        except Exception as exc:  # noqa: BLE001 - counted and reported
            res.post_errors += 1
            if conn is not None:
                conn.close()
            if len(res.notes) < 5:
                res.notes.append(f"POST {i} failed: {exc!r}")
        finally:
            if conn is not None:
                idle.put_nowait(conn)

    res.setup_s = perf() - setup0
    if started is not None:
        started()
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
    res.achieved_rate = n_msgs / max(perf() - t0, 1e-9)
    if inflight:
        await asyncio.wait(list(inflight), timeout=30)
    res.sent = sum(1 for t in sent_at if t)
    if res.sent != n_msgs:
        res.notes.append(f"{n_msgs - res.sent} messages never sent")

    # --- wait for every expected receipt (bounded) ------------------------------------------------------
    replies_for = [0] * n_conv
    for i in range(n_msgs):
        if acked[i] and is_reply[i]:
            replies_for[conv_of[i]] += 1
    deadline = perf() + drain_s
    while perf() < deadline:
        if all(c >= res.visitor_msgs_2xx for c in agent_counts) and all(
            visitor_counts[k] >= replies_for[k] for k in range(n_conv)
        ):
            break
        if all(r.done() for r in receivers):
            break
        await asyncio.sleep(0.02)
    res.wall_s = perf() - t0
    res.client_cpu_s = time.process_time() - cpu0
    if finished is not None:
        finished()
    for r in receivers:
        r.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    for ws in [*agents, *visitors]:
        await ws.close()
    for conn in pool:
        conn.close()

    res.expected_agent = res.visitor_msgs_2xx * n_agents
    res.received_agent = sum(agent_counts)
    res.expected_visitor = res.replies_2xx
    res.received_visitor = sum(visitor_counts)
    res.duplicates = dups[0]
    return res

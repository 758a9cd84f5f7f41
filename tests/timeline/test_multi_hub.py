"""Two hub processes on one PostgreSQL database: the database, not the pub/sub channel, is the
source of truth, so an agent on one hub sees every event committed through either, in order,
even when the channel loses messages or never carries them."""

from __future__ import annotations

import subprocess
import threading
import time

import httpx

from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import HubServer, hub_settings
from tests.support.services import PostgresDatabase, redis_url
from tests.support.stream import StreamClient, in_threads


def _two_hubs(tmp_path, redis: str = "", shared_channel: bool = False) -> tuple[PostgresDatabase, HubServer, HubServer]:
    pg = PostgresDatabase()
    a_settings = hub_settings(tmp_path / "a", db_url=pg.url, redis_url=redis)
    b_settings = hub_settings(tmp_path / "b", db_url=pg.url, redis_url=redis)
    if shared_channel:
        from dataclasses import replace

        b_settings = replace(b_settings, realtime=a_settings.realtime, security=a_settings.security)
    a = HubServer(a_settings).start()
    b = HubServer(b_settings).start()
    return pg, a, b


def _post_alternately(a: HubServer, b: HubServer, prefix: str, n: int) -> list[dict]:
    clients = [httpx.Client(base_url=a.base_url, timeout=20), httpx.Client(base_url=b.base_url, timeout=20)]

    def one(i: int) -> dict:
        r = post_inbound(
            clients[i % 2], inbound(f"{prefix} {i}", f"{prefix}-{i}", address=f"+1650555{600 + i % 9:04d}")
        )
        assert r.status_code == 201, r.text
        return r.json()

    try:
        return in_threads(one, list(range(n)), threads=6)
    finally:
        for c in clients:
            c.close()


def test_events_committed_by_another_hub_reach_this_hubs_agents(tmp_path):
    pg, a, b = _two_hubs(tmp_path)  # separate in-process channels: nothing of b's reaches a's
    try:
        sofia = Staff(a.base_url, "sofia")
        start = sofia.get("/api/conversations").json()["last_seq"]
        stream = StreamClient(a.ws_url, sofia, after=start).open()
        stream.read_until_ready()
        acks = _post_alternately(a, b, "two-hubs", 60)
        stream.drain_until(max(x["seq"] for x in acks), timeout=20)
        seqs = [f["seq"] for f in stream.events]
        assert seqs == sorted(set(seqs)), "out of order or duplicated"
        assert {x["seq"] for x in acks} <= set(seqs)
        assert a.hub.fanout.gaps_filled >= 30  # b's events came from the database
        stream.close()
    finally:
        a.stop()
        b.stop()
        pg.drop()


def test_a_redis_hiccup_loses_no_live_event(tmp_path):
    pg, a, b = _two_hubs(tmp_path, redis=redis_url(), shared_channel=True)
    try:
        sofia = Staff(a.base_url, "sofia")
        start = sofia.get("/api/conversations").json()["last_seq"]
        stream = StreamClient(a.ws_url, sofia, after=start).open()
        stream.read_until_ready()
        acks: list[dict] = []
        sender = threading.Thread(target=lambda: acks.extend(_post_alternately(a, b, "hiccup", 120)))
        sender.start()
        for _ in range(3):  # cut every subscriber's connection to Redis in the middle of the traffic
            time.sleep(0.3)
            subprocess.run(
                ["redis-cli", "-h", "127.0.0.1", "CLIENT", "KILL", "TYPE", "pubsub"], check=True, capture_output=True
            )
        sender.join()
        stream.drain_until(max(x["seq"] for x in acks), timeout=30)
        seqs = [f["seq"] for f in stream.events]
        assert seqs == sorted(set(seqs))
        assert {x["seq"] for x in acks} <= set(seqs)
        stream.close()
    finally:
        a.stop()
        b.stop()
        pg.drop()

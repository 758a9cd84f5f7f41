"""PostgreSQL going away under load: for ten seconds every connection of the hub is killed and new
ones are refused, during a burst of inbound messages. Every answer is 201/200 (stored) or 503 with
Retry-After (nothing stored, retry): never a 500. Nothing acknowledged is lost, and once the database
is back the hub serves again on its own."""

from __future__ import annotations

import threading
import time

import httpx

from hub.errors import is_storage_outage
from tests.bot.test_bot_edges import _sql
from tests.support.clients import inbound, post_inbound
from tests.support.server import HubServer, hub_settings
from tests.support.services import PostgresDatabase, _psql

OUTAGE_S = 10.0
BURST_S = OUTAGE_S + 6.0
SENDERS = 6


def test_a_postgresql_outage_answers_503_never_500_and_loses_nothing_acked(tmp_path):
    pg = PostgresDatabase()
    hub = HubServer(hub_settings(tmp_path, db_url=pg.url)).start()
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:

        def sender(k: int) -> None:
            n = 0
            with httpx.Client(base_url=hub.base_url, timeout=60) as http:
                while not stop.is_set():
                    n += 1
                    pid = f"outage-{k}-{n}"
                    try:
                        r = post_inbound(http, inbound(f"message {n}", pid, address=f"+1415555{3000 + k:04d}"))
                        answer = (pid, r.status_code, r.headers.get("retry-after", ""))
                    except httpx.TransportError as exc:  # the hub itself must never drop the request
                        answer = (pid, -1, type(exc).__name__)
                    with lock:
                        answers.append(answer)

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        # The outage: the database refuses new connections, and every open one is killed, again and again.
        _psql(f'ALTER DATABASE "{pg.name}" WITH ALLOW_CONNECTIONS false', db="postgres")
        down_until = time.monotonic() + OUTAGE_S
        while time.monotonic() < down_until:
            _psql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{pg.name}'"
                " AND pid <> pg_backend_pid()",
                db="postgres",
            )
            time.sleep(0.5)
        _psql(f'ALTER DATABASE "{pg.name}" WITH ALLOW_CONNECTIONS true', db="postgres")
        time.sleep(BURST_S - OUTAGE_S - 2.0)
        stop.set()
        for t in threads:
            t.join()

        statuses = {status for _, status, _ in answers}
        assert statuses <= {200, 201, 503}, sorted(statuses)
        assert all(after for _, status, after in answers if status == 503), "503 without Retry-After"
        assert 503 in statuses, "the outage was not felt: the test did not test anything"
        stored = {pid for pid, status, _ in answers if status in (200, 201)}
        rows = _sql(pg, "SELECT provider_message_id, count(*) FROM timeline_events GROUP BY provider_message_id")
        counts = {pid: int(n) for pid, n in rows}
        assert not [pid for pid in stored if counts.get(pid) != 1], "acknowledged but not stored exactly once"
        # Back on its own: the next message is stored.
        with httpx.Client(base_url=hub.base_url, timeout=30) as http:
            r = post_inbound(http, inbound("after the outage", "outage-after", address="+14155553999"))
            assert r.status_code == 201, r.text
    finally:
        stop.set()
        _psql(f'ALTER DATABASE "{pg.name}" WITH ALLOW_CONNECTIONS true', db="postgres")
        hub.stop()
        pg.drop()


def test_outage_errors_are_told_from_bugs():
    """The classifier on the errors each driver really raises (built as they build them)."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError, ProgrammingError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    killed = DBAPIError("COMMIT", None, asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))
    assert is_storage_outage(killed)
    refused = DBAPIError("connect", None, ConnectionRefusedError(111, "Connect call failed"))
    assert is_storage_outage(refused)
    shutdown = DBAPIError("SELECT 1", None, asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_storage_outage(shutdown)
    assert is_storage_outage(PoolTimeout("QueuePool limit reached"))
    bug = ProgrammingError("SELECT nope", None, asyncpg.exceptions.UndefinedColumnError("column nope does not exist"))
    assert not is_storage_outage(bug)

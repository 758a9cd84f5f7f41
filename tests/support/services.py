"""The real services tests run against: SQLite files, PostgreSQL and Redis on 127.0.0.1.

A service that is not reachable skips its tests, unless PUENTE_REQUIRE_SERVICES=1 (CI), where
it fails them: nothing may quietly skip there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid

import pytest

PG_HOST, PG_PORT = os.environ.get("PUENTE_TEST_PG_HOST", "127.0.0.1"), 5432
REDIS_URL = os.environ.get("PUENTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRED = os.environ.get("PUENTE_REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{service} is not reachable on {host}:{port}"
    if REQUIRED:
        pytest.fail(message + " and PUENTE_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def _psql(sql: str, db: str = "test") -> None:
    subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


class PostgresDatabase:
    """A fresh database per test server, dropped afterwards."""

    def __init__(self) -> None:
        need("PostgreSQL", PG_HOST, PG_PORT)
        self.name = f"puente_t_{uuid.uuid4().hex[:12]}"
        _psql(f'CREATE DATABASE "{self.name}"')
        self.url = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{self.name}"

    def drop(self) -> None:
        _psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def redis_url() -> str:
    need("Redis", "127.0.0.1", 6379)
    return REDIS_URL

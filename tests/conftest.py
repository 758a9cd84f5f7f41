"""Fixtures: real hub servers on every reachable backend combination."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.support.clients import Staff
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer, hub_settings
from tests.support.services import PostgresDatabase, redis_url

BACKENDS = ["sqlite-memory", "sqlite-redis", "postgres-memory", "postgres-redis"]


def _start(tmp_path: Path, backend: str, **options: object) -> Iterator[HubServer]:
    db, realtime = backend.split("-")
    pg = PostgresDatabase() if db == "postgres" else None
    redis = redis_url() if realtime == "redis" else ""
    srv = HubServer(hub_settings(tmp_path, db_url=pg.url if pg else None, redis_url=redis, **options)).start()
    try:
        yield srv
    finally:
        srv.stop()
        if pg:
            pg.drop()


@pytest.fixture
def hub_server_options(request: pytest.FixtureRequest) -> dict[str, object]:
    """Override settings of `hub_server` with indirect parametrisation."""
    return getattr(request, "param", {})


@pytest.fixture
def hub_server(tmp_path: Path, hub_server_options: dict[str, object]) -> Iterator[HubServer]:
    """The embedded default: a SQLite file and in-process realtime."""
    yield from _start(tmp_path, "sqlite-memory", **hub_server_options)


@pytest.fixture(params=BACKENDS)
def any_hub_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubServer]:
    """The same hub on every storage x realtime backend: the contract suite runs on each."""
    yield from _start(tmp_path, request.param)


@pytest.fixture(scope="module")
def module_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """One embedded-default hub shared by a module's tests that do not disturb each other."""
    yield from _start(tmp_path_factory.mktemp("hub"), "sqlite-memory")


@pytest.fixture
def integration(hub_server: HubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub_server.base_url, timeout=10) as c:
        yield c


@pytest.fixture
def staff(hub_server: HubServer) -> Iterator[dict[str, Staff]]:
    clients = {login: Staff(hub_server.base_url, login) for login in ("admin", "sofia", "ana", "ben")}
    yield clients
    for c in clients.values():
        c.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate (and its key) for 127.0.0.1, made by openssl: TLS relays and the
    hub's own SMTP listener use it."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "server.pem", d / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """A local server that speaks Twilio's REST API, failing on demand."""
    with FakeTwilio(TWILIO_ACCOUNT, TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture
def bot_hub(tmp_path: Path, twilio: FakeTwilio) -> Iterator[HubServer]:
    """The embedded default with the assistant on, texting through the local Twilio."""
    settings = hub_settings(tmp_path, bot=True)
    srv = HubServer(replace(settings, sms=replace(settings.sms, api_base_url=twilio.url))).start()
    yield srv
    srv.stop()

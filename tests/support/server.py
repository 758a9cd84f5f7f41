"""A real hub on a real socket: uvicorn in a thread, serving create_app on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from hub.app import create_app
from hub.settings import (
    BotSettings,
    ClinicSettings,
    CsatSettings,
    DatabaseSettings,
    RealtimeSettings,
    SecuritySettings,
    ServerSettings,
    Settings,
    SmsSettings,
)

INGEST_KEY = "pk_test_key"
TWILIO_TOKEN = "test-twilio-auth-token"
TWILIO_ACCOUNT = "AC00000000000000000000000000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_settings(
    data_dir: Path,
    db_url: str | None = None,
    redis_url: str = "",
    bot: bool = False,
    csat: bool = False,
    **options: object,
) -> Settings:
    """options: fields of ServerSettings, RealtimeSettings or SecuritySettings to override. The bot
    is off unless asked for: most tests are about what agents do, and a bot answering first would
    add its own messages to every conversation. So is the satisfaction question after resolution
    (tests/floor/test_csat.py asks for it): it would add one at whatever hour the test runs."""
    realtime = {k: v for k, v in options.items() if k in RealtimeSettings.__dataclass_fields__}
    security = {k: v for k, v in options.items() if k in SecuritySettings.__dataclass_fields__}
    server = {k: v for k, v in options.items() if k not in realtime and k not in security}
    port = int(server.pop("port", 0)) or free_port()
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(
            url=db_url or f"sqlite+aiosqlite:///{data_dir / 'hub.db'}", sqlite_synchronous="NORMAL"
        ),
        realtime=RealtimeSettings(
            redis_url=redis_url, channel_prefix=f"puente-test-{uuid.uuid4().hex[:8]}", **realtime
        ),  # type: ignore[arg-type]
        security=SecuritySettings(secret="test-secret-" + uuid.uuid4().hex, ingest_keys=(INGEST_KEY,), **security),  # type: ignore[arg-type]
        clinic=ClinicSettings(),
        sms=SmsSettings(
            account_sid=TWILIO_ACCOUNT,
            auth_token=TWILIO_TOKEN,
            from_number="+16502530000",
            public_url=f"http://127.0.0.1:{port}",
        ),
        server=replace(ServerSettings(port=port, demo=True), **server),  # type: ignore[arg-type]
        bot=BotSettings(enabled=bot),
        csat=CsatSettings(enabled=csat),
    )


ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


class TestClock:
    """A wall clock the test moves forward: now() is the real time plus what was added."""

    def __init__(self) -> None:
        self._ahead = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._ahead

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._ahead += by


class HubServer:
    def __init__(
        self, settings: Settings, open_all_hours: bool = True, clock: Callable[[], datetime] | None = None
    ) -> None:
        """open_all_hours: with the bot on, every team is open around the clock, so a test does
        not depend on the hour it runs at (the demo's teams keep office hours; a test of after
        hours closes the clinic with a holiday). clock: the outbox's, for a test that lives
        through hours of a provider's outage in seconds (TestClock)."""
        self.settings = settings
        self.open_all_hours = open_all_hours and settings.bot.enabled
        self.app = create_app(settings, clock)
        self.hub = self.app.state.hub
        port = settings.server.port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws_max_size=65536,
            ws_per_message_deflate=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"hub-{port}", daemon=True)

    def start(self) -> HubServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("hub server did not start")
            time.sleep(0.02)
        if self.open_all_hours:
            self._open_all_hours()
        return self

    def _open_all_hours(self) -> None:
        from tests.support.clients import Staff  # it imports this module

        admin = Staff(self.base_url, "admin")
        try:
            for team in admin.get("/api/teams").json():
                r = admin.request("PUT", f"/api/teams/{team['id']}/hours", json=ALL_DAY)
                assert r.status_code == 200, r.text
        finally:
            admin.close()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

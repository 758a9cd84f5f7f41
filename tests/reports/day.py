"""A known day of traffic, made through a real hub's routes, each step dated to a scripted clock.

The hub stamps events with the wall clock; a test cannot wait out a day. So each step (a patient
writing, an agent assigning, replying, resolving...) is made for real, the hub is left to finish
what it does in answer (the assistant's reply, a hand-off), and every event the step brought to
this day's conversations is then dated to the step's scripted time (and each conversation's
opening to its first step). Nothing else is touched: the KPIs are computed from these events.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.models import Conversation, TimelineEvent
from tests.channels.sms.test_sms_webhooks import _fields, _post
from tests.support.clients import Staff
from tests.support.server import HubServer
from tests.support.webchat import VisitorClient

LA = ZoneInfo("America/Los_Angeles")


def la(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=LA)


def _wait(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


class Day:
    """Steps on a real hub; `stamp()` dates each step's events afterwards."""

    def __init__(self, srv: HubServer) -> None:
        self.srv = srv
        self.http = httpx.Client(base_url=srv.base_url, timeout=10)
        self.staff = {login: Staff(srv.base_url, login) for login in ("admin", "sofia", "ana")}
        self.steps: list[tuple[int, int, datetime]] = []  # (after seq, up to seq, when)
        self.conversations: dict[str, int] = {}  # the day's conversations, by who wrote
        self._n = 0

    def last_seq(self) -> int:
        return self.staff["sofia"].get("/api/conversations").json()["last_seq"]

    def _settled(self) -> int:
        """The newest seq once nothing new has committed for half a second (the assistant answered)."""
        seq, since = self.last_seq(), time.monotonic()
        while time.monotonic() - since < 0.6:
            time.sleep(0.1)
            if (now := self.last_seq()) != seq:
                seq, since = now, time.monotonic()
        return seq

    def step(self, at: datetime, action: Any) -> Any:
        before = self._settled()
        out = action()
        self.steps.append((before, self._settled(), at))
        return out

    def sms(self, at: datetime, number: str, words: str) -> int:
        def send() -> None:
            self._n += 1
            r = _post(
                self.http,
                "/api/channels/sms/inbound",
                _fields(f"SMday{self._n:04d}{number[-4:]}", words, sender=number),
            )
            assert r.status_code == 200, r.text

        self.step(at, send)
        return self._conversation(number)

    def webchat(self, at: datetime, visitor: VisitorClient, name: str, words: str) -> int:
        self.step(at, lambda: visitor.send(words).raise_for_status())
        return self._conversation(name)

    def _conversation(self, name: str) -> int:
        sofia = self.staff["sofia"]
        conv = _wait(
            lambda: next(
                (c for c in sofia.get("/api/conversations", params={"view": "all"}).json()["conversations"]
                 if c["patient_name"] == name),
                None,
            )
        )  # fmt: skip
        self.conversations.setdefault(name, conv["id"])
        return conv["id"]

    def act(self, at: datetime, who: str, method: str, path: str, body: Any = None, status: int = 201) -> Any:
        def call() -> Any:
            r = self.staff[who].request(method, path, json=body)
            assert r.status_code == status, r.text
            return r.json()

        return self.step(at, call)

    def stamp(self, db_url: str) -> None:
        """Date each step's events (of this day's conversations) and each opening to its step."""
        ids = list(self.conversations.values())

        async def run() -> None:
            engine = create_async_engine(db_url)
            async with engine.begin() as c:
                for before, upto, at in self.steps:
                    await c.execute(
                        update(TimelineEvent)
                        .where(
                            TimelineEvent.seq > before,
                            TimelineEvent.seq <= upto,
                            TimelineEvent.conversation_id.in_(ids),
                        )
                        .values(created_at=at)
                    )
                for cid in ids:
                    first = (
                        await c.execute(
                            text("SELECT min(seq) FROM timeline_events WHERE conversation_id = :c"), {"c": cid}
                        )
                    ).scalar_one()
                    at = next(at for before, upto, at in self.steps if before < first <= upto)
                    await c.execute(update(Conversation).where(Conversation.id == cid).values(opened_at=at))
            await engine.dispose()

        asyncio.run(run())

    def close(self) -> None:
        self.http.close()
        for s in self.staff.values():
            s.close()

"""A provider outage of ten minutes, lived through in seconds on a clock the test moves: every reply
written meanwhile is retried (capped backoff) instead of being failed after a minute and a half,
and each reaches the patient once, in the order written. A window of hours later, a message the
provider never takes is failed visibly, and the ones behind it then go."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import httpx

from tests.bot.test_bot import _wait
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import HubServer, TestClock, hub_settings

PATIENT = "+14155550231"


def _hub(tmp_path, twilio: FakeTwilio, clock: TestClock, window_s: int = 6 * 3600) -> HubServer:
    settings = hub_settings(tmp_path)
    settings = replace(
        settings,
        sms=replace(settings.sms, api_base_url=twilio.url),
        outbox=replace(settings.outbox, retry_window_s=window_s, max_backoff_s=300),
    )
    return HubServer(settings, clock=clock.now).start()


def _live_through(clock: TestClock, minutes: float, step_s: float = 60.0) -> None:
    """Move the hub's clock `minutes` forward, a minute at a time, each time waiting out one turn
    of the outbox's loop (it looks every second)."""
    for _ in range(int(minutes * 60 / step_s)):
        clock.advance(timedelta(seconds=step_s))
        time.sleep(1.1)


def _statuses(ana: Staff, patient_id: int, seqs: list[int]) -> list[str]:
    events = {e["seq"]: e for e in ana.get(f"/api/patients/{patient_id}/timeline").json()["events"]}
    return [events[s]["data"]["status"] for s in seqs]


def test_a_ten_minute_outage_delivers_every_reply_once_in_order(tmp_path, twilio):
    clock = TestClock()
    hub = _hub(tmp_path, twilio, clock)
    try:
        with httpx.Client(base_url=hub.base_url, timeout=10) as http:
            conv = post_inbound(http, inbound("hola", "outage-sms-1", address=PATIENT)).json()
        ana = Staff(hub.base_url, "ana")
        twilio.down = True
        texts = ["Primero: su cita es el lunes.", "Segundo: traiga su tarjeta.", "Tercero: llegue 10 minutos antes."]
        seqs = []
        for text in texts:
            r = ana.post(
                f"/api/conversations/{conv['conversation_id']}/messages", json={"text": text, "channel": "sms"}
            )
            assert r.status_code == 201, r.text
            seqs.append(r.json()["seq"])
        _live_through(clock, minutes=10)
        tries = [r["Body"] for r in twilio.requests if r["To"] == PATIENT]
        assert len(tries) >= 5 and set(tries) == {texts[0]}  # only the first is tried: the others wait behind it
        assert _statuses(ana, conv["patient_id"], seqs) == ["queued"] * 3  # none failed meanwhile
        twilio.down = False
        _live_through(clock, minutes=6)  # the longest backoff is 5 minutes
        _wait(lambda: len([m for m in twilio.accepted if m["to"] == PATIENT]) == 3, timeout=20)
        assert [m["body"] for m in twilio.accepted if m["to"] == PATIENT] == texts  # once each, in order
        assert _statuses(ana, conv["patient_id"], seqs) == ["queued"] * 3  # taken by the provider
        time.sleep(1.0)
        assert len([m for m in twilio.accepted if m["to"] == PATIENT]) == 3
        ana.close()
    finally:
        hub.stop()


def test_past_the_window_a_reply_is_failed_visibly_and_the_next_goes(tmp_path, twilio):
    clock = TestClock()
    hub = _hub(tmp_path, twilio, clock, window_s=10 * 60)
    try:
        with httpx.Client(base_url=hub.base_url, timeout=10) as http:
            conv = post_inbound(http, inbound("hola", "outage-sms-2", address=PATIENT)).json()
        ana = Staff(hub.base_url, "ana")
        twilio.down = True
        first = ana.post(
            f"/api/conversations/{conv['conversation_id']}/messages", json={"text": "uno", "channel": "sms"}
        ).json()
        _live_through(clock, minutes=11)
        failed = _wait(lambda: _statuses(ana, conv["patient_id"], [first["seq"]]) == ["failed"], timeout=20)
        assert failed
        twilio.down = False
        second = ana.post(
            f"/api/conversations/{conv['conversation_id']}/messages", json={"text": "dos", "channel": "sms"}
        ).json()
        _wait(lambda: [m["body"] for m in twilio.accepted if m["to"] == PATIENT] == ["dos"], timeout=20)
        events = {e["seq"]: e for e in ana.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]}
        assert events[first["seq"]]["data"]["error"] == "the provider did not take it for 10 minutes; not sent"
        assert events[second["seq"]]["data"]["status"] == "queued"
        ana.close()
    finally:
        hub.stop()

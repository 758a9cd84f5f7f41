"""A voicemail through Twilio's recording status callback, which names the call and not the caller:
the hub looks the call up (the provider's Calls API, with the account's credentials) and stores the
recording as the caller's voice message. A call the provider does not know is a 400; a provider it
cannot reach is a 503 (nothing stored, retry), and the retry lands once."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import httpx
import pytest

from tests.channels.sms.test_sms_webhooks import _post
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import TWILIO_ACCOUNT, HubServer, hub_settings

CALL = "CA" + "7" * 32
CALLER = "+14155550111"


@pytest.fixture
def voice_hub(tmp_path, twilio: FakeTwilio):
    settings = hub_settings(tmp_path)
    srv = HubServer(replace(settings, sms=replace(settings.sms, api_base_url=twilio.url))).start()
    yield srv
    srv.stop()


def _status_callback(recording: str, call: str = CALL) -> dict[str, str]:
    """What Twilio posts to a recording status callback: no From, no To."""
    return {
        "AccountSid": TWILIO_ACCOUNT,
        "CallSid": call,
        "RecordingSid": recording,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Recordings/{recording}",
        "RecordingStatus": "completed",
        "RecordingDuration": "6",
        "RecordingChannels": "1",
        "RecordingStartTime": "Thu, 03 Dec 2026 08:00:00 +0000",
        "RecordingSource": "RecordVerb",
    }


def _voicemails(srv: HubServer) -> list[tuple[str, str]]:
    with sqlite3.connect(srv.settings.database.url.split("///", 1)[1]) as db:
        return db.execute(
            "SELECT e.provider_message_id, c.address FROM timeline_events e"
            " JOIN contact_points c ON c.patient_id = e.patient_id AND c.kind = 'phone'"
            " WHERE e.channel = 'voice' AND e.kind = 'message_in' ORDER BY e.seq"
        ).fetchall()


def test_the_caller_is_found_by_the_call(voice_hub, twilio):
    twilio.calls[CALL] = {"from": CALLER, "to": "+16502530000", "status": "completed", "direction": "inbound"}
    with httpx.Client(base_url=voice_hub.base_url, timeout=20) as http:
        r = _post(http, "/api/channels/voice/voicemail", _status_callback("RE" + "1" * 32))
        assert r.status_code == 200, r.text
        r = _post(http, "/api/channels/voice/voicemail", _status_callback("RE" + "1" * 32))  # Twilio retried
        assert r.status_code == 200, r.text
    assert _voicemails(voice_hub) == [("RE" + "1" * 32, CALLER)]


def test_an_unknown_call_is_refused_and_an_unreachable_provider_is_retried(voice_hub, twilio):
    with httpx.Client(base_url=voice_hub.base_url, timeout=20) as http:
        r = _post(http, "/api/channels/voice/voicemail", _status_callback("RE" + "2" * 32, call="CA" + "0" * 32))
        assert r.status_code == 400 and "CallSid" in r.json()["detail"]
        twilio.calls[CALL] = {"from": CALLER}
        twilio.down = True  # the provider's API answers 503
        r = _post(http, "/api/channels/voice/voicemail", _status_callback("RE" + "3" * 32))
        assert r.status_code == 503 and r.headers["retry-after"], r.text
        assert _voicemails(voice_hub) == []  # nothing stored half-way
        twilio.down = False
        r = _post(http, "/api/channels/voice/voicemail", _status_callback("RE" + "3" * 32))
        assert r.status_code == 200, r.text
    assert _voicemails(voice_hub) == [("RE" + "3" * 32, CALLER)]

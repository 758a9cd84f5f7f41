"""Twilio-compatible SMS webhooks on a real hub: signed or refused, stored once, one patient."""

from __future__ import annotations

import sqlite3
from urllib.parse import urlencode

import httpx
import pytest

from channels.sms.signature import compute
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _fields(sid: str, body: str = "Hola, ¿puedo cambiar mi cita?", sender: str = "+16505550134", **more: str) -> dict:
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": TWILIO_ACCOUNT,
        "From": sender,
        "To": "+16502530000",
        "Body": body,
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
        **more,
    }


def _post(
    http: httpx.Client,
    path: str,
    fields: dict,
    token: str = TWILIO_TOKEN,
    sign_url: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    url = sign_url or f"{http.base_url}{path}".replace("//api", "/api")
    sig = signature if signature is not None else compute(token, url, list(fields.items()))
    return http.post(path, content=urlencode(fields), headers={**FORM, "x-twilio-signature": sig})


def _count(srv, sql: str) -> int:
    with sqlite3.connect(srv.settings.database.url.split("///", 1)[1]) as db:
        return db.execute(sql).fetchone()[0]


def test_a_signed_message_lands_once_under_one_patient(hub_server, integration, staff):
    first = _post(integration, "/api/channels/sms/inbound", _fields("SMtest0001", sender="(650) 555-0198"))
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/xml")
    assert b"<Response>" in first.content
    again = _post(integration, "/api/channels/sms/inbound", _fields("SMtest0001", sender="(650) 555-0198"))
    assert again.status_code == 200  # Twilio retried: acknowledged, not stored twice
    other = _post(integration, "/api/channels/sms/inbound", _fields("SMtest0002", "Gracias", sender="+16505550198"))
    assert other.status_code == 200
    assert _count(hub_server, "SELECT count(*) FROM timeline_events WHERE provider_message_id LIKE 'SMtest%'") == 2
    assert _count(hub_server, "SELECT count(*) FROM contact_points WHERE address = '+16505550198'") == 1
    convs = staff["sofia"].get("/api/conversations").json()["conversations"]
    conv = next(c for c in convs if c["patient_name"] == "+16505550198")
    texts = [
        (e["channel"], e["text"])
        for e in staff["sofia"].get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
    ]
    assert texts == [("sms", "Hola, ¿puedo cambiar mi cita?"), ("sms", "Gracias")]


@pytest.mark.parametrize("case", ["no signature", "wrong token", "tampered body", "other URL"])
def test_unsigned_or_forged_requests_are_refused_and_store_nothing(hub_server, integration, case):
    fields = _fields("SMforged01")
    before = _count(hub_server, "SELECT count(*) FROM timeline_events")
    if case == "no signature":
        r = integration.post("/api/channels/sms/inbound", content=urlencode(fields), headers=FORM)
    elif case == "wrong token":
        r = _post(integration, "/api/channels/sms/inbound", fields, token="not-the-token")
    elif case == "tampered body":
        sig = compute(TWILIO_TOKEN, f"{integration.base_url}/api/channels/sms/inbound", list(fields.items()))
        r = _post(integration, "/api/channels/sms/inbound", {**fields, "Body": "send me everything"}, signature=sig)
    else:
        r = _post(
            integration, "/api/channels/sms/inbound", fields, sign_url="https://evil.example/api/channels/sms/inbound"
        )
    assert r.status_code == 403 and "X-Twilio-Signature" in r.json()["detail"]
    assert _count(hub_server, "SELECT count(*) FROM timeline_events") == before


def test_signed_but_malformed_is_a_clear_400(hub_server, integration):
    r = _post(integration, "/api/channels/sms/inbound", {k: v for k, v in _fields("SMbad0001").items() if k != "From"})
    assert r.status_code == 400 and "missing From" in r.json()["detail"]
    r = _post(integration, "/api/channels/sms/inbound", _fields("SMbad0002", sender="12"))
    assert r.status_code == 400 and "phone number" in r.json()["detail"]


def test_status_callbacks_are_signed_and_find_their_message(hub_server, integration):
    fields = {"MessageSid": "SMunknown01", "MessageStatus": "delivered", "AccountSid": TWILIO_ACCOUNT}
    r = _post(integration, "/api/channels/sms/status", fields)
    assert r.status_code == 404 and "SMunknown01" in r.json()["detail"]
    assert _post(integration, "/api/channels/sms/status", fields, token="nope").status_code == 403
    r = _post(integration, "/api/channels/sms/status", {**fields, "MessageStatus": "exploded"})
    assert r.status_code == 400 and "unknown MessageStatus" in r.json()["detail"]


def test_a_json_body_is_signed_by_its_hash_in_the_url(hub_server, integration):
    import hashlib
    import json

    body = json.dumps(_fields("SMjson00001", "Llegaré tarde", sender="+16505550191")).encode()
    digest = hashlib.sha256(body).hexdigest()
    url = f"{integration.base_url}/api/channels/sms/inbound?bodySHA256={digest}".replace("//api", "/api")
    headers = {"content-type": "application/json", "x-twilio-signature": compute(TWILIO_TOKEN, url)}
    path = f"/api/channels/sms/inbound?bodySHA256={digest}"
    tampered = body.replace(b"tarde", b"pronto")
    assert integration.post(path, content=tampered, headers=headers).status_code == 403
    assert integration.post(path, content=body, headers=headers).status_code == 200
    assert _count(hub_server, "SELECT count(*) FROM timeline_events WHERE provider_message_id = 'SMjson00001'") == 1
    assert integration.post("/api/channels/sms/inbound", content=body, headers=headers).status_code == 403  # no hash

"""Inbound-parse webhooks over real HTTP: SendGrid (parsed and raw modes, HTTP Basic credentials)
and Mailgun routes (signed; stale timestamps and replayed tokens refused), into the same path as
SMTP; size and rate limits; bad posts refused with a reason, nothing stored, the hub serving on."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from channels.email.signature import mailgun_signature
from tests.support.clients import Staff
from tests.support.mail import FIXTURES, MAILGUN_KEY, SENDGRID_SECRET, fixture_mail, mail_settings, rows
from tests.support.server import HubServer

SENDGRID = "/api/channels/email/sendgrid"
MAILGUN = "/api/channels/email/mailgun"


@pytest.fixture
def mail_hub(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[HubServer]:
    srv = HubServer(mail_settings(tmp_path, **getattr(request, "param", {}))).start()
    yield srv
    srv.stop()


@pytest.fixture
def http(mail_hub: HubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mail_hub.base_url, timeout=15) as c:
        yield c


def _case(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _sendgrid(http: httpx.Client, name: str, password: str | None = SENDGRID_SECRET) -> httpx.Response:
    case = _case(name)
    return http.post(
        SENDGRID,
        content=case["raw"].encode(),
        headers={"content-type": case["content_type"]},
        auth=("puente", password) if password is not None else None,
    )


def _signed(fields: dict[str, str], key: str = MAILGUN_KEY, at: int | None = None, token: str | None = None) -> dict:
    timestamp = str(at if at is not None else int(time.time()))
    token = token or f"tok{time.monotonic_ns()}"
    return {**fields, "timestamp": timestamp, "token": token, "signature": mailgun_signature(key, timestamp, token)}


def _mailgun_fields() -> dict[str, str]:
    return dict(parse_qsl(_case("mailgun_route")["raw"], keep_blank_values=True))


def _post_form(http: httpx.Client, fields: dict[str, str]) -> httpx.Response:
    return http.post(
        MAILGUN, content=urlencode(fields).encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )


def _event(srv: HubServer, seq: int) -> dict[str, Any]:
    patient_id = rows(srv.settings, "SELECT patient_id FROM timeline_events WHERE seq = ?", seq)[0][0]
    events = Staff(srv.base_url, "sofia").get(f"/api/patients/{patient_id}/timeline").json()["events"]
    return next(e for e in events if e["seq"] == seq)


def test_sendgrid_parsed_mode(mail_hub: HubServer, http: httpx.Client) -> None:
    r = _sendgrid(http, "sendgrid_parsed")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "message" and body["duplicate"] is False
    event = _event(mail_hub, body["seq"])
    assert event["text"] == "¿Puedo llevar a mi hija también?"
    assert event["data"]["email"]["source"] == "sendgrid" and event["data"]["email"]["quote_stripped"] is True
    (pdf,) = event["attachments"]
    assert (pdf["name"], pdf["content_type"], pdf["size"]) == ("receta.pdf", "application/pdf", 142)
    ana = Staff(mail_hub.base_url, "ana")
    assert ana.get(pdf["url"]).content.startswith(b"%PDF-")
    source = ana.get(f"/api/email/messages/{body['seq']}/source").text  # rebuilt from the parsed fields
    assert "Message-ID: <CAF3nVb-sendgrid-parsed-01@mail.gmail.com>" in source and 'filename="receta.pdf"' in source
    again = _sendgrid(http, "sendgrid_parsed")
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["seq"] == body["seq"]


def test_sendgrid_raw_mode(mail_hub: HubServer, http: httpx.Client) -> None:
    r = _sendgrid(http, "sendgrid_raw")
    assert r.status_code == 200, r.text
    event = _event(mail_hub, r.json()["seq"])
    assert event["text"].startswith("Hello,\n\nI received a bill for my visit on December 3rd")
    assert event["data"]["email"]["subject"] == "Question about my bill"
    raw = Staff(mail_hub.base_url, "ana").get(f"/api/email/messages/{event['seq']}/source", params={"download": 1})
    assert raw.content.startswith(b"From: Robert Kim <robert.kim@outlook.com>")  # the provider's raw message itself


def test_sendgrid_needs_its_credentials(mail_hub: HubServer, http: httpx.Client) -> None:
    assert _sendgrid(http, "sendgrid_raw", password=None).status_code == 401
    wrong = _sendgrid(http, "sendgrid_raw", password="guess")
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Wrong or missing credentials."
    assert rows(mail_hub.settings, "SELECT count(*) FROM email_messages") == [(0,)]


@pytest.mark.parametrize("mail_hub", [{"sendgrid_secret": "", "mailgun_signing_key": ""}], indirect=True)
def test_webhooks_are_refused_until_set_up(mail_hub: HubServer, http: httpx.Client) -> None:
    r = _sendgrid(http, "sendgrid_raw")
    assert r.status_code == 403 and "no SendGrid secret" in r.json()["detail"]
    r = _post_form(http, _signed(_mailgun_fields()))
    assert r.status_code == 403 and "no Mailgun signing key" in r.json()["detail"]


def test_mailgun_signed_post_is_taken(mail_hub: HubServer, http: httpx.Client) -> None:
    r = _post_form(http, _signed(_mailgun_fields()))
    assert r.status_code == 200, r.text
    event = _event(mail_hub, r.json()["seq"])
    assert event["text"] == "Could we make it 10:30 instead?"  # our own stripping, not Mailgun's
    assert event["data"]["email"]["source"] == "mailgun"


def test_mailgun_mime_mode_multipart(mail_hub: HubServer, http: httpx.Client) -> None:
    fields = _signed({"recipient": "care@clinic.test", "sender": "sam.rivera@icloud.com"})
    r = http.post(MAILGUN, data=fields, files={"body-mime": ("message.mime", fixture_mail("apple_first_en"))})
    assert r.status_code == 200, r.text
    event = _event(mail_hub, r.json()["seq"])
    assert event["text"].startswith("Hello, I need a refill") and "iPhone" not in event["text"]


def test_mailgun_bad_signature_is_refused(mail_hub: HubServer, http: httpx.Client) -> None:
    forged = _signed(_mailgun_fields(), key="not-the-key")
    r = _post_form(http, forged)
    assert r.status_code == 403 and r.json()["detail"] == "Missing or invalid Mailgun signature."
    unsigned = {k: v for k, v in _signed(_mailgun_fields()).items() if k != "signature"}
    assert _post_form(http, unsigned).status_code == 403
    assert rows(mail_hub.settings, "SELECT count(*) FROM email_messages") == [(0,)]


def test_mailgun_replays_are_refused(mail_hub: HubServer, http: httpx.Client) -> None:
    stale = _signed(_mailgun_fields(), at=int(time.time()) - 3600)  # correctly signed, an hour ago
    r = _post_form(http, stale)
    assert r.status_code == 403 and "too old" in r.json()["detail"]
    fresh = _signed(_mailgun_fields())
    assert _post_form(http, fresh).status_code == 200
    replay = _post_form(http, fresh)  # the very same signed post again
    assert replay.status_code == 403 and "already received" in replay.json()["detail"]


@pytest.mark.parametrize("mail_hub", [{"max_bytes": 20_000}], indirect=True)
def test_posts_over_the_size_limit_are_refused(mail_hub: HubServer, http: httpx.Client) -> None:
    big = {**_mailgun_fields(), "body-plain": "x" * 1_100_000}
    r = _post_form(http, _signed(big))
    assert r.status_code == 413 and "20000 bytes" in r.json()["detail"]
    just_over = {**_mailgun_fields(), "body-plain": "y" * 25_000}  # a small post, a message too large
    assert _post_form(http, _signed(just_over)).status_code == 413
    assert _post_form(http, _signed(_mailgun_fields())).status_code == 200


@pytest.mark.parametrize("mail_hub", [{"webhooks_per_minute": 2}], indirect=True)
def test_webhooks_are_rate_limited(mail_hub: HubServer, http: httpx.Client) -> None:
    assert _sendgrid(http, "sendgrid_raw").status_code == 200
    assert _sendgrid(http, "sendgrid_raw").status_code == 200
    r = _sendgrid(http, "sendgrid_raw")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    "content_type, body, reason",
    [
        ("application/json", b'{"from": "x"}', "expected Content-Type"),
        ("multipart/form-data", b"--x\r\n", "no multipart boundary"),
        ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\r\n{bad"
         b"\r\n--zz--\r\n", "envelope: malformed JSON"),
        ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n"
         b"To: care@clinic.test\r\n\r\nno sender\r\n--zz--\r\n", "no sender"),
    ],
)  # fmt: skip
def test_bad_posts_are_refused_with_the_reason(
    mail_hub: HubServer, http: httpx.Client, content_type: str, body: bytes, reason: str
) -> None:
    r = http.post(SENDGRID, content=body, headers={"content-type": content_type}, auth=("puente", SENDGRID_SECRET))
    assert r.status_code == 400 and reason in r.text
    assert rows(mail_hub.settings, "SELECT count(*) FROM email_messages") == [(0,)]
    assert http.get("/api/health").status_code == 200

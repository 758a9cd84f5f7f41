"""Bad input: a clear 4xx, nothing stored, and the server keeps serving. Never a 500."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from tests.support.clients import inbound, post_inbound

OK = inbound("fine", "ok-1")

CASES = [  # (name, raw body, content type, status, words the message must contain)
    ("malformed JSON", b'{"provider_message_id": "x", ', "application/json", 400, "malformed JSON"),
    ("not an object", b'["a"]', "application/json", 400, "Expected `object`"),
    ("unknown field", json.dumps({**OK, "colour": "red"}), "application/json", 400, "unknown field `colour`"),
    (
        "unknown nested field",
        json.dumps({**OK, "from": {**OK["from"], "x": 1}}),
        "application/json",
        400,
        "unknown field `x`",
    ),
    (
        "missing provider id",
        json.dumps({k: v for k, v in OK.items() if k != "provider_message_id"}),
        "application/json",
        400,
        "provider_message_id",
    ),
    (
        "empty provider id",
        json.dumps({**OK, "provider_message_id": ""}),
        "application/json",
        400,
        "provider_message_id",
    ),
    ("invalid phone", json.dumps(inbound("x", "p1", address="12345")), "application/json", 400, "phone number"),
    ("letters for a phone", json.dumps(inbound("x", "p2", address="call me")), "application/json", 400, "phone number"),
    (
        "invalid email",
        json.dumps(inbound("x", "e1", kind="email", address="maria@")),
        "application/json",
        400,
        "email address",
    ),
    (
        "unknown contact kind",
        json.dumps(inbound("x", "k1", kind="fax", address="123")),
        "application/json",
        400,
        "unknown contact kind",
    ),
    (
        "bad visitor id",
        json.dumps(inbound("x", "v1", kind="webchat", address="a b")),
        "application/json",
        400,
        "visitor id",
    ),
    ("no text nor attachment", json.dumps({**OK, "text": "  "}), "application/json", 400, "text or at least one"),
    ("text too long", json.dumps({**OK, "text": "x" * 20_001}), "application/json", 400, "length"),
    ("naive time", json.dumps({**OK, "sent_at": "2026-11-22T10:00:00"}), "application/json", 400, "timezone"),
    ("unknown channel", json.dumps({**OK, "channel": "pager"}), "application/json", 400, "channel"),
    ("form instead of JSON", b"provider_message_id=x", "application/x-www-form-urlencoded", 400, "application/json"),
    ("invalid UTF-8", b'{"provider_message_id": "\xff\xfe"}', "application/json", 400, "malformed JSON"),
    ("NUL in text", json.dumps({**OK, "text": "a\u0000b"}), "application/json", 400, "NUL characters"),
    (
        "NUL in name",
        json.dumps({**OK, "from": {**OK["from"], "name": "Ana\u0000"}}),
        "application/json",
        400,
        "NUL characters",
    ),
    (
        "huge attachment size",
        json.dumps({**OK, "attachments": [{"content_type": "image/png", "size": 10**20}]}),
        "application/json",
        400,
        "attachments",
    ),
    ("oversized body", json.dumps({**OK, "text": "x" * 1_100_000}), "application/json", 413, ""),
]


def _counts(srv) -> tuple[int, ...]:
    with sqlite3.connect(srv.settings.database.url.split("///", 1)[1]) as db:
        return tuple(
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("patients", "contact_points", "conversations", "timeline_events")
        )


@pytest.mark.parametrize("name,body,ctype,status,words", CASES, ids=[c[0] for c in CASES])
def test_bad_inbound_is_refused_clearly_and_stores_nothing(module_hub, name, body, ctype, status, words):
    with httpx.Client(base_url=module_hub.base_url, timeout=10) as integration:
        before = _counts(module_hub)
        r = post_inbound(integration, body.encode() if isinstance(body, str) else body, headers={"content-type": ctype})
        assert r.status_code == status, r.text
        assert words.lower() in r.json()["detail"].lower()
        assert _counts(module_hub) == before
        assert post_inbound(integration, inbound("still serving", f"after-{name}")).status_code == 201


def test_integration_key_is_checked(hub_server, integration):
    assert post_inbound(integration, OK, key="wrong").status_code == 401
    r = integration.post("/api/channels/api/messages", json=OK)
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    r = post_inbound(integration, OK, headers={"authorization": "Bearer pk_test_key"})
    assert r.status_code == 201
    assert (
        integration.post(
            "/api/channels/pager/messages", json=OK, headers={"authorization": "Bearer pk_test_key"}
        ).status_code
        == 404
    )


def test_bad_agent_input(hub_server, staff, integration):
    ana = staff["ana"]
    conv = post_inbound(integration, OK).json()["conversation_id"]
    cases = [
        (f"/api/conversations/{conv}/messages", {"text": ""}, 400),
        (f"/api/conversations/{conv}/messages", {"text": "x" * 5001}, 400),
        (f"/api/conversations/{conv}/messages", {"text": "hi", "channel": "pager"}, 400),
        (f"/api/conversations/{conv}/messages", {"text": "hi", "channel": "email"}, 400),  # no email on file
        (f"/api/conversations/{conv}/messages", {"txt": "hi"}, 400),
        (f"/api/conversations/{conv}/notes", "not json", 400),
        (f"/api/conversations/{conv}/status", {"status": "closed"}, 400),
        (f"/api/conversations/{conv}/status", {"status": "open"}, 400),  # already open
        (f"/api/conversations/{conv}/assign", {"agent_id": 9999}, 403),  # agents assign only themselves
        ("/api/conversations/999999/notes", {"text": "x"}, 404),
    ]
    for path, body, status in cases:
        kw = (
            {"content": body, "headers": {"content-type": "application/json"}}
            if isinstance(body, str)
            else {"json": body}
        )
        r = ana.post(path, **kw)
        assert r.status_code == status, (path, body, r.status_code, r.text)
        assert r.json()["detail"]
    r = staff["sofia"].post(f"/api/conversations/{conv}/assign", json={"agent_id": 9999})
    assert r.status_code == 400 and "no active agent" in r.json()["detail"]
    for q in ("limit=0", "limit=100000", "before=-3", "limit=abc"):
        assert (
            ana.get(f"/api/conversations?{q}" if "before" not in q else f"/api/patients/1/timeline?{q}").status_code
            == 400
        )
    # nothing above reached the timeline
    events = (
        staff["sofia"]
        .get("/api/patients/{}/timeline".format(post_inbound(integration, OK).json()["patient_id"]))
        .json()["events"]
    )
    assert [e["kind"] for e in events] == ["message_in"]


def test_openapi_schema_is_served(hub_server, integration):
    schema = integration.get("/schema/openapi.json").json()
    assert "/api/channels/{name}/messages" in schema["paths"]
    assert "/api/patients/{patient_id}/timeline" in schema["paths"]


def test_out_of_range_numbers_are_400_not_database_errors(hub_server, staff, integration):
    huge = 10**20
    ana = staff["ana"]
    for path in (
        f"/api/patients/{huge}",
        f"/api/conversations/{huge}",
        f"/api/patients/1/timeline?before={huge}",
        f"/api/patients/{2**31}",
        f"/api/audit?agent_id={huge}",
    ):
        who = staff["admin"] if "audit" in path else ana
        assert who.get(path).status_code == 400, path
    assert ana.post(f"/api/conversations/{huge}/notes", json={"text": "x"}).status_code == 400
    assert ana.post("/api/conversations/1/assign", json={"agent_id": huge}).status_code == 400
    key = {"authorization": "Bearer pk_test_key"}
    assert integration.get(f"/api/channels/api/outbox?after={huge}", headers=key).status_code == 400
    r = integration.post("/api/channels/api/status", json={"message_seq": huge, "status": "sent"}, headers=key)
    assert r.status_code == 400
    assert post_inbound(integration, OK).status_code in (200, 201)  # still serving


# Signed by fields of the form itself (Mailgun's timestamp, token and signature): no OpenAPI
# security scheme can say so, the operation's description does.
SIGNED_IN_BODY = {"/api/channels/email/mailgun"}


def test_no_route_answers_500_to_a_request_without_a_user(hub_server):
    """Every path and method in the OpenAPI document, and OPTIONS on each, with no session, no key
    and no token: refused (401, 403, 404, 405...) or answered, never a 500. A guard that fails
    without a user is caught here."""
    schema = httpx.get(f"{hub_server.base_url}/schema/openapi.json").json()
    seen = 0
    with httpx.Client(base_url=hub_server.base_url, timeout=10) as http:
        for template, operations in schema["paths"].items():
            path = template.replace("{", "").replace("}", "")  # any value: 1, a word...
            path = "/".join("1" if part.endswith("_id") or part in ("seq", "id") else part for part in path.split("/"))
            for method in [m.upper() for m in operations if m in {"get", "post", "put", "patch", "delete"}] + [
                "OPTIONS"
            ]:
                r = http.request(method, path, headers={"origin": "https://elsewhere.example"})
                assert r.status_code < 500, (method, path, r.status_code, r.text[:200])
                seen += 1
                if method == "OPTIONS":
                    continue
                # The document says what the hub does: a route that names credentials never serves a
                # stranger, and one that names none never refuses one for the lack of them.
                if operations[method.lower()].get("security"):
                    assert not 200 <= r.status_code < 300, (method, template, r.status_code)
                else:
                    assert r.status_code not in (401, 403) or template in SIGNED_IN_BODY, (method, template)
    assert seen > 60

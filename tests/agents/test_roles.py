"""Every route, every role: the guard table is the spec, and a route missing from it fails."""

from __future__ import annotations

import httpx
import pytest
from litestar.routes import HTTPRoute

from tests.support.clients import Staff, inbound, post_inbound

PUBLIC, INTEGRATION, SIGNED = "public", "integration", "signed by the SMS provider"
STEP = "a sign-in's second step: its ticket, not a session"
VISITOR = "a web-chat visitor's token"
AGENT, SUPERVISOR, ADMIN = "agent", "supervisor", "admin"
RANK = {AGENT: 1, SUPERVISOR: 2, ADMIN: 3}
ROLES = [None, "ana", "sofia", "admin"]  # anonymous, agent, supervisor, admin
ROLE_OF = {"ana": AGENT, "sofia": SUPERVISOR, "admin": ADMIN}

# (method, path template) -> (who may call it, concrete path, JSON body)
ROUTES = {
    ("GET", "/api/health"): (PUBLIC, "/api/health", None),
    ("POST", "/api/auth/login"): (PUBLIC, "/api/auth/login", {"login": "nobody", "password": "x"}),
    ("POST", "/api/auth/logout"): (AGENT, "/api/auth/logout", None),
    ("GET", "/api/auth/me"): (AGENT, "/api/auth/me", None),
    ("PATCH", "/api/auth/me"): (AGENT, "/api/auth/me", {"ui_language": None}),
    ("GET", "/api/i18n/web"): (PUBLIC, "/api/i18n/web?lang=es", None),
    ("GET", "/api/auth/setup"): (PUBLIC, "/api/auth/setup", None),
    ("POST", "/api/auth/login/totp"): (STEP, "/api/auth/login/totp", {"ticket": "forged.ticket", "code": "123456"}),
    ("POST", "/api/auth/login/enrol"): (STEP, "/api/auth/login/enrol", {"ticket": "forged.ticket"}),
    ("POST", "/api/auth/login/enrol/confirm"): (
        STEP,
        "/api/auth/login/enrol/confirm",
        {"enrolment": "forged.ticket", "code": "123456"},
    ),
    ("POST", "/api/auth/reset"): (
        PUBLIC,
        "/api/auth/reset",
        {"login": "nobody", "code": "abcde-fghjk", "password": "a-long-password-1"},
    ),
    ("GET", "/api/auth/mfa"): (AGENT, "/api/auth/mfa", None),
    ("POST", "/api/auth/mfa/enrol"): (AGENT, "/api/auth/mfa/enrol", None),
    ("POST", "/api/auth/mfa/confirm"): (AGENT, "/api/auth/mfa/confirm", {"enrolment": "forged.x", "code": "123456"}),
    ("POST", "/api/auth/password"): (AGENT, "/api/auth/password", {"current": "not-it", "new": "a-long-password-1"}),
    ("PATCH", "/api/agents/{agent_id:int}"): (ADMIN, "/api/agents/4", {"capacity": 5}),
    ("POST", "/api/agents/{agent_id:int}/password-reset"): (ADMIN, "/api/agents/4/password-reset", None),
    ("POST", "/api/agents/{agent_id:int}/mfa-reset"): (ADMIN, "/api/agents/4/mfa-reset", None),
    ("GET", "/api/security/policy"): (ADMIN, "/api/security/policy", None),
    ("PUT", "/api/security/policy"): (ADMIN, "/api/security/policy", {"mfa_required": {}}),
    ("POST", "/api/teams"): (ADMIN, "/api/teams", {"name": "Role walk team"}),
    ("PATCH", "/api/teams/{team_id:int}"): (ADMIN, "/api/teams/1", {"name_es": "Citas"}),
    ("POST", "/api/break-glass"): (AGENT, "/api/break-glass", {"patient_id": "{p}", "reason": "role walk reason"}),
    ("GET", "/api/break-glass"): (AGENT, "/api/break-glass", None),
    ("GET", "/api/audit/export.csv"): (ADMIN, "/api/audit/export.csv", None),
    ("GET", "/api/reports/kpis"): (SUPERVISOR, "/api/reports/kpis", None),
    ("GET", "/api/reports/conversations"): (SUPERVISOR, "/api/reports/conversations?kpi=abandoned", None),
    ("GET", "/api/reports/export.csv"): (SUPERVISOR, "/api/reports/export.csv?table=by_channel", None),
    ("GET", "/api/agents"): (SUPERVISOR, "/api/agents", None),
    ("POST", "/api/agents"): (
        ADMIN,
        "/api/agents",
        {"login": "zoe", "display_name": "Zoe", "password": "a-long-password-1"},
    ),
    ("GET", "/api/teams"): (AGENT, "/api/teams", None),
    ("GET", "/api/conversations"): (AGENT, "/api/conversations", None),
    ("GET", "/api/conversations/{conversation_id:int}"): (AGENT, "/api/conversations/{c}", None),
    ("POST", "/api/conversations/{conversation_id:int}/messages"): (
        AGENT,
        "/api/conversations/{c}/messages",
        {"text": "hi"},
    ),
    ("POST", "/api/conversations/{conversation_id:int}/notes"): (AGENT, "/api/conversations/{c}/notes", {"text": "n"}),
    ("POST", "/api/conversations/{conversation_id:int}/assign"): (
        AGENT,
        "/api/conversations/{c}/assign",
        {"agent_id": None},
    ),
    ("POST", "/api/conversations/{conversation_id:int}/status"): (
        AGENT,
        "/api/conversations/{c}/status",
        {"status": "pending"},
    ),
    ("POST", "/api/conversations/{conversation_id:int}/read"): (AGENT, "/api/conversations/{c}/read", {"upto": 1}),
    ("GET", "/api/patients"): (AGENT, "/api/patients?q=role", None),
    ("POST", "/api/imports/csv"): (ADMIN, "/api/imports/csv", None),
    ("POST", "/api/imports/csv/{run_id:int}/preview"): (ADMIN, "/api/imports/csv/999/preview", {"mapping": {}}),
    ("POST", "/api/imports/csv/{run_id:int}/start"): (ADMIN, "/api/imports/csv/999/start", {"mapping": {}}),
    ("GET", "/api/imports/csv/{run_id:int}"): (ADMIN, "/api/imports/csv/999", None),
    ("GET", "/api/patients/{patient_id:int}"): (AGENT, "/api/patients/{p}", None),
    ("GET", "/api/media/{media_id:int}"): (AGENT, "/api/media/1", None),
    ("GET", "/api/media/{media_id:int}/playable"): (AGENT, "/api/media/1/playable", None),
    ("GET", "/api/search"): (AGENT, "/api/search?q=role", None),
    ("POST", "/api/conversations/{conversation_id:int}/transfer"): (
        AGENT,
        "/api/conversations/{c}/transfer",
        {"team_id": 1},
    ),
    ("POST", "/api/conversations/{conversation_id:int}/hand-back"): (AGENT, "/api/conversations/{c}/hand-back", None),
    ("GET", "/api/conversations/counts"): (AGENT, "/api/conversations/counts?channel=sms", None),
    ("POST", "/api/conversations/{conversation_id:int}/snooze"): (
        AGENT,
        "/api/conversations/{c}/snooze",
        {"preset": "hour"},
    ),
    ("DELETE", "/api/conversations/{conversation_id:int}/snooze"): (AGENT, "/api/conversations/{c}/snooze", None),
    ("GET", "/api/presence"): (AGENT, "/api/presence", None),
    ("PUT", "/api/presence"): (AGENT, "/api/presence", {"available": False}),
    ("GET", "/api/floor"): (SUPERVISOR, "/api/floor", None),
    ("GET", "/api/csat/channels"): (SUPERVISOR, "/api/csat/channels", None),
    ("PUT", "/api/csat/channels"): (ADMIN, "/api/csat/channels", {"sms": True}),
    ("GET", "/api/csat/survey/{token:str}"): (PUBLIC, "/api/csat/survey/1.forged", None),
    ("POST", "/api/csat/survey/{token:str}"): (PUBLIC, "/api/csat/survey/1.forged", {"score": 4}),
    ("POST", "/api/webchat/csat"): (VISITOR, "/api/webchat/csat", {"score": 4}),
    ("POST", "/api/floor/agents/{agent_id:int}/away"): (SUPERVISOR, "/api/floor/agents/4/away", None),
    ("GET", "/api/teams/hours"): (AGENT, "/api/teams/hours", None),
    ("PUT", "/api/teams/{team_id:int}/hours"): (ADMIN, "/api/teams/1/hours", {"mon": [["08:00", "17:00"]]}),
    ("GET", "/api/holidays"): (AGENT, "/api/holidays", None),
    ("POST", "/api/holidays"): (ADMIN, "/api/holidays", {"day": "2030-12-25", "name": "Christmas"}),
    ("DELETE", "/api/holidays/{holiday_id:int}"): (ADMIN, "/api/holidays/999", None),
    ("GET", "/api/templates"): (AGENT, "/api/templates", None),
    ("GET", "/api/templates/placeholders"): (SUPERVISOR, "/api/templates/placeholders", None),
    ("POST", "/api/templates/preview"): (SUPERVISOR, "/api/templates/preview", {"content": {"chat": {}}}),
    ("POST", "/api/templates"): (
        SUPERVISOR,
        "/api/templates",
        {"key": "role_walk", "purpose": "p", "content": {"chat": {}}},
    ),
    ("GET", "/api/templates/{key:str}"): (SUPERVISOR, "/api/templates/greeting", None),
    ("PUT", "/api/templates/{key:str}/draft"): (
        SUPERVISOR,
        "/api/templates/greeting/draft",
        {"content": {"chat": {}}, "seen_updated_at": None},
    ),
    ("DELETE", "/api/templates/{key:str}/draft"): (SUPERVISOR, "/api/templates/greeting/draft", None),
    ("POST", "/api/templates/{key:str}/restore"): (
        SUPERVISOR,
        "/api/templates/greeting/restore",
        {"number": 1, "seen_updated_at": None},
    ),
    ("POST", "/api/templates/{key:str}/publish"): (
        ADMIN,
        "/api/templates/greeting/publish",
        {"seen_updated_at": "2026-01-01T00:00:00Z"},
    ),
    ("GET", "/api/conversations/{conversation_id:int}/templates/{key:str}"): (
        AGENT,
        "/api/conversations/{c}/templates/greeting",
        None,
    ),
    ("GET", "/api/canned"): (AGENT, "/api/canned", None),
    ("POST", "/api/canned"): (AGENT, "/api/canned", {"shortcut": "rolewalk", "title": "t", "texts": {"en": "x"}}),
    ("PATCH", "/api/canned/{canned_id:int}"): (AGENT, "/api/canned/999", {"title": "x"}),
    ("DELETE", "/api/canned/{canned_id:int}"): (AGENT, "/api/canned/999", None),
    ("GET", "/api/conversations/{conversation_id:int}/canned/{canned_id:int}"): (
        AGENT,
        "/api/conversations/{c}/canned/999",
        None,
    ),
    ("GET", "/api/reply-channels"): (AGENT, "/api/reply-channels", None),
    ("GET", "/api/patients/{patient_id:int}/timeline"): (AGENT, "/api/patients/{p}/timeline", None),
    ("PATCH", "/api/patients/{patient_id:int}"): (AGENT, "/api/patients/{p}", {"preferred_language": "en"}),
    ("POST", "/api/patients/{patient_id:int}/contact-points"): (
        AGENT,
        "/api/patients/{p}/contact-points",
        {"kind": "email", "address": "role.walk@example.org"},
    ),
    ("DELETE", "/api/patients/{patient_id:int}/contact-points/{contact_point_id:int}"): (
        SUPERVISOR,
        "/api/patients/{p}/contact-points/999999",
        None,
    ),
    ("POST", "/api/patients/{patient_id:int}/identifiers"): (
        SUPERVISOR,
        "/api/patients/{p}/identifiers",
        {"value": "RW-1"},
    ),
    ("POST", "/api/patients/{patient_id:int}/consents"): (
        AGENT,
        "/api/patients/{p}/consents",
        {"channel": "email", "granted": True, "source": "role walk"},
    ),
    ("GET", "/api/patients/{patient_id:int}/merge-preview"): (
        SUPERVISOR,
        "/api/patients/{p}/merge-preview?source=999999",
        None,
    ),
    ("POST", "/api/patients/{patient_id:int}/merges"): (SUPERVISOR, "/api/patients/{p}/merges", {"source_id": 999999}),
    ("POST", "/api/patients/merges/{merge_id:int}/undo"): (SUPERVISOR, "/api/patients/merges/999999/undo", None),
    ("POST", "/api/patients/{patient_id:int}/conversations"): (
        AGENT,
        "/api/patients/{p}/conversations",
        {"channel": "sms", "text": "role walk"},
    ),
    ("GET", "/api/patients/{patient_id:int}/templates/{key:str}"): (
        AGENT,
        "/api/patients/{p}/templates/greeting",
        None,
    ),
    ("POST", "/api/language/check"): (AGENT, "/api/language/check", {"text": "NPO after midnight", "locale": "en"}),
    ("GET", "/api/audit"): (ADMIN, "/api/audit", None),
    ("GET", "/api/fhir/link"): (ADMIN, "/api/fhir/link", None),
    ("GET", "/api/fhir/imports"): (ADMIN, "/api/fhir/imports", None),
    ("POST", "/api/fhir/imports"): (ADMIN, "/api/fhir/imports", {"full": False}),  # 409: no EHR link set up
    ("POST", "/api/fhir/imports/{run_id:int}/resume"): (ADMIN, "/api/fhir/imports/999/resume", None),
    ("GET", "/api/red-flags"): (SUPERVISOR, "/api/red-flags", None),
    ("POST", "/api/red-flags"): (
        ADMIN,
        "/api/red-flags",
        {"language": "en", "phrase": "role walk toes purple", "category": "cardiac"},
    ),
    ("DELETE", "/api/red-flags/{flag_id:int}"): (ADMIN, "/api/red-flags/1", None),
    ("POST", "/api/channels/{name:str}/messages"): (INTEGRATION, "/api/channels/api/messages", None),
    ("GET", "/api/channels/api/outbox"): (INTEGRATION, "/api/channels/api/outbox", None),
    ("POST", "/api/channels/api/status"): (INTEGRATION, "/api/channels/api/status", None),
    ("POST", "/api/channels/sms/inbound"): (SIGNED, "/api/channels/sms/inbound", None),
    ("POST", "/api/channels/sms/status"): (SIGNED, "/api/channels/sms/status", None),
    ("POST", "/api/channels/voice/voicemail"): (SIGNED, "/api/channels/voice/voicemail", None),
    # Email webhooks: SendGrid's credentials or Mailgun's signature (refused here: none set up).
    ("POST", "/api/channels/email/sendgrid"): (SIGNED, "/api/channels/email/sendgrid", None),
    ("POST", "/api/channels/email/mailgun"): (SIGNED, "/api/channels/email/mailgun", None),
    ("GET", "/api/email/messages/{seq:int}/source"): (AGENT, "/api/email/messages/1/source", None),
    ("GET", "/api/email/messages/{seq:int}/html"): (AGENT, "/api/email/messages/1/html", None),
    ("POST", "/api/webchat/sessions"): (PUBLIC, "/api/webchat/sessions", {"name": "Role walk"}),
    ("GET", "/api/webchat/strings"): (PUBLIC, "/api/webchat/strings", None),
    ("POST", "/api/webchat/messages"): (VISITOR, "/api/webchat/messages", {"id": "m-rolewalk1", "text": "hi"}),
    ("POST", "/api/webchat/voice"): (VISITOR, "/api/webchat/voice?id=m-rolewalk1", None),
    ("POST", "/api/webchat/verifications"): (VISITOR, "/api/webchat/verifications", {"email": "a@example.org"}),
    ("POST", "/api/webchat/verifications/confirm"): (VISITOR, "/api/webchat/verifications/confirm", {"code": "123456"}),
    ("GET", "/"): (PUBLIC, "/", None),
    ("GET", "/{file_path:path}"): (PUBLIC, "/index.html", None),
}
NOT_API = ("/schema",)  # the OpenAPI document and its viewers are public by design


def _app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if route.path.startswith(NOT_API) or not isinstance(route, HTTPRoute):
            continue
        for method in route.methods - {"OPTIONS", "HEAD"}:
            found.add((method, route.path))
    return found


def test_the_table_covers_every_route(hub_server):
    assert _app_routes(hub_server.app) == set(ROUTES)


@pytest.mark.parametrize("hub_server_options", [{"max_failures": 1000}], indirect=True)  # the walk fails on purpose
@pytest.mark.parametrize("login", ROLES)
def test_every_route_with_every_role(hub_server, login):
    target = post_inbound(httpx.Client(base_url=hub_server.base_url), inbound("role walk", "role-walk-1")).json()
    client = Staff(hub_server.base_url, login)
    for (method, _), (who, path, body) in sorted(ROUTES.items()):
        path = path.format(c=target["conversation_id"], p=target["patient_id"])
        if who == SIGNED:  # no session or role opens these: only the provider's signature
            r = client.request(
                method,
                path,
                content=b"MessageSid=SMx&From=%2B16505550100&Body=hi",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert r.status_code == 403, (login, method, path, r.status_code)
            continue
        if who == INTEGRATION:
            r = client.request(method, path, json=inbound("x", "role-x"))  # a session is no integration key
            assert r.status_code == 401, (login, method, path, r.status_code)
            continue
        if who == VISITOR:  # a staff session is no visitor token
            r = client.request(method, path, json=body)
            assert r.status_code == 401, (login, method, path, r.status_code)
            continue
        if isinstance(body, dict) and body.get("patient_id") == "{p}":
            body = {**body, "patient_id": target["patient_id"]}
        r = client.request(method, path, json=body)
        if who == STEP:  # reached the handler, which refused the forged ticket, session or not
            assert r.status_code == 401 and "expired" in r.json()["detail"], (login, path, r.text)
        elif path == "/api/auth/login":  # reached the handler, which judged the credentials
            assert r.status_code == 401 and r.json()["detail"] == "Wrong login or password."
        elif who == PUBLIC:
            assert r.status_code not in (401, 403), (login, method, path, r.status_code)
        elif login is None:
            assert r.status_code == 401, (login, method, path, r.status_code)
        elif RANK[ROLE_OF[login]] < RANK[who]:
            assert r.status_code == 403, (login, method, path, r.status_code)
        else:
            assert r.status_code not in (401, 403), (login, method, path, r.status_code, r.text)
        if path == "/api/auth/logout" and login is not None:
            client = Staff(hub_server.base_url, login)  # sign back in for the rest of the walk
    client.close()


def test_unsafe_requests_need_the_csrf_token(hub_server, staff):
    ana = staff["ana"]
    conv = ana.get("/api/conversations").json()["conversations"][0]
    r = ana.http.post(f"/api/conversations/{conv['id']}/notes", json={"text": "no token"})
    assert r.status_code == 403 and "csrf" in r.text.lower()
    r = ana.http.post(
        f"/api/conversations/{conv['id']}/notes", json={"text": "bad token"}, headers={"x-csrf-token": "forged"}
    )
    assert r.status_code == 403
    assert ana.post(f"/api/conversations/{conv['id']}/notes", json={"text": "with token"}).status_code == 201

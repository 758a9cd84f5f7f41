"""A clinic sets itself up (issue 16), through the real HTTP API of a real hub: the first admin from
the command line, staff and teams, passwords, MFA, break-glass, the audit viewer, security headers,
and anonymous requests that leave no session behind."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pyotp
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.clients import Staff, inbound, post_inbound
from tests.support.paths import ROOT
from tests.support.server import HubServer, hub_settings
from tests.support.stream import StreamClient


def _db(srv: HubServer) -> sqlite3.Connection:
    return sqlite3.connect(srv.settings.database.url.split("///", 1)[1])


def _puente(data_dir: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PUENTE_DATA_DIR": str(data_dir), **env},
        timeout=120,
    )


def _sign_in(base_url: str, login: str, password: str) -> tuple[Staff, httpx.Response]:
    c = Staff(base_url)
    return c, c.post("/api/auth/login", json={"login": login, "password": password})


def test_create_admin_is_idempotent_audited_and_refuses_weak_passwords(tmp_path):
    weak = _puente(tmp_path, "create-admin", "--login", "alex", stdin="password1234\n")
    assert weak.returncode != 0 and "most common" in weak.stderr
    made = _puente(tmp_path, "create-admin", "--login", "alex", "--name", "Alex Rivera", stdin="tall-gray-heron-42\n")
    assert made.returncode == 0, made.stderr
    assert "was made" in made.stdout
    again = _puente(tmp_path, "create-admin", "--login", "alex", stdin="tall-gray-heron-42\n")
    assert again.returncode == 0 and "already" in again.stdout
    with sqlite3.connect(tmp_path / "puente.db") as db:
        rows = db.execute("SELECT login, role, active FROM agents").fetchall()
        audit = db.execute("SELECT action, detail FROM audit_log WHERE action = 'agent.create'").fetchall()
    assert rows == [("alex", "admin", 1)]
    assert len(audit) == 1 and '"via": "command"' in audit[0][1].replace('":"', '": "')


def test_without_an_admin_the_hub_says_how_to_make_one_then_the_environment_makes_it(tmp_path):
    settings = hub_settings(tmp_path, demo=False)
    srv = HubServer(settings).start()
    try:
        assert httpx.get(f"{srv.base_url}/api/auth/setup").json() == {"has_admin": False}
    finally:
        srv.stop()
    password_file = tmp_path / "admin-password"
    password_file.write_text("tall-gray-heron-42\n")
    admin = replace(settings.admin, login="alex", display_name="Alex Rivera", password_file=str(password_file))
    srv = HubServer(replace(settings, admin=admin)).start()
    try:
        assert httpx.get(f"{srv.base_url}/api/auth/setup").json() == {"has_admin": True}
        c, r = _sign_in(srv.base_url, "alex", "tall-gray-heron-42")
        assert r.status_code == 200 and r.json()["role"] == "admin" and r.json()["display_name"] == "Alex Rivera"
    finally:
        srv.stop()


def test_admin_edits_staff_and_teams_and_every_change_is_audited(hub_server, staff):
    admin = staff["admin"]
    weak = admin.post("/api/agents", json={"login": "carla", "display_name": "Carla", "password": "Password123!"})
    assert weak.status_code == 400 and "most common" in weak.json()["detail"]
    short = admin.post("/api/agents", json={"login": "carla", "display_name": "Carla", "password": "short-pw"})
    assert short.status_code == 400 and "at least 12" in short.json()["detail"]
    team = admin.post("/api/teams", json={"name": "Front desk", "name_es": "Recepción"})
    assert team.status_code == 201, team.text
    team = team.json()
    assert team["key"] == "front_desk" and team["name_es"] == "Recepción"
    carla = admin.post(
        "/api/agents",
        json={"login": "carla", "display_name": "Carla", "password": "tall-gray-heron-42", "team_ids": [team["id"]]},
    ).json()
    r = admin.request(
        "PATCH",
        f"/api/agents/{carla['id']}",
        json={"display_name": "Carla Ruiz", "role": "supervisor", "languages": ["es", "en"], "capacity": 8},
    )
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Carla Ruiz" and r.json()["capacity"] == 8 and r.json()["role"] == "supervisor"
    assert admin.request("PATCH", f"/api/teams/{team['id']}", json={"name": "Reception"}).json()["name"] == "Reception"
    bad = admin.request("PATCH", f"/api/agents/{carla['id']}", json={"team_ids": [99999]})
    assert bad.status_code == 400 and bad.json()["detail"] == "Unknown team."
    # the last admin cannot be demoted or deactivated
    r = admin.request("PATCH", f"/api/agents/{admin.me['id']}", json={"role": "agent"})
    assert r.status_code == 409 and "last active administrator" in r.json()["detail"]
    actions = {
        row["action"] for row in admin.get("/api/audit", params={"agent_id": admin.me["id"], "action": "agent."}).json()
    }
    assert {"agent.create", "agent.update"} <= actions
    assert admin.get("/api/audit", params={"action": "team."}).json()[0]["detail"]["name"]["to"] == "Reception"


def test_deactivation_closes_sockets_ends_sessions_and_requeues_conversations(hub_server, staff):
    admin, ana = staff["admin"], staff["ana"]
    conv = post_inbound(httpx.Client(base_url=hub_server.base_url), inbound("Leaver test", "leaver-1")).json()
    assert ana.post(f"/api/conversations/{conv['conversation_id']}/assign", json={"agent_id": ana.me["id"]}).is_success
    stream = StreamClient(hub_server.ws_url, ana, after=0).open()
    stream.read_until_ready()
    started = time.monotonic()
    r = admin.request("PATCH", f"/api/agents/{ana.me['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    with pytest.raises(ConnectionClosed):
        while True:
            stream.recv(timeout=10)
    assert stream.ws is not None and stream.ws.close_code == 4401
    assert time.monotonic() - started < 3  # told at once, not at the next poll
    assert ana.get("/api/auth/me").status_code == 401
    _, again = _sign_in(hub_server.base_url, "ana", "puente-ana-demo")
    assert again.status_code == 401
    now = staff["sofia"].get(f"/api/conversations/{conv['conversation_id']}").json()
    assert now["assignee_id"] is None and now["queued_at"] is not None
    assert admin.request("PATCH", f"/api/agents/{admin.me['id']}", json={"active": False}).status_code == 409
    assert admin.request("PATCH", f"/api/agents/{ana.me['id']}", json={"active": True}).json()["active"] is True
    assert _sign_in(hub_server.base_url, "ana", "puente-ana-demo")[1].status_code == 200


def test_passwords_change_and_reset_with_a_one_time_code(hub_server, staff):
    admin, ben = staff["admin"], staff["ben"]
    other, _ = _sign_in(hub_server.base_url, "ben", "puente-ben-demo")  # a second session of his
    r = ben.post("/api/auth/password", json={"current": "wrong", "new": "tall-gray-heron-42"})
    assert r.status_code == 400 and r.json()["detail"] == "The current password is wrong."
    r = ben.post("/api/auth/password", json={"current": "puente-ben-demo", "new": "iloveyou"})
    assert r.status_code == 400 and "at least 12" in r.json()["detail"]
    r = ben.post("/api/auth/password", json={"current": "puente-ben-demo", "new": "tall-gray-heron-42"})
    assert r.status_code == 200, r.text
    assert ben.get("/api/auth/me").status_code == 200  # this session goes on
    assert other.get("/api/auth/me").status_code == 401  # every other one ended
    hashes = [h for (h,) in _db(hub_server).execute("SELECT password_hash FROM agents WHERE login = 'ben'")]
    assert hashes[0].startswith("$argon2id$")

    code = admin.post(f"/api/agents/{ben.me['id']}/password-reset").json()
    assert code["login"] == "ben" and len(code["code"]) >= 15
    anon = Staff(hub_server.base_url)
    wrong = anon.post("/api/auth/reset", json={"login": "ben", "code": "aaaaa-bbbbb-ccccc", "password": "x" * 3})
    assert wrong.status_code == 400  # a weak password is said first, before the code is tried
    forged = {"login": "ben", "code": "aaaaa-bbbbb-ccccc", "password": "new-ben-pass-77"}
    wrong = anon.post("/api/auth/reset", json=forged)
    assert wrong.status_code == 400 and "wrong or has been used" in wrong.json()["detail"]
    ok = anon.post("/api/auth/reset", json={**forged, "code": code["code"].upper()})
    assert ok.status_code == 200, ok.text
    used = anon.post("/api/auth/reset", json={"login": "ben", "code": code["code"], "password": "new-ben-pass-88"})
    assert used.status_code == 400
    assert _sign_in(hub_server.base_url, "ben", "new-ben-pass-77")[1].status_code == 200
    # an expired code is refused, and says so
    code = admin.post(f"/api/agents/{ben.me['id']}/password-reset").json()
    with _db(hub_server) as db:
        db.execute("UPDATE agents SET reset_expires_at = '2000-01-01 00:00:00' WHERE login = 'ben'")
    r = anon.post("/api/auth/reset", json={"login": "ben", "code": code["code"], "password": "new-ben-pass-99"})
    assert r.status_code == 400 and "expired" in r.json()["detail"]
    actions = [a for (a,) in _db(hub_server).execute("SELECT action FROM audit_log WHERE action LIKE 'auth.reset%'")]
    assert sorted(set(actions)) == ["auth.reset_failed", "auth.reset_issued", "auth.reset_used"]


def _next_code(secret: str, ahead: int = 1) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * ahead)


def test_mfa_enrolment_sign_in_replay_recovery_and_policy(hub_server, staff):
    ana, admin = staff["ana"], staff["admin"]
    setup = ana.post("/api/auth/mfa/enrol").json()
    assert setup["qr"].startswith("data:image/svg+xml") and setup["uri"].startswith("otpauth://totp/")
    bad = ana.post("/api/auth/mfa/confirm", json={"enrolment": setup["enrolment"], "code": "000000"})
    assert bad.status_code == 400 and "Wrong code" in bad.json()["detail"]
    first = _next_code(setup["secret"], 0)
    ok = ana.post("/api/auth/mfa/confirm", json={"enrolment": setup["enrolment"], "code": first})
    assert ok.status_code == 200, ok.text
    recovery = ok.json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert ana.get("/api/auth/mfa").json() == {"enrolled": True, "required": False, "recovery_codes_left": 10}
    stored = _db(hub_server).execute("SELECT recovery_codes FROM agents WHERE login = 'ana'").fetchone()[0]
    assert recovery[0] not in stored  # only their HMACs are kept

    c, r = _sign_in(hub_server.base_url, "ana", "puente-ana-demo")
    assert r.json()["step"] == "totp" and c.get("/api/auth/me").status_code == 401  # no session yet
    ticket = r.json()["ticket"]
    wrong = c.post("/api/auth/login/totp", json={"ticket": ticket, "code": "123456"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Wrong code."
    code = _next_code(setup["secret"])
    assert c.post("/api/auth/login/totp", json={"ticket": ticket, "code": code}).status_code == 200
    assert c.get("/api/auth/me").json()["login"] == "ana"
    d, r = _sign_in(hub_server.base_url, "ana", "puente-ana-demo")
    replay = d.post("/api/auth/login/totp", json={"ticket": r.json()["ticket"], "code": code})
    assert replay.status_code == 401 and "used already" in replay.json()["detail"]
    assert d.post("/api/auth/login/totp", json={"ticket": r.json()["ticket"], "code": recovery[0]}).status_code == 200
    e, r = _sign_in(hub_server.base_url, "ana", "puente-ana-demo")
    again = e.post("/api/auth/login/totp", json={"ticket": r.json()["ticket"], "code": recovery[0]})
    assert again.status_code == 401  # a recovery code works once
    ticket = r.json()["ticket"]

    # admins require MFA of agents: ben, who has none, is led through enrolment at sign-in
    r = admin.request("PUT", "/api/security/policy", json={"mfa_required": {"agent": True}})
    assert r.json()["mfa_required"] == {"agent": True, "supervisor": False, "admin": False}
    b, r = _sign_in(hub_server.base_url, "ben", "puente-ben-demo")
    assert r.json()["step"] == "enrol"
    setup = b.post("/api/auth/login/enrol", json={"ticket": r.json()["ticket"]}).json()
    done = b.post(
        "/api/auth/login/enrol/confirm",
        json={"enrolment": setup["enrolment"], "code": _next_code(setup["secret"], 0)},
    )
    assert done.status_code == 200 and done.json()["me"]["login"] == "ben" and len(done.json()["recovery_codes"]) == 10
    assert b.get("/api/auth/me").json()["login"] == "ben"
    # an admin resets ben's MFA (a lost phone): signed out, and led through enrolment again
    assert admin.post(f"/api/agents/{b.get('/api/auth/me').json()['id']}/mfa-reset").json()["mfa_enrolled"] is False
    assert b.get("/api/auth/me").status_code == 401
    assert _sign_in(hub_server.base_url, "ben", "puente-ben-demo")[1].json()["step"] == "enrol"
    actions = {a for (a,) in _db(hub_server).execute("SELECT action FROM audit_log WHERE action LIKE 'auth.%'")}
    assert {"auth.mfa_enrol", "auth.mfa_failed", "auth.mfa_reset", "auth.role_policy"} <= actions
    # wrong codes are throttled
    for _ in range(12):
        last = e.post("/api/auth/login/totp", json={"ticket": ticket, "code": "999999"})
    assert last.status_code == 429 and last.headers["retry-after"]


def test_break_glass_is_time_limited_audited_and_alerts_supervisors(hub_server, staff):
    sofia, ben = staff["sofia"], staff["ben"]
    maria = next(
        c for c in sofia.get("/api/conversations").json()["conversations"] if c["patient_name"] == "María González"
    )  # the scheduling team's; ben is in billing
    pid = maria["patient_id"]
    assert ben.get(f"/api/patients/{pid}/timeline").status_code == 404
    watch = StreamClient(hub_server.ws_url, sofia, after=0).open()
    watch.read_until_ready()
    short = ben.post("/api/break-glass", json={"patient_id": pid, "reason": "urgent"})
    assert short.status_code == 400
    both = ben.post("/api/break-glass", json={"patient_id": pid, "address": "+16505550134", "reason": "x" * 20})
    assert both.status_code == 400
    r = ben.post(
        "/api/break-glass",
        json={"address": "(650) 555-0134", "reason": "Patient on the phone with chest pain asking for her notes"},
    )
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["patient_id"] == pid and grant["patient_name"] == "María González"
    frame = watch.recv()
    while frame.get("type") != "break_glass":
        frame = watch.recv()
    assert frame["agent_name"] == "Ben Agent" and frame["patient_id"] == pid and "chest pain" in frame["reason"]
    timeline = ben.get(f"/api/patients/{pid}/timeline")
    assert timeline.status_code == 200 and timeline.json()["events"]
    assert ben.get("/api/break-glass").json()[0]["patient_id"] == pid
    rows = staff["admin"].get("/api/audit", params={"patient_id": pid, "agent_id": ben.me["id"]}).json()
    by_action = {r["action"]: r for r in rows}
    assert "chest pain" in by_action["patient.break_glass"]["detail"]["reason"]
    assert by_action["timeline.read"]["detail"]["break_glass"] == grant["id"]
    assert sofia.post("/api/break-glass", json={"patient_id": pid, "reason": "x" * 20}).status_code == 409
    with _db(hub_server) as db:  # the grant runs out
        db.execute("UPDATE break_glass SET expires_at = '2000-01-01 00:00:00'")
    assert ben.get(f"/api/patients/{pid}/timeline").status_code == 404
    unknown = ben.post("/api/break-glass", json={"address": "nobody@example.org", "reason": "x" * 20})
    assert unknown.status_code == 404


def test_audit_viewer_filters_pages_by_keyset_and_exports_csv(hub_server, staff):
    admin, ana = staff["admin"], staff["ana"]
    with _db(hub_server) as db:  # a longer trail than one page
        db.executemany(
            "INSERT INTO audit_log (at, agent_id, action, detail) VALUES (?, ?, 'timeline.read', '{}')",
            [(f"2026-01-01 00:{i // 60:02d}:{i % 60:02d}", ana.me["id"]) for i in range(250)],
        )
    seen: list[int] = []
    before = None
    while True:
        params = {"agent_id": ana.me["id"], "action": "timeline.read", "limit": 100}
        page = admin.get("/api/audit", params={**params, **({"before_id": before} if before else {})}).json()
        seen += [r["id"] for r in page]
        if len(page) < 100:
            break
        before = page[-1]["id"]
    assert len(seen) == 250 and seen == sorted(seen, reverse=True)
    window = admin.get(
        "/api/audit",
        params={"agent_id": ana.me["id"], "since": "2026-01-01T00:01:00Z", "until": "2026-01-01T00:02:00Z"},
    ).json()
    assert len(window) == 60 and all(r["agent_name"] == "Ana Agent" for r in window)
    assert admin.get("/api/audit", params={"since": "2026-01-01T00:01:00"}).status_code == 400  # no time zone
    assert admin.get("/api/audit", params={"action": "nothing."}).status_code == 400
    export = admin.get("/api/audit/export.csv", params={"agent_id": ana.me["id"]})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][:5] == ["id", "at", "agent_id", "agent_name", "action"] and len(rows) >= 251
    exports = admin.get("/api/audit", params={"action": "audit.export"}).json()
    assert exports and exports[0]["detail"]["agent_id"] == ana.me["id"]


PAGES = ["/", "/index.html", "/app.js", "/app.css", "/widget.js", "/chat-demo.html", "/api/health", "/nowhere"]


@pytest.mark.parametrize("any_hub_server", ["sqlite-redis"], indirect=True)
def test_security_headers_on_every_page_and_anonymous_requests_leave_no_session(any_hub_server):
    from redis import Redis

    srv = any_hub_server
    redis = Redis.from_url(srv.settings.realtime.redis_url)
    sessions = f"{srv.settings.realtime.channel_prefix}-sessions:*"
    before = len(list(redis.scan_iter(sessions)))
    anon = Staff(srv.base_url)  # signed out, with the CSRF cookie a page gets
    if True:
        for _ in range(8):  # (under the failed sign-in limit: 10 per address)
            for path in PAGES:
                r = anon.get(path)
                csp = r.headers["content-security-policy"]
                assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
                assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
                assert r.headers["referrer-policy"] == "no-referrer"
                assert "strict-transport-security" not in r.headers  # plain HTTP here
                assert "puente_session" not in r.headers.get("set-cookie", "")
            r = anon.post("/api/auth/login", json={"login": f"nobody{_ % 3}", "password": "wrong"})
            assert r.status_code in (401, 429) and "puente_session" not in r.headers.get("set-cookie", "")
            anon.post("/api/webchat/sessions", json={"name": "Anon"})
    assert len(list(redis.scan_iter(sessions))) == before
    ana = Staff(srv.base_url, "ana")  # signing in does keep one
    assert len(list(redis.scan_iter(sessions))) == before + 1
    assert ana.post("/api/auth/logout").status_code == 200
    r = httpx.get(f"{srv.base_url}/schema/swagger", follow_redirects=True)
    assert r.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_secure_cookies_and_hsts_when_the_public_url_is_https(tmp_path):
    settings = hub_settings(tmp_path)
    srv = HubServer(
        replace(settings, server=replace(settings.server, public_url="https://puente.clinic.example"))
    ).start()
    try:
        c = httpx.Client(base_url=srv.base_url)
        r = c.get("/api/health")
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in r.headers["set-cookie"].lower()  # the CSRF cookie
        token = r.headers["set-cookie"].split("puente_csrf=")[1].split(";")[0]
        # the client would not send a Secure cookie over plain HTTP: as a browser behind the TLS proxy does
        r = httpx.post(
            f"{srv.base_url}/api/auth/login",
            json={"login": "ana", "password": "puente-ana-demo"},
            headers={"x-csrf-token": token, "cookie": f"puente_csrf={token}"},
        )
        assert r.status_code == 200, r.text
        assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    finally:
        srv.stop()

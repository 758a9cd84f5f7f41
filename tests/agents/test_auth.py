"""Staff sign-in: argon2 hashes, unique logins, fresh session ids, idle logoff, audit."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.clients import Staff
from tests.support.stream import StreamClient


def _db(srv) -> sqlite3.Connection:
    return sqlite3.connect(srv.settings.database.url.split("///", 1)[1])


def test_sign_in_sets_a_fresh_strict_httponly_session(hub_server):
    c = Staff(hub_server.base_url)
    c.http.cookies.set("puente_session", "planted-by-an-attacker", domain="127.0.0.1")
    r = c.post("/api/auth/login", json={"login": "ana", "password": "puente-ana-demo"})
    assert r.status_code == 200 and r.json()["login"] == "ana" and r.json()["role"] == "agent"
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    sid = set_cookie.split("puente_session=")[1].split(";")[0]
    assert sid != "planted-by-an-attacker" and len(sid) >= 32
    assert c.get("/api/auth/me").json()["login"] == "ana"
    # a planted id never became a session
    stranger = httpx.Client(base_url=hub_server.base_url, cookies={"puente_session": "planted-by-an-attacker"})
    assert stranger.get("/api/auth/me").status_code == 401


def test_passwords_are_argon2_and_wrong_ones_are_refused_and_audited(hub_server):
    with _db(hub_server) as db:
        hashes = [h for (h,) in db.execute("SELECT password_hash FROM agents")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    c = Staff(hub_server.base_url)
    for login, password in [("ana", "wrong"), ("nobody", "puente-ana-demo"), ("ANA", "puente-ana-demo")]:
        r = c.post("/api/auth/login", json={"login": login, "password": password})
        assert r.status_code == 401 and r.json()["detail"] == "Wrong login or password."
    assert c.get("/api/auth/me").status_code == 401
    with _db(hub_server) as db:
        failed = db.execute("SELECT count(*) FROM audit_log WHERE action = 'auth.login_failed'").fetchone()[0]
    assert failed == 3


def test_sign_out_ends_the_session(hub_server):
    c = Staff(hub_server.base_url, "ben")
    old = dict(c.http.cookies.items())
    assert c.post("/api/auth/logout").status_code == 200
    assert c.get("/api/auth/me").status_code == 401
    replay = httpx.Client(base_url=hub_server.base_url, cookies=old)
    assert replay.get("/api/auth/me").status_code == 401


def test_requests_in_flight_at_sign_out_do_not_sign_in_again(hub_server):
    """Each request writes its copy of the session back to the store as it ends; one that was
    still running when the agent signed out must not bring the session back."""
    from concurrent.futures import ThreadPoolExecutor

    c = Staff(hub_server.base_url, "ben")
    cookies = dict(c.http.cookies.items())

    def read(_: int) -> int:
        with httpx.Client(base_url=hub_server.base_url, cookies=cookies, timeout=10) as other:
            return other.get("/api/conversations", params={"limit": 100}).status_code

    with ThreadPoolExecutor(16) as pool:
        running = [pool.submit(read, i) for i in range(96)]
        deadline = time.monotonic() + 10
        while sum(f.done() for f in running) < 8 and time.monotonic() < deadline:
            time.sleep(0.005)  # the first have been served: the next sixteen are in flight
        assert c.post("/api/auth/logout").status_code == 200
        codes = [f.result() for f in running]
    assert 200 in codes  # the race was real: some were served before the sign-out
    replay = httpx.Client(base_url=hub_server.base_url, cookies=cookies)
    assert replay.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize("hub_server_options", [{"idle_timeout_s": 3}], indirect=True)
def test_idle_sessions_are_logged_off(hub_server, hub_server_options):
    busy, idle = Staff(hub_server.base_url, "ana"), Staff(hub_server.base_url, "ben")
    for _ in range(5):  # 5 s of activity, more than the timeout, keeps a session alive
        time.sleep(1)
        assert busy.get("/api/auth/me").status_code == 200
    assert idle.get("/api/auth/me").status_code == 401


def test_admin_creates_staff_with_unique_logins(hub_server, staff):
    admin = staff["admin"]
    teams = admin.get("/api/teams").json()
    body = {
        "login": "carla",
        "display_name": "Carla Agent",
        "password": "a-long-password-1",
        "languages": ["es", "en"],
        "team_ids": [teams[0]["id"]],
    }
    r = admin.post("/api/agents", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["team_ids"] == [teams[0]["id"]]
    again = admin.post("/api/agents", json=body)
    assert again.status_code == 400 and "taken" in again.json()["detail"]
    short = admin.post("/api/agents", json={**body, "login": "dan", "password": "short"})
    assert short.status_code == 400
    carla = Staff(hub_server.base_url)
    assert carla.post("/api/auth/login", json={"login": "carla", "password": "a-long-password-1"}).status_code == 200
    assert carla.get("/api/auth/me").json()["team_ids"] == [teams[0]["id"]]


def test_repeated_failed_sign_ins_are_throttled(hub_server):
    c = Staff(hub_server.base_url)
    for _ in range(10):
        assert c.post("/api/auth/login", json={"login": "ana", "password": "guess"}).status_code == 401
    r = c.post("/api/auth/login", json={"login": "ana", "password": "puente-ana-demo"})
    assert r.status_code == 429 and "Try again in" in r.json()["detail"]
    es = c.post("/api/auth/login", json={"login": "ana", "password": "x"}, headers={"accept-language": "es"})
    assert es.status_code == 429 and "Inténtelo de nuevo" in es.json()["detail"]
    # another staff member signing in from another address is not locked out by it
    elsewhere = Staff(hub_server.base_url)
    elsewhere.http.headers["x-forwarded-for"] = "10.0.0.9"  # as the clinic's reverse proxy reports it
    assert elsewhere.post("/api/auth/login", json={"login": "ben", "password": "puente-ben-demo"}).status_code == 200
    # but "ana" stays locked wherever the attempts come from
    r = elsewhere.post("/api/auth/login", json={"login": "ana", "password": "puente-ana-demo"})
    assert r.status_code == 429


@pytest.mark.parametrize("any_hub_server", ["sqlite-redis"], indirect=True)
def test_a_session_written_back_after_sign_out_stays_signed_out(any_hub_server):
    """The race of test_requests_in_flight_at_sign_out_do_not_sign_in_again, made certain: with the
    shared (Redis) store the test itself writes the session back after the sign-out, as a request in
    flight would. Neither a request nor the live stream opened before may ride that copy."""
    from redis import Redis

    srv = any_hub_server
    ben = Staff(srv.base_url, "ben")
    sid = ben.http.cookies["puente_session"]
    stream = StreamClient(srv.ws_url, ben, after=0).open()
    stream.read_until_ready()
    redis = Redis.from_url(srv.settings.realtime.redis_url)
    key = f"{srv.settings.realtime.channel_prefix}-sessions:{sid}"
    copy, ttl = redis.get(key), redis.pttl(key)
    assert copy and ttl > 0
    assert ben.post("/api/auth/logout").status_code == 200
    assert redis.get(key) is None
    redis.set(key, copy, px=ttl)  # the copy comes back
    replay = httpx.Client(base_url=srv.base_url, cookies={"puente_session": sid})
    assert replay.get("/api/auth/me").status_code == 401
    redis.set(key, copy, px=ttl)  # (the refused request may have dropped it)
    with pytest.raises(ConnectionClosed):
        while True:
            stream.recv(timeout=15)
    assert stream.ws is not None and stream.ws.close_code == 4401

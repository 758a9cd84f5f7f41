"""The inbox's language: its catalog served by the hub, and each staff member's saved preference."""

from __future__ import annotations

import httpx

from tests.support.clients import Staff


def test_the_inbox_catalog_is_public_and_follows_lang_then_the_browser(hub_server):
    with httpx.Client(base_url=hub_server.base_url, timeout=10) as anyone:
        r = anyone.get("/api/i18n/web", params={"lang": "es-MX"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["language"] == "es"
        assert body["messages"]["Sign in"] == "Iniciar sesión"
        assert body["messages"]["{name} is typing…"] == "{name} está escribiendo…"
        assert "max-age" in r.headers["cache-control"] and "puente_session" not in r.headers.get("set-cookie", "")

        english = anyone.get("/api/i18n/web", params={"lang": "en"}).json()
        assert english["language"] == "en" and english["messages"]["Sign in"] == "Sign in"
        assert set(english["messages"]) == set(body["messages"])

        # an unknown language: Accept-Language decides, else English
        r = anyone.get("/api/i18n/web", params={"lang": "fr"}, headers={"accept-language": "fr, es-MX;q=0.8"})
        assert r.json()["language"] == "es"
        r = anyone.get("/api/i18n/web", headers={"accept-language": "de"})
        assert r.json()["language"] == "en" and r.json()["messages"]["Sign in"] == "Sign in"


def test_staff_save_their_language_and_refusals_follow_it(hub_server, staff):
    ben = staff["ben"]
    assert ben.me is not None and ben.me["ui_language"] is None
    english = {"accept-language": "en-US,en;q=0.9"}

    r = ben.request("PATCH", "/api/auth/me", json={"ui_language": "es"})
    assert r.status_code == 200, r.text
    assert r.json()["ui_language"] == "es" and r.json()["login"] == "ben"
    assert ben.get("/api/auth/me").json()["ui_language"] == "es"  # at once, not after the cache expires
    # a refusal speaks the saved language even to an English browser
    r = ben.get("/api/patients/999999", headers=english)
    assert r.status_code == 404 and r.json()["detail"] == "No hay ningún paciente 999999 que usted pueda ver."
    # and it is there at the next sign-in
    again = Staff(hub_server.base_url, "ben")
    assert again.me is not None and again.me["ui_language"] == "es"
    again.close()

    # a field left out changes nothing; null goes back to the browser's language
    assert ben.request("PATCH", "/api/auth/me", json={}).json()["ui_language"] == "es"
    assert ben.request("PATCH", "/api/auth/me", json={"ui_language": None}).json()["ui_language"] is None
    r = ben.get("/api/patients/999999", headers=english)
    assert r.json()["detail"] == "No patient 999999 that you can see."

    for bad in ({"ui_language": "fr"}, {"ui_language": "es", "role": "admin"}):
        assert ben.request("PATCH", "/api/auth/me", json=bad).status_code == 400
    # a write like any other: no CSRF token, no change
    r = ben.http.patch("/api/auth/me", json={"ui_language": "es"})
    assert r.status_code == 403
    assert ben.get("/api/auth/me").json()["ui_language"] is None

    rows = staff["admin"].get("/api/audit", params={"action": "agent.preferences", "agent_id": ben.me["id"]}).json()
    changes = [row["detail"]["ui_language"] for row in rows]
    assert {"from": None, "to": "es"} in changes and {"from": "es", "to": None} in changes

"""HTTP clients as a staff member or an integration would use the hub."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.server import INGEST_KEY

PASSWORDS = {
    "admin": "puente-admin-demo",
    "sofia": "puente-sofia-demo",
    "ana": "puente-ana-demo",
    "ben": "puente-ben-demo",
}


class Staff:
    """A signed-in browser session: session cookie plus the CSRF header on unsafe methods."""

    def __init__(self, base_url: str, login: str | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.http.get("/api/health")
        self.http.get("/api/auth/me")  # a safe request sets the CSRF cookie
        self.me: dict[str, Any] | None = None
        if login:
            r = self.post("/api/auth/login", json={"login": login, "password": PASSWORDS[login]})
            assert r.status_code == 200, r.text
            self.me = r.json()

    @property
    def csrf(self) -> str:
        return self.http.cookies.get("puente_csrf") or ""

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        headers = {"x-csrf-token": self.csrf, **kw.pop("headers", {})}
        return self.http.post(path, headers=headers, **kw)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"x-csrf-token": self.csrf, **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def close(self) -> None:
        self.http.close()


def inbound(text: str, pid: str, kind: str = "phone", address: str = "+16505550100", **extra: Any) -> dict[str, Any]:
    return {"provider_message_id": pid, "from": {"kind": kind, "address": address}, "text": text, **extra}


def post_inbound(http: httpx.Client, body: Any, key: str = INGEST_KEY, **kw: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", **kw.pop("headers", {})}
    if isinstance(body, (bytes, str)):
        headers.setdefault("content-type", "application/json")
        return http.post("/api/channels/api/messages", content=body, headers=headers, **kw)
    return http.post("/api/channels/api/messages", json=body, headers=headers, **kw)

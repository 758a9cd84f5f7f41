"""A tiny keep-alive HTTP/1.1 client on asyncio streams: cheap enough to share 2 cores with
the server under test. Only what the bench needs: Content-Length bodies, no chunking."""

from __future__ import annotations

import asyncio
import json
from http.cookies import SimpleCookie
from typing import Any


class HttpError(RuntimeError):
    pass


class Conn:
    """One keep-alive connection to 127.0.0.1:port. One request at a time."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies: dict[str, str] = cookies if cookies is not None else {}
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None

    async def _ensure(self) -> None:
        if self._w is None or self._w.is_closing():
            self._r, self._w = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None

    def build(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "User-Agent: puente-bench"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def send_raw(self, raw: bytes) -> None:
        await self._ensure()
        assert self._w is not None
        self._w.write(raw)

    async def read_response(self) -> tuple[int, dict[str, list[str]], bytes]:
        assert self._r is not None
        head = await self._r.readuntil(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        length = int(headers.get("content-length", ["0"])[0])
        body = await self._r.readexactly(length) if length else b""
        for sc in headers.get("set-cookie", []):
            c = SimpleCookie()
            c.load(sc)
            for name, morsel in c.items():
                if morsel["max-age"] == "0" or not morsel.value or morsel.value == "null":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if headers.get("connection", [""])[0].lower() == "close":
            self.close()
        return status, headers, body

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        await self.send_raw(self.build(method, path, body, headers))
        status, _, data = await self.read_response()
        return status, data

    async def json(
        self,
        method: str,
        path: str,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        expect: int | tuple[int, ...] = 200,
    ) -> Any:
        h = dict(headers or {})
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            h["Content-Type"] = "application/json"
        status, data = await self.request(method, path, body, h)
        ok = (expect,) if isinstance(expect, int) else expect
        if status not in ok:
            raise HttpError(f"{method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data) if data else None


async def sign_in(port: int, login: str, password: str) -> dict[str, str]:
    """A fresh signed-in session: a GET for the CSRF cookie, then POST /api/auth/login.
    Returns the cookies (puente_session, puente_csrf).

    The brief said GET /api/auth/me sets puente_csrf; today its 401 answer does not (Litestar's
    CSRF middleware only sets the cookie on a handled safe request), so fall back to /api/health."""
    c = Conn(port)
    try:
        for path in ("/api/auth/me", "/api/health"):
            await c.request("GET", path)
            if c.cookies.get("puente_csrf"):
                break
        csrf = c.cookies.get("puente_csrf")
        if not csrf:
            raise HttpError("neither GET /api/auth/me nor GET /api/health set a puente_csrf cookie")
        await c.json("POST", "/api/auth/login", {"login": login, "password": password}, headers={"x-csrf-token": csrf})
        if "puente_session" not in c.cookies:
            raise HttpError("login set no puente_session cookie")
        return dict(c.cookies)
    finally:
        c.close()

"""A web-chat visitor as the widget behaves: HTTP with a bearer token, one WebSocket."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect


class VisitorClient:
    def __init__(self, base_url: str, ws_url: str, token: str | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.ws_url = ws_url
        self.token = token
        self.session: dict[str, Any] = {}
        self.ws: ClientConnection | None = None
        self.frames: list[dict[str, Any]] = []  # everything the socket said, in order
        self.last_seq = 0

    def start(self, name: str | None = "Rosa Méndez", **body: Any) -> dict[str, Any]:
        r = self.http.post("/api/webchat/sessions", json={"name": name, **body} if name else body)
        assert r.status_code == 201, r.text
        self.session = r.json()
        self.token = self.session["token"]
        return self.session

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    def send(self, text: str, client_id: str | None = None, **extra: Any) -> httpx.Response:
        return self.post(
            "/api/webchat/messages", json={"id": client_id or f"m-{uuid.uuid4().hex}", "text": text, **extra}
        )

    def open(self, after: int | None = None) -> VisitorClient:
        self.ws = connect(f"{self.ws_url}/api/webchat/socket", open_timeout=10).__enter__()  # closed in close()
        self.ws.send(
            json.dumps({"type": "hello", "token": self.token, "after": self.last_seq if after is None else after})
        )
        return self

    def say(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        self.ws.send(json.dumps(frame))

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        assert self.ws is not None
        frame = json.loads(self.ws.recv(timeout=timeout))
        self.frames.append(frame)
        if frame["type"] in ("message", "ready"):
            self.last_seq = max(self.last_seq, frame.get("seq") or frame.get("last_seq") or 0)
        return frame

    def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.1, deadline - time.monotonic()))
            if predicate(frame):
                return frame

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

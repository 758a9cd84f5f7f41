"""Cross-origin access for the widget's calls, and for them only.

The widget runs on the clinic's own site and calls the hub from there. Visitors authenticate
with a bearer token, never a cookie, so allowing an origin lends it no one's session. With a
list of allowed origins set, other sites are refused outright; staff routes never get CORS.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/api/webchat/"
ALLOW_HEADERS = b"authorization, content-type, accept-language"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """No Origin: not a browser's cross-site call. An empty list allows every site."""
    return origin is None or not allowed or origin.rstrip("/") in allowed


class WebchatCORS:
    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = tuple(o.rstrip("/") for o in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if not origin_allowed(origin, self.allowed):
            await _plain(send, 403, b'{"status_code":403,"detail":"this site may not use the clinic\'s chat"}')
            return
        cors: list[tuple[bytes, bytes]] = []
        if origin is not None:
            cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *cors,
                        (b"access-control-allow-methods", b"GET, POST"),
                        (b"access-control-allow-headers", ALLOW_HEADERS),
                        (b"access-control-max-age", b"600"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and cors:
                message = {**message, "headers": [*message.get("headers", []), *cors]}  # type: ignore[misc]
            await send(message)

        await self.app(scope, receive, with_cors)


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

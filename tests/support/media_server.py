"""Local HTTP servers that serve MMS media the way Twilio does, failures on demand.

`api` plays api.twilio.com: media URLs need HTTP Basic auth with the account SID and auth
token (401 without) and answer with a redirect to `storage`, a second server on another port
(another origin), which serves the bytes to whoever holds the signed link and records whether
credentials reached it. Per file: fail the first requests with a status, delay or hold the
answer until released, leave out Content-Length, or skip the redirect.
"""

from __future__ import annotations

import base64
import io
import math
import struct
import threading
import time
import wave
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.server import free_port


@dataclass
class Item:
    body: bytes
    content_type: str
    fail: list[int] = field(default_factory=list)  # statuses for the first requests, then served
    delay: float = 0.0  # storage waits this long before answering
    gate: threading.Event | None = None  # storage holds the answer until set
    content_length: bool = True
    redirect: int = 307  # 0: the API host serves the bytes itself


@dataclass
class Hit:
    server: str  # "api" or "storage"
    name: str
    authorization: str | None
    status: int = 0


class MediaServer:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.items: dict[str, Item] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self.api = _Server(self, "api")
        self.storage = _Server(self, "storage")

    @property
    def url(self) -> str:
        """The API host's base URL (the hub's sms.api_base_url)."""
        return self.api.url

    def media_url(self, name: str, message_sid: str = "MM00000000000000000000000000000001") -> str:
        return f"{self.api.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{name}"

    def add(self, name: str, body: bytes, content_type: str, **options: object) -> str:
        self.items[name] = Item(body, content_type, **options)  # type: ignore[arg-type]
        return self.media_url(name)

    def hits_for(self, name: str, server: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.name == name and (server is None or h.server == server)]

    def wait_for_hit(self, name: str, server: str, timeout: float = 10) -> Hit:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if hits := self.hits_for(name, server):
                return hits[0]
            time.sleep(0.02)
        raise AssertionError(f"no {server} request for {name}")

    def _serve(self, role: str, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        name = path.rsplit("/", 1)[-1]
        hit = Hit(role, name, handler.headers.get("Authorization"))
        with self._lock:
            self.hits.append(hit)
        item = self.items.get(name)
        if role == "api":
            expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
            if hit.authorization != expected:
                hit.status = 401
                _reply(
                    handler, 401, b'{"code": 20003, "message": "Authenticate"}', {"Content-Type": "application/json"}
                )
                return
            if item is None or not path.startswith(f"/2010-04-01/Accounts/{self.account_sid}/Messages/"):
                hit.status = 404
                _reply(handler, 404, b'{"code": 20404, "message": "Not found"}', {"Content-Type": "application/json"})
                return
            with self._lock:
                failing = item.fail.pop(0) if item.fail else None
            if failing:
                hit.status = failing
                _reply(handler, failing, b'{"message": "failed"}', {"Content-Type": "application/json"})
                return
            if item.redirect:
                hit.status = item.redirect
                location = f"{self.storage.url}/files/{name}?X-Amz-Signature=secret-token"
                _reply(handler, item.redirect, b"", {"Location": location, "Content-Length": "0"})
                return
        elif item is None:
            hit.status = 404
            _reply(handler, 404, b"no such file", {"Content-Type": "text/plain"})
            return
        if item.gate is not None:
            item.gate.wait(30)
        if item.delay:
            time.sleep(item.delay)
        hit.status = 200
        headers = {"Content-Type": item.content_type}
        if item.content_length:
            headers["Content-Length"] = str(len(item.body))
        _reply(handler, 200, item.body, headers)

    def __enter__(self) -> MediaServer:
        self.api.start()
        self.storage.start()
        return self

    def __exit__(self, *_: object) -> None:
        for item in self.items.values():  # let held answers go, so their threads end
            if item.gate is not None:
                item.gate.set()
        self.api.stop()
        self.storage.stop()


class _Server:
    def __init__(self, media: MediaServer, role: str) -> None:
        self.media, self.role = media, role

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                try:
                    media._serve(role, self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the hub gave up on this answer (it stopped, or timed out)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


# --- real files, made with the standard library ---------------------------------------------------


def png(width: int = 4, height: int = 3) -> bytes:
    """A real RGB PNG: a small gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 60 % 256, y * 80 % 256, 200)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def wav(seconds: float = 0.3, rate: int = 8000) -> bytes:
    """A real 16-bit mono WAV: a 440 Hz tone."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
                for i in range(int(seconds * rate))
            )
        )
    return buf.getvalue()

"""A test agent's WebSocket: reconnects with ?after=<highest seq held>, as the inbox does."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.support.clients import Staff


class StreamClient:
    def __init__(
        self, ws_url: str, staff: Staff, after: int, max_queue: int | None = 64, rcvbuf: int | None = None
    ) -> None:
        self.ws_url, self.staff, self.max_queue, self.rcvbuf = ws_url, staff, max_queue, rcvbuf
        self.events: list[dict[str, Any]] = []  # every event frame received, in order
        self.held: dict[int, dict[str, Any]] = {}  # seq -> frame: what the client's state holds
        self.after = after
        self.readies: list[dict[str, Any]] = []
        self.closes: list[int | None] = []
        self.ws: ClientConnection | None = None

    def open(self) -> StreamClient:
        cookie = "; ".join(f"{k}={v}" for k, v in self.staff.http.cookies.items())
        sock = None
        if self.rcvbuf:  # a small fixed receive buffer: a client that stops reading stalls quickly
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            host, port = self.ws_url.removeprefix("ws://").split(":")
            sock.connect((host, int(port)))
        self.ws = connect(
            f"{self.ws_url}/api/stream?after={self.after}",
            additional_headers={"Cookie": cookie},
            open_timeout=10,
            max_queue=self.max_queue,
            sock=sock,
        ).__enter__()  # closed in close()
        return self

    def read_until_ready(self, timeout: float = 10) -> dict[str, Any]:
        while True:
            frame = self.recv(timeout)
            if frame["type"] == "ready":
                return frame

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        assert self.ws is not None
        frame = json.loads(self.ws.recv(timeout=timeout))
        if frame["type"] == "event":
            self.events.append(frame)
            self.held[frame["seq"]] = frame
            self.after = max(self.after, frame["seq"])
        elif frame["type"] == "ready":
            self.readies.append(frame)
        return frame

    def drain_until(self, seq: int, timeout: float = 20) -> None:
        """Read until the client holds `seq` (or fail by timeout)."""
        while self.after < seq:
            self.recv(timeout)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.closes.append(self.ws.close_code)
            self.ws = None

    def reconnect(self) -> None:
        self.close()
        self.open()


def in_threads(fn: Any, items: list[Any], threads: int = 8) -> list[Any]:
    """Run fn over items from several threads at once; results in item order."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(k, len(items), threads):
                results[i] = fn(items[i])
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return results

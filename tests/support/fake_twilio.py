"""A local HTTP server that speaks Twilio's Messages API, including its failures.

Requests are checked (Basic auth, form fields) and recorded; replies follow a script
(`fail_next`) and otherwise accept the message as Twilio does: 201 with a sid and status.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from tests.support.server import free_port


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[dict] = []  # every POST that passed authentication
        self.script: list[tuple[int, dict]] = []  # replies to give before accepting again
        self.delay_s = 0.0  # how long each answer takes (a slow provider)
        self.spans: list[tuple[str, float, float]] = []  # (To, arrived, answered), monotonic clock
        self._lock = threading.Lock()
        self._count = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return
                if self.path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    self._reply(404, {"code": 20404, "message": "The requested resource was not found"})
                    return
                arrived = time.monotonic()
                form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()))
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                with fake._lock:
                    fake.requests.append(form)
                    if fake.script:
                        status, body = fake.script.pop(0)
                        self._reply(status, body)
                        return
                    fake._count += 1
                    sid = f"SM{fake._count:032d}"
                missing = [f for f in ("To", "From", "Body") if not form.get(f)]
                if missing:
                    self._reply(400, {"code": 21602, "message": f"Missing {missing[0]}", "status": 400})
                    return
                self._reply(
                    201,
                    {
                        "sid": sid,
                        "status": "queued",
                        "to": form["To"],
                        "from": form["From"],
                        "body": form["Body"],
                        "account_sid": fake.account_sid,
                    },
                )
                with fake._lock:
                    fake.spans.append((form["To"], arrived, time.monotonic()))

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail_next(self, *replies: tuple[int, dict]) -> None:
        with self._lock:
            self.script.extend(replies)

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A local HTTP server that speaks Twilio's Messages API, including its failures.

Requests are checked (Basic auth, form fields) and recorded; replies follow a script
(`fail_next`) and otherwise accept the message as Twilio does: 201 with a sid and status. What it
accepted is listed as Twilio lists it (GET Messages.json, filtered by To, From and DateSent>,
newest first, paged), so a sender can ask whether a message went out. Failures it can play: a
scripted answer (the message not taken), `take_then_fail` (taken, then an error answered), `down`
(503 to everything), `hang_s` (taken, then no answer for that long).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tests.support.server import free_port


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[dict] = []  # every POST that passed authentication
        self.script: list[tuple[int, dict]] = []  # replies to give before accepting again
        self.delay_s = 0.0  # how long each answer takes (a slow provider)
        self.spans: list[tuple[str, float, float]] = []  # (To, arrived, answered), monotonic clock
        self.accepted: list[dict] = []  # the messages it took, as its list shows them, oldest first
        self.lookups = 0  # GETs of the list
        self.take_then_fail: list[tuple[int, dict]] = []  # take the next messages, then answer these
        self.down = False  # 503 to every send and call look-up while set
        self.hang_s = 0.0  # take each message, then wait this long before answering
        self.calls: dict[str, dict] = {}  # CallSid -> its record ("from", "to", "status"...)
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

            def _authorised(self) -> bool:
                expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return False
                if urlsplit(self.path).path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    self._reply(404, {"code": 20404, "message": "The requested resource was not found"})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                call = urlsplit(self.path).path.removeprefix(f"/2010-04-01/Accounts/{fake.account_sid}/Calls/")
                if call.endswith(".json") and "/" not in call:  # a call record
                    expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                    if self.headers.get("Authorization") != expected:
                        self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                        return
                    if fake.down:
                        self._reply(503, {"code": 20503, "message": "Service Unavailable"})
                        return
                    record = fake.calls.get(call.removesuffix(".json"))
                    if record is None:
                        self._reply(404, {"code": 20404, "message": "The requested resource was not found"})
                    else:
                        self._reply(200, {"sid": call.removesuffix(".json"), "account_sid": fake.account_sid, **record})
                    return
                if not self._authorised():
                    return
                query = dict(parse_qsl(urlsplit(self.path).query))
                since = query.get("DateSent>")
                with fake._lock:
                    fake.lookups += 1
                    found = [
                        m
                        for m in reversed(fake.accepted)
                        if m["to"] == query.get("To", m["to"])
                        and m["from"] == query.get("From", m["from"])
                        and (since is None or m["_day"] >= since)
                    ]
                size, page = int(query.get("PageSize", 50)), int(query.get("Page", 0))
                chunk = found[page * size : (page + 1) * size]
                more = len(found) > (page + 1) * size
                base = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "Page")
                self._reply(
                    200,
                    {
                        "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in chunk],
                        "next_page_uri": f"{base}?{rest}&Page={page + 1}" if more else None,
                        "page": page,
                        "page_size": size,
                    },
                )

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                if not self._authorised():
                    return
                arrived = time.monotonic()
                form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()))
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                with fake._lock:
                    fake.requests.append(form)
                    if fake.down:
                        self._reply(503, {"code": 20503, "message": "Service Unavailable"})
                        return
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
                now = datetime.now(UTC)
                message = {
                    "sid": sid,
                    "status": "queued",
                    "to": form["To"],
                    "from": form["From"],
                    "body": form["Body"],
                    "account_sid": fake.account_sid,
                    "direction": "outbound-api",
                    "date_created": format_datetime(now, usegmt=True),
                    "_day": now.strftime("%Y-%m-%d"),
                }
                with fake._lock:
                    fake.accepted.append(message)
                    failure = fake.take_then_fail.pop(0) if fake.take_then_fail else None
                if failure is not None:  # taken, yet the answer says it failed
                    self._reply(*failure)
                    return
                if fake.hang_s:  # taken, and the answer comes too late (or never)
                    time.sleep(fake.hang_s)
                self._reply(201, {k: v for k, v in message.items() if not k.startswith("_")})
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

"""A local FHIR R4 server (real HTTP on 127.0.0.1) for the EHR link, failing on demand.

It speaks what the import needs: SMART Backend Services (/.well-known/smart-configuration, a token
endpoint that checks the client assertion's signature with the registered public key, its audience,
issuer, expiry and jti), or a static bearer token; Patient and Appointment searches with
`_lastUpdated=gt...` and `_count`, paged through Bundle.link next (ordered by lastUpdated, then id),
with `total` and the search's time in Bundle.meta.lastUpdated. Failures it can play, one per request
in order (`fail_next`): 401 (the tokens it gave are forgotten), 429 with Retry-After, 500/503,
a hang. A malformed resource is just a resource put in its data.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.server import free_port

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def key_pair(algorithm: str = "RS384") -> tuple[str, str]:
    """A fresh (private PEM, public PEM) for RS384 (RSA 2048) or ES384 (EC P-384)."""
    private = rsa.generate_private_key(65537, 2048) if algorithm == "RS384" else ec.generate_private_key(ec.SECP384R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@dataclass
class Fault:
    status: int  # 401, 429, 500, 503; 0: hang; 200: served as usual (a fault for a later request)
    retry_after: str | None = None
    hang_s: float = 0.0


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeFhir:
    def __init__(self, client_id: str = "puente-test", public_key: str | None = None, algorithm: str = "RS384",
                 bearer_token: str | None = None, key_id: str | None = None) -> None:  # fmt: skip
        self.client_id, self.public_key, self.algorithm = client_id, public_key, algorithm
        self.key_id = key_id  # when set, the assertion's header must name it (kid), as in a JWKS
        self.bearer_token = bearer_token  # accepted as it is, besides the tokens it hands out
        self.resources: dict[str, list[dict[str, Any]]] = {"Patient": [], "Appointment": []}
        self.faults: list[Fault] = []  # answers to searches, before serving again
        self.page_delay_s = 0.0  # how long each search page takes
        self.tokens: dict[str, float] = {}  # token -> expiry (time.time)
        self.token_ttl_s = 300
        self.jtis: set[str] = set()
        self.log: list[tuple[str, str, int, float]] = []  # (method, path with query, status, monotonic time)
        self.token_requests = 0
        self.refused_assertions: list[str] = []  # why the token endpoint said no
        self._lock = threading.Lock()
        self._order: dict[str, list[tuple[datetime | None, dict[str, Any]]]] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/fhir"
        self.token_url = f"http://127.0.0.1:{self.port}/auth/token"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None,
                       content_type: str = "application/fhir+json") -> None:  # fmt: skip
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                with fake._lock:
                    fake.log.append((self.command, self.path, status, time.monotonic()))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/auth/token":
                    self._reply(404, {"error": "not_found"}, content_type="application/json")
                    return
                status, body = fake._token(form)
                self._reply(status, body, content_type="application/json")

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path == "/fhir/.well-known/smart-configuration":
                    config = {
                        "token_endpoint": fake.token_url,
                        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                        "grant_types_supported": ["client_credentials"],
                        "scopes_supported": ["system/Patient.read", "system/Appointment.read"],
                    }
                    self._reply(200, config, content_type="application/json")
                    return
                kind = parts.path.removeprefix("/fhir/")
                if kind not in fake.resources:
                    self._reply(404, _outcome("not-found", f"no resource type {kind}"))
                    return
                with fake._lock:
                    fault = fake.faults.pop(0) if fake.faults else None
                if fault is not None and fault.status == 200:
                    fault = None
                if fault is not None and fault.status == 0:
                    time.sleep(fault.hang_s)
                    self.close_connection = True
                    return
                if fault is not None:
                    if fault.status == 401:
                        with fake._lock:
                            fake.tokens.clear()  # revoked: a fresh token is needed
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    self._reply(fault.status, _outcome("transient", "as scripted"), headers)
                    return
                if not fake._authorised(self.headers.get("Authorization", "")):
                    self._reply(401, _outcome("login", "token missing, unknown or expired"))
                    return
                if fake.page_delay_s:
                    time.sleep(fake.page_delay_s)
                status, body = fake._search(kind, {k: v[0] for k, v in parse_qs(parts.query).items()})
                self._reply(status, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-fhir-{self.port}", daemon=True)

    # --- what a test does ------------------------------------------------------------------------

    def __enter__(self) -> FakeFhir:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, resource: dict[str, Any]) -> None:
        with self._lock:
            self.resources[resource.get("resourceType", "Patient")].append(copy.deepcopy(resource))
            self._order.clear()

    def load(self, patients: list[dict[str, Any]], appointments: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        for r in [*patients, *appointments]:
            self.add(r)

    def update(self, kind: str, rid: str, change: dict[str, Any]) -> dict[str, Any]:
        """A new version of a resource: fields changed, versionId + 1, lastUpdated now."""
        with self._lock:
            r = next(r for r in self.resources[kind] if r.get("id") == rid)
            r.update(copy.deepcopy(change))
            meta = r.setdefault("meta", {})
            meta["versionId"] = str(int(meta.get("versionId", "1")) + 1)
            meta["lastUpdated"] = _now()
            self._order.clear()
            return copy.deepcopy(r)

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def searches(self, kind: str | None = None) -> list[tuple[str, str, int, float]]:
        with self._lock:
            return [e for e in self.log if e[0] == "GET" and (kind is None or f"/fhir/{kind}?" in e[1])]

    # --- the server's side -------------------------------------------------------------------------

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != ASSERTION_TYPE:
            return 400, {"error": "invalid_request"}
        if self.public_key is None:
            return 400, {"error": "invalid_client", "error_description": "no key registered"}
        try:
            header = jwt.get_unverified_header(form.get("client_assertion", ""))
            claims = jwt.decode(
                form["client_assertion"],
                self.public_key,
                algorithms=[self.algorithm],
                audience=self.token_url,
                issuer=self.client_id,
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
            )
        except (jwt.PyJWTError, KeyError) as exc:
            self.refused_assertions.append(type(exc).__name__)
            return 401, {"error": "invalid_client", "error_description": type(exc).__name__}
        kid_ok = self.key_id is None or header.get("kid") == self.key_id
        if (
            claims["sub"] != self.client_id
            or claims["exp"] > time.time() + 300 + 5
            or header.get("typ") != "JWT"
            or not kid_ok
        ):
            self.refused_assertions.append("claims")
            return 401, {"error": "invalid_client"}
        with self._lock:
            if claims["jti"] in self.jtis:
                self.refused_assertions.append("replayed jti")
                return 401, {"error": "invalid_client", "error_description": "jti replayed"}
            self.jtis.add(claims["jti"])
            token = secrets.token_urlsafe(24)
            self.tokens[token] = time.time() + self.token_ttl_s
        scope = " ".join(s for s in form.get("scope", "").split() if s.endswith(".read"))
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl_s, "scope": scope}

    def _ordered(self, kind: str) -> list[tuple[datetime | None, dict[str, Any]]]:
        """The resources of a kind by lastUpdated then id, each with its lastUpdated read (kept
        until the data changes). Called with the lock held."""
        if kind not in self._order:

            def updated(r: dict[str, Any]) -> datetime | None:
                try:
                    return _instant(r["meta"]["lastUpdated"])
                except (KeyError, TypeError, ValueError, AttributeError):
                    return None

            keyed = [(updated(r), r) for r in self.resources[kind]]
            keyed.sort(key=lambda x: (str((x[1].get("meta") or {}).get("lastUpdated", "")), str(x[1].get("id"))))
            self._order[kind] = keyed
        return self._order[kind]

    def _authorised(self, header: str) -> bool:
        token = header.removeprefix("Bearer ").strip()
        with self._lock:
            if self.bearer_token and token == self.bearer_token:
                return True
            return self.tokens.get(token, 0) > time.time()

    def _search(self, kind: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        since_raw = query.get("_lastUpdated")
        try:
            since = _instant(since_raw[2:]) if since_raw and since_raw.startswith("gt") else None
            count = max(1, min(1000, int(query.get("_count", "50"))))
            offset = max(0, int(query.get("_offset", "0")))
        except ValueError:
            return 400, _outcome("invalid", "bad search parameter")
        searched_at = query.get("_at") or _now()  # a page of a search stays on the search's time

        until = _instant(searched_at)
        with self._lock:
            ordered = self._ordered(kind)
            matches = [
                r for u, r in ordered if (since is None or (u is not None and u > since)) and (u is None or u <= until)
            ]
            page = copy.deepcopy(matches[offset : offset + count])
        base = {k: v for k, v in query.items() if k not in ("_offset", "_at")}
        links = [{"relation": "self", "url": f"{self.url}/{kind}?{urlencode({**base, '_offset': offset})}"}]
        if offset + count < len(matches):
            following = {**base, "_offset": offset + count, "_at": searched_at}
            links.append({"relation": "next", "url": f"{self.url}/{kind}?{urlencode(following)}"})
        return 200, {
            "resourceType": "Bundle",
            "id": secrets.token_hex(8),
            "meta": {"lastUpdated": searched_at},
            "type": "searchset",
            "total": len(matches),
            "link": links,
            "entry": [
                {"fullUrl": f"{self.url}/{kind}/{r.get('id')}", "resource": r, "search": {"mode": "match"}}
                for r in page
            ],
        }


def _outcome(code: str, text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


@contextmanager
def fake_fhir(**options: Any) -> Iterator[FakeFhir]:
    with FakeFhir(**options) as fake:
        yield fake

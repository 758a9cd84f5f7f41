"""A FHIR R4 REST client for the import: searches and their pages, with a token from SMART Backend
Services (a JWT signed with the clinic's private key, traded for a bearer token) or a static one.

The HTTP client is handed in (a test passes one aimed at its local server). What servers do is
handled here: 401 (the token is fetched again once, then the import fails clearly), 429 (waits as
long as Retry-After says, up to max_retry_after_s), 5xx, timeouts and dropped connections (tried
again max_attempts times in all, 0.5 s, 1 s, 2 s... apart, never more than max_backoff_s)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import jwt
import msgspec

from channels.base import PuenteError
from hub.settings import FhirSettings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR_JSON = "application/fhir+json"
Sleep = Callable[[float], Awaitable[None]]


class FhirError(PuenteError):
    """The EHR could not be read; `transient`: worth trying again later (the import can resume)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Page(msgspec.Struct, frozen=True):
    resources: list[Any]  # entry[].resource of the searchset (matches only, not included ones)
    next_url: str | None
    total: int | None
    searched_at: str | None  # the Bundle's meta.lastUpdated: when the server ran the search


def configured(settings: FhirSettings) -> str | None:
    """Why the link cannot run (in English, for the admin), or None when it can."""
    if not settings.base_url:
        return "no FHIR base URL (PUENTE_FHIR_BASE_URL)"
    scheme = urlsplit(settings.base_url).scheme
    if scheme not in ("https", "http") or (scheme == "http" and not settings.allow_http):
        return "the FHIR base URL must be https:// (PUENTE_FHIR_ALLOW_HTTP is for a local test server)"
    if settings.bearer_token:
        return None
    if not settings.client_id:
        return "neither a SMART client id (PUENTE_FHIR_CLIENT_ID) nor a bearer token (PUENTE_FHIR_BEARER_TOKEN)"
    if not (settings.private_key or settings.private_key_file):
        return "no private key to sign with (PUENTE_FHIR_PRIVATE_KEY_FILE)"
    if settings.algorithm not in ("RS384", "ES384"):
        return "PUENTE_FHIR_ALGORITHM must be RS384 or ES384"
    return None


def search_url(settings: FhirSettings, kind: str, since: str | None) -> str:
    """The first page of a search for `kind` updated after `since` (an instant), `_count` a page."""
    params: dict[str, str] = {"_count": str(settings.page_size)}
    if since:
        params["_lastUpdated"] = f"gt{since}"
    return f"{settings.base_url.rstrip('/')}/{kind}?{urlencode(params)}"


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class FhirClient:
    def __init__(self, settings: FhirSettings, http: httpx.AsyncClient, sleep: Sleep = asyncio.sleep) -> None:
        self.settings = settings
        self._http = http
        self._sleep = sleep  # the worker's: a stopping hub does not sit out a Retry-After
        self._token: str | None = settings.bearer_token or None
        self._token_expires = float("inf") if settings.bearer_token else 0.0
        self._token_url = settings.token_url
        self.requests = 0  # for the bench and the run's figures
        self.waited_s = 0.0

    # --- the token --------------------------------------------------------------------------------

    def _private_key(self) -> str:
        if self.settings.private_key:
            return self.settings.private_key
        try:
            with open(self.settings.private_key_file, encoding="utf-8") as f:
                return f.read()
        except OSError as exc:
            raise FhirError(f"cannot read PUENTE_FHIR_PRIVATE_KEY_FILE: {exc.strerror}") from None

    def assertion(self, token_url: str) -> str:
        """The signed client assertion (RFC 7523; SMART Backend Services), valid five minutes."""
        now = int(time.time())
        claims = {
            "iss": self.settings.client_id,
            "sub": self.settings.client_id,
            "aud": token_url,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
        }
        headers = {"typ": "JWT", **({"kid": self.settings.key_id} if self.settings.key_id else {})}
        try:
            return jwt.encode(claims, self._private_key(), algorithm=self.settings.algorithm, headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise FhirError(f"the private key cannot sign {self.settings.algorithm}: {type(exc).__name__}") from None

    async def _discover(self) -> str:
        url = f"{self.settings.base_url.rstrip('/')}/.well-known/smart-configuration"
        r = await self._send("GET", url, headers={"accept": "application/json"})
        if r.status_code != 200:
            raise FhirError(f"no token URL: {url} answered {r.status_code} (set PUENTE_FHIR_TOKEN_URL)")
        try:
            endpoint = r.json()["token_endpoint"]
        except (ValueError, KeyError, TypeError):
            raise FhirError("the SMART configuration names no token_endpoint (set PUENTE_FHIR_TOKEN_URL)") from None
        if not isinstance(endpoint, str):
            raise FhirError("the SMART configuration's token_endpoint is not a URL")
        return endpoint

    async def token(self, fresh: bool = False) -> str:
        if self.settings.bearer_token:
            return self.settings.bearer_token
        if self._token and not fresh and time.monotonic() < self._token_expires:
            return self._token
        if not self._token_url:
            self._token_url = await self._discover()
        form = {
            "grant_type": "client_credentials",
            "scope": self.settings.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(self._token_url),
        }
        r = await self._send(
            "POST",
            self._token_url,
            content=urlencode(form).encode(),
            headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
        )
        if r.status_code != 200:
            error = _oauth_error(r)
            raise FhirError(f"the token endpoint refused the client ({r.status_code}{error})")
        try:
            body = r.json()
            token, expires_in = body["access_token"], float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise FhirError("the token endpoint's answer has no access_token") from None
        self._token, self._token_expires = token, time.monotonic() + max(0.0, expires_in - 30)
        return token

    # --- requests ---------------------------------------------------------------------------------

    async def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """One request, with 429s and 5xx answers, timeouts and dropped connections tried again."""
        s = self.settings
        for attempt in range(1, s.max_attempts + 1):
            last = attempt == s.max_attempts
            self.requests += 1
            try:
                r = await self._http.request(method, url, timeout=s.timeout_s, **kw)
            except httpx.TransportError as exc:  # timeouts, refused and dropped connections
                if last:
                    raise FhirError(f"the EHR did not answer ({type(exc).__name__})", transient=True) from None
                await self._wait(min(s.max_backoff_s, 0.5 * 2 ** (attempt - 1)))
                continue
            if r.status_code == 429:
                wait = _retry_after(r.headers.get("retry-after"))
                wait = min(s.max_backoff_s, 0.5 * 2 ** (attempt - 1)) if wait is None else wait
                if wait > s.max_retry_after_s:
                    raise FhirError(f"the EHR asked to wait {wait:.0f} s (429)", transient=True)
                if last:
                    raise FhirError("the EHR kept throttling (429)", transient=True)
                await self._wait(wait)
                continue
            if r.status_code >= 500:
                if last:
                    raise FhirError(f"the EHR kept failing ({r.status_code})", transient=True)
                await self._wait(min(s.max_backoff_s, 0.5 * 2 ** (attempt - 1)))
                continue
            return r
        raise AssertionError("unreachable")

    async def _wait(self, seconds: float) -> None:
        self.waited_s += seconds
        await self._sleep(seconds)

    async def get(self, url: str) -> Any:
        """A FHIR read or search page as JSON; a 401 gets a fresh token once."""
        if not _same_origin(url, self.settings.base_url):
            # a next link elsewhere would carry the token to another host
            raise FhirError("a page link points away from the FHIR base URL")
        for fresh in (False, True):
            headers = {"accept": FHIR_JSON, "authorization": f"Bearer {await self.token(fresh)}"}
            r = await self._send("GET", url, headers=headers)
            if r.status_code == 401 and not fresh and not self.settings.bearer_token:
                continue
            if r.status_code == 401 and self.settings.bearer_token:
                raise FhirError("the EHR refused the bearer token (401): check PUENTE_FHIR_BEARER_TOKEN")
            if r.status_code == 401:
                raise FhirError("the EHR refused the token (401), a fresh one too: check the client's registration")
            if r.status_code == 403:
                raise FhirError(f"the EHR forbids this read (403): the scope needs {_kind(url)}.read")
            if r.status_code != 200:
                raise FhirError(f"the EHR answered {r.status_code} to a search for {_kind(url)}")
            try:
                return r.json()
            except ValueError:
                raise FhirError("the EHR's answer is not JSON", transient=True) from None
        raise AssertionError("unreachable")

    async def page(self, url: str) -> Page:
        bundle = await self.get(url)
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise FhirError("a search answered something other than a Bundle")
        resources: list[Any] = []
        for entry in bundle.get("entry") or []:
            if not isinstance(entry, dict):
                resources.append(entry)  # reported as malformed by the mapping
                continue
            mode = (entry.get("search") or {}).get("mode") if isinstance(entry.get("search"), dict) else None
            if mode in (None, "match"):  # _include'd resources and OperationOutcomes are not the search's
                if isinstance(entry.get("resource"), dict) and entry["resource"].get("resourceType") == (
                    "OperationOutcome"
                ):
                    continue
                resources.append(entry.get("resource"))
        next_url = next(
            (
                link.get("url")
                for link in bundle.get("link") or []
                if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str)
            ),
            None,
        )
        if next_url:
            if "\x00" in next_url or len(next_url) > 4000:
                raise FhirError("a page link is not a usable URL")
            next_url = urljoin(url, next_url)
        total = bundle.get("total")
        meta = bundle.get("meta") if isinstance(bundle.get("meta"), dict) else {}
        searched_at = meta.get("lastUpdated") if isinstance(meta.get("lastUpdated"), str) else None
        if searched_at is not None and (len(searched_at) > 40 or "\x00" in searched_at):
            searched_at = None  # not an instant: the newest change seen marks the next import instead
        return Page(resources, next_url, total if isinstance(total, int) else None, searched_at)


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _kind(url: str) -> str:
    path = urlsplit(url).path.rstrip("/").split("/")
    return path[-1] if path else "?"


def _oauth_error(r: httpx.Response) -> str:
    try:
        error = r.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f": {error[:60]}" if isinstance(error, str) else ""

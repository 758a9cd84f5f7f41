"""One media fetch over HTTP: the provider's credentials to its own origin only, redirects
followed by hand (each hop checked, credentials dropped once the host changes), a time limit on
the whole fetch, a size limit enforced while streaming, and the type checked three ways
(declared, served, sniffed) before the file is kept. Every way it can go wrong is a Failure
with a reason; nothing half-received is ever kept. URLs never reach the logs: they name patients'
messages and, after a redirect, carry the storage host's signed tokens.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from hub.media.queue import Due, Fetched
from hub.media.reasons import Failure, size_label
from hub.media.sniff import ALLOWED, SNIFF_BYTES, check_bytes, check_declared, check_served
from hub.media.storage import Incoming, MediaStore
from hub.settings import Settings

MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
ACCEPT = ", ".join(sorted(ALLOWED))


def origin(url: httpx.URL) -> str:
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    return f"{url.scheme}://{url.host}:{port}"


class MediaFetcher:
    def __init__(self, settings: Settings, client: httpx.AsyncClient, store: MediaStore) -> None:
        self._media = settings.media
        self._store = store
        self._client = client
        sms = settings.sms
        self._credentials = (sms.account_sid, sms.auth_token) if sms.account_sid and sms.auth_token else None
        origins = settings.media.auth_origins or ((sms.api_base_url,) if sms.api_base_url else ())
        self._auth_origins = {origin(httpx.URL(o)) for o in origins if _parses(o)}

    async def fetch(self, due: Due) -> Fetched:
        """The file, kept; or a Failure saying why not."""
        declared = check_declared(due.declared_type)
        url = self._check_url(due.source_url)
        try:
            async with asyncio.timeout(self._media.timeout_s):
                return await self._follow(url, declared)
        except TimeoutError:
            raise Failure("timeout", transient=True) from None

    def _check_url(self, raw: str | httpx.URL) -> httpx.URL:
        try:
            url = raw if isinstance(raw, httpx.URL) else httpx.URL(raw)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise Failure("bad_url") from None
        schemes = ("https", "http") if self._media.allow_http else ("https",)
        if url.scheme not in schemes or not url.host or url.userinfo:
            raise Failure("bad_url")
        return url

    async def _follow(self, url: httpx.URL, declared: str) -> Fetched:
        first = origin(url)
        auth = self._credentials if first in self._auth_origins else None
        for _ in range(MAX_REDIRECTS + 1):
            # Credentials go only to the origin they belong to: a redirect to the storage host
            # (or anywhere else) gets none.
            hop_auth = auth if origin(url) == first else None
            # identity: media are compressed already, and a small gzip body could inflate hugely
            request = self._client.build_request("GET", url, headers={"Accept": ACCEPT, "Accept-Encoding": "identity"})
            try:
                response = await self._client.send(request, auth=hop_auth, stream=True)
            except httpx.TimeoutException:
                raise Failure("timeout", transient=True) from None
            except httpx.HTTPError:
                raise Failure("unreachable", transient=True) from None
            try:
                status = response.status_code
                if status in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise Failure("provider_error", status=status)
                    try:
                        url = self._check_url(url.join(location))
                    except httpx.InvalidURL:
                        raise Failure("bad_url") from None
                    continue
                if status != 200:
                    raise _status_failure(status)
                return await self._receive(response, declared)
            finally:
                await response.aclose()
        raise Failure("redirects")

    async def _receive(self, response: httpx.Response, declared: str) -> Fetched:
        check_served(declared, response.headers.get("content-type"))
        limit = self._media.max_bytes
        too_large = Failure("too_large", limit=size_label(limit))
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise too_large
        incoming: Incoming = await asyncio.to_thread(self._store.incoming)
        try:
            try:
                async for chunk in response.aiter_bytes():
                    if incoming.size + len(chunk) > limit:
                        raise too_large
                    await asyncio.to_thread(incoming.write, chunk)
                    if len(incoming.head) >= SNIFF_BYTES:  # refuse a wrong file as soon as its head says so
                        check_bytes(declared, incoming.head)
            except httpx.TimeoutException:
                raise Failure("timeout", transient=True) from None
            except httpx.HTTPError:
                raise Failure("unreachable", transient=True) from None
            if incoming.size == 0:
                raise Failure("empty")
            content_type = check_bytes(declared, incoming.head)
            try:
                sha256 = await asyncio.to_thread(incoming.keep)
            except OSError:
                raise Failure("storage", transient=True) from None
            return Fetched(sha256, incoming.size, content_type)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(incoming.discard))
            raise


def _status_failure(status: int) -> Failure:
    if status in (404, 410):
        return Failure("not_found", status=status)
    if status in (401, 403):
        return Failure("refused", status=status)
    if status in (408, 425, 429) or status >= 500:
        return Failure("provider_error", transient=True, status=status)
    return Failure("provider_error", status=status)


def _parses(url: str) -> bool:
    try:
        return bool(httpx.URL(url).host)
    except httpx.InvalidURL:
        return False


class _NoQueryStrings(logging.Filter):
    """httpx logs every request's URL at INFO; a storage host's signed link carries its token in
    the query string. Logged without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) and a.query for a in record.args):
            record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_REDACT = _NoQueryStrings()


def redact_request_logs() -> None:
    logger = logging.getLogger("httpx")
    if _REDACT not in logger.filters:
        logger.addFilter(_REDACT)

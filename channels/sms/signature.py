"""Twilio's request signature (X-Twilio-Signature), computed and checked without I/O.

Twilio signs the full URL it requested (scheme, host, port, path, query) followed by each POST
parameter's name and value, parameters sorted by name (a repeated name: each value, sorted),
with HMAC-SHA1 keyed by the auth token, base64-encoded. A JSON body is signed as the URL with
`bodySHA256=<hex sha256 of the raw body>` in its query. Validators accept the URL with the
default port added or removed, since proxies differ on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit, urlunsplit

DEFAULT_PORTS = {"https": 443, "http": 80}


def compute(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    by_name: dict[str, list[str]] = {}
    for name, value in params:
        by_name.setdefault(name, []).append(value)
    payload = url + "".join(name + value for name in sorted(by_name) for value in sorted(set(by_name[name])))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """The URL as given, with the default port added, and with it removed."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    without = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")) if default else url
    variants = [url]
    if parts.port in (None, default):
        variants += [without, with_port]
    return list(dict.fromkeys(variants))


def is_valid(
    auth_token: str, signature: str | None, url: str, params: Iterable[tuple[str, str]] = (), body: bytes | None = None
) -> bool:
    """Form posts: pass params. JSON posts: pass the raw body; the URL carries bodySHA256."""
    if not signature or not auth_token:
        return False
    params = list(params)
    if body is not None:
        expected_hash = parse_qs(urlsplit(url).query).get("bodySHA256", [""])[0]
        if not hmac.compare_digest(expected_hash, hashlib.sha256(body).hexdigest()):
            return False
        params = []  # the body is covered by its hash in the URL
    # compare every variant, in constant time, without stopping at the first match
    results = [hmac.compare_digest(compute(auth_token, u, params), signature) for u in _port_variants(url)]
    return any(results)

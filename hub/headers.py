"""Security headers on every answer: a strict Content-Security-Policy for the inbox (scripts and
styles from the hub's own files only, no inline script, never framed), nosniff, no Referer, HSTS when
served over TLS. A route that sets its own CSP (a sandboxed email or media view) keeps it."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",  # data: the MFA QR code and images an email carries
        "media-src 'self' blob:",
        "connect-src 'self'",  # the API and the agents' WebSocket (same origin)
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The OpenAPI viewers (/schema) load their scripts from a CDN: they only may not be framed.
SCHEMA_CSP = "frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(public_https: bool) -> BeforeMessageSendHookHandler:
    """A before_send hook (every answer, errors and 404s included)."""

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        if "content-security-policy" not in headers:
            headers["Content-Security-Policy"] = SCHEMA_CSP if scope.get("path", "").startswith("/schema") else CSP
        headers.setdefault("X-Frame-Options", "DENY")
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        if public_https or scope.get("scheme") == "https":
            headers["Strict-Transport-Security"] = HSTS

    return add

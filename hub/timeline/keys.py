"""Integrations authenticate with a bearer key (PUENTE_SECURITY_INGEST_KEYS), not a staff session."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler


def check_integration_key(connection: ASGIConnection[Any, Any, Any, Any], keys: tuple[str, ...]) -> None:
    auth = connection.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("send the integration key as 'Authorization: Bearer <key>'")
    # compare against every key in constant time
    if not any(hmac.compare_digest(token.encode(), k.encode()) for k in keys):
        raise NotAuthorizedException("unknown integration key")


async def integration_key_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Checked before the body is read, so a stranger learns nothing about the body's format."""
    check_integration_key(connection, connection.app.state.hub.settings.security.ingest_keys)

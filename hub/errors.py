"""Error responses: clear 4xx for bad input; a 500 says nothing about the data and logs no PHI."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from hub.bounds import explain

log = logging.getLogger("hub.errors")


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The route, the exception type and where it was raised; never its message, which may
    # carry patient data.
    log.error(
        "internal error on %s %s: %s\n%s",
        request.method,
        request.scope.get("path_template", "?"),
        type(exc).__name__,
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    return Response(
        {"status_code": 500, "detail": "internal error; it has been logged"},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Say what is wrong in `detail` itself, not only in `extra`."""
    problems = exc.extra if isinstance(exc.extra, list) else []
    said = [
        f"{explain(p['message'])} ({p.get('source', '')} {p.get('key', '')})".replace(" )", ")").replace("( ", "(")
        for p in problems
        if isinstance(p, dict) and p.get("message")
    ]
    detail = "; ".join(said) or exc.detail
    body: dict[str, Any] = {"status_code": 400, "detail": detail}
    if problems:
        body["extra"] = problems
    return Response(body, status_code=400, media_type=MediaType.JSON)


def storage_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The database is unreachable or refused the write: nothing was stored, and a sender
    that retries later loses nothing (retries never create a second message)."""
    log.error("storage error on %s %s: %s", request.method, request.scope.get("path_template", "?"), type(exc).__name__)
    return Response(
        {"status_code": 503, "detail": "storage is unavailable; nothing was stored, retry later"},
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": "5"},
    )


def write_conflict(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Concurrent writers kept colliding on the same row: nothing was stored; a retry lands once."""
    log.warning("write conflict on %s %s", request.method, request.scope.get("path_template", "?"))
    return Response(
        {"status_code": 409, "detail": "a concurrent change conflicted with this one; nothing was stored, retry"},
        status_code=409,
        media_type=MediaType.JSON,
        headers={"Retry-After": "1"},
    )

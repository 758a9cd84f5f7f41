"""Error responses: clear 4xx for bad input; a 500 says nothing about the data and logs no PHI;
a database outage is a 503 with Retry-After.

The project's own errors have one root, channels.base.PuenteError:

    PuenteError
      InvalidPayload (channels/)          a provider's body cannot be read: 400 / SMTP 5xx
      Refused (hub/refusals.py)           a request refused, in the reader's language: 4xx
      JobFailure (hub/refusals.py)        a background job gave up on an item, with its reason
        Failure (media), VoiceFailure (voice)
      InvalidContact, BadToken, BadHours, BrokenSyntax, GlossaryError, UnknownLanguage,
      BadSetting, UnknownMessage, ProviderIdTaken, Refusal (mail not taken),
      EngineError, AudioProblem, ModelProblem, ChildCrashed/ChildTimeout/ChildProblem (voice)

Each is caught where it means something (a route turns it into its 4xx, a worker into an outcome);
anything else that reaches a handler is a bug: internal_error below.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

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


# SQLSTATE classes and codes that mean the database is gone or refusing, not that the statement
# was wrong: connection exceptions (08), operator intervention (57P: shut down, crashed, cannot
# connect now), too many connections, a database that does not accept connections (55000), and
# "lock not available" / "database is locked".
_OUTAGE_STATES = ("08", "57P", "53300", "53400", "55000", "55P03")


def is_storage_outage(exc: BaseException) -> bool:
    """Whether this error means the database is unreachable, gone or refusing (a 503, retry
    later), rather than a bug (a 500). The asyncpg dialect raises bare DBAPIError for a killed
    connection; the pool raises TimeoutError when exhausted; a refused connect is an OSError."""
    if isinstance(exc, (OperationalError, InterfaceError, SQLAlchemyTimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (OSError, TimeoutError)):
            return True
        state = str(getattr(e, "sqlstate", None) or getattr(e, "pgcode", None) or "")
        if state.startswith(_OUTAGE_STATES):
            return True
        if type(e).__module__.startswith("asyncpg") and type(e).__name__ in _ASYNCPG_OUTAGES:
            return True
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return False


_ASYNCPG_OUTAGES = {
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "InterfaceError",
    "InternalClientError",
    "TooManyConnectionsError",
    "CannotConnectNowError",
    "AdminShutdownError",
    "CrashShutdownError",
    "ConnectionRejectionError",
}


def database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Any other database error: an outage is a 503 like the rest, anything else a bug."""
    if is_storage_outage(exc):
        return storage_unavailable(request, exc)
    return internal_error(request, exc)


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

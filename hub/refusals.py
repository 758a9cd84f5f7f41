"""Refusals staff see in the inbox, translated into the request's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from hub.i18n import negotiate, translate

T = TypeVar("T")
R = TypeVar("R")


class Refused(HTTPException):
    """A 4xx whose detail is a catalog message with named placeholders."""

    def __init__(self, status_code: int, message: str, **params: Any) -> None:
        self.message, self.params = message, params
        super().__init__(status_code=status_code, detail=message.format(**params))


def render_refusal(request: Request[Any, Any, Any], exc: Refused) -> Response[dict[str, Any]]:
    detail = translate(negotiate(request), exc.message, **exc.params)
    headers = (
        {"Retry-After": str(exc.params["seconds"])} if exc.status_code == 429 and "seconds" in exc.params else None
    )
    return Response(
        {"status_code": exc.status_code, "detail": detail},
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def one_by_one(do: Callable[[Any, T], R]) -> Callable[[Any, list[T]], list[R | Refused]]:
    """A writer batch function from one that handles a single item and may refuse it. A refusal
    is that item's answer; `do` must refuse before it writes anything for the item."""

    def batch(tx: Any, items: list[T]) -> list[R | Refused]:
        out: list[R | Refused] = []
        for item in items:
            try:
                out.append(do(tx, item))
            except Refused as exc:
                out.append(exc)
        return out

    batch.__name__ = batch.__qualname__ = do.__name__.lstrip("_")
    return batch

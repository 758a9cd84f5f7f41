"""Refusals staff see in the inbox, translated into the request's language."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from hub.i18n import negotiate, translate


class Refused(HTTPException):
    """A 4xx whose detail is a catalog message with named placeholders."""

    def __init__(self, status_code: int, message: str, **params: Any) -> None:
        self.message, self.params = message, params
        super().__init__(status_code=status_code, detail=message.format(**params))


def render_refusal(request: Request[Any, Any, Any], exc: Refused) -> Response[dict[str, Any]]:
    detail = translate(negotiate(request), exc.message, **exc.params)
    return Response(
        {"status_code": exc.status_code, "detail": detail}, status_code=exc.status_code, media_type=MediaType.JSON
    )

"""The inbox's translated strings: GET /api/i18n/web?lang=es, public (the sign-in page needs them)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.params import QueryParameter

from hub.i18n import negotiate, supported, web_messages

MAX_AGE_S = 300  # catalogs change with a deploy; a short cache spares a request per page load


class WebCatalog(msgspec.Struct):
    language: str
    messages: dict[str, str]  # English msgid -> translation


@get(
    "/api/i18n/web",
    exclude_from_auth=True,
    skip_session=True,
    sync_to_thread=False,
    summary="The inbox's strings in one language",
)
def web_catalog(
    request: Request[Any, Any, Any],
    lang: Annotated[str | None, QueryParameter(max_length=35)] = None,
) -> Response[WebCatalog]:
    """`lang` when it is supported (es-MX -> es), else the best of Accept-Language, else English."""
    language = supported(lang) or negotiate(request)
    return Response(
        WebCatalog(language, web_messages(language)),
        headers={"Cache-Control": f"private, max-age={MAX_AGE_S}", "Vary": "Accept-Language"},
    )

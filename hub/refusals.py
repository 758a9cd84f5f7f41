"""What the hub says went wrong, in the reader's language: refusals of a request (Refused, with the
problems behind it) and the reasons a background job gave up on an item (JobFailure, Reasons). Each
keeps a catalog message and its named placeholders; every reader gets it translated, and the English
text goes in events and logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import msgspec
from babel import Locale, UnknownLocaleError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from channels.base import PuenteError
from hub.i18n import language_of, translate, translations

T = TypeVar("T")
R = TypeVar("R")


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with what was sent, and where: a catalog message, its placeholders, and
    where it is (say {"channel": "sms", "locale": "es", "field": "body", "position": 12})."""

    code: str
    message: str
    params: dict[str, Any] = {}
    where: dict[str, Any] = {}
    blocks: str = "save"  # "save": never acceptable; "publish": acceptable in a draft


def explain(problem: Problem, locale: str) -> dict[str, Any]:
    """A problem as the client gets it, in its language (a `language` parameter, a tag such as
    es-MX, is shown by its name in that language)."""
    params = dict(problem.params)
    if isinstance(params.get("language"), str):
        try:
            params["language"] = Locale.parse(params["language"].replace("-", "_")).get_display_name(locale)
        except (ValueError, UnknownLocaleError):
            pass
    return {
        "code": problem.code,
        "message": translate(locale, problem.message, **params),
        "blocks": problem.blocks,
        **problem.where,
    }


class Refused(PuenteError, HTTPException):
    """A 4xx whose detail is a catalog message with named placeholders, and optionally the
    problems behind it."""

    def __init__(self, status_code: int, message: str, problems: list[Problem] | None = None, **params: Any) -> None:
        self.message, self.params, self.problems = message, params, problems or []
        super().__init__(status_code=status_code, detail=message.format(**params))


def render_refusal(request: Request[Any, Any, Any], exc: Refused) -> Response[dict[str, Any]]:
    locale = language_of(request)  # the signed-in user's preference, else Accept-Language
    detail = translate(locale, exc.message, **exc.params)
    headers = (
        {"Retry-After": str(exc.params["seconds"])} if exc.status_code == 429 and "seconds" in exc.params else None
    )
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": detail}
    if exc.problems:
        body["problems"] = [explain(p, locale) for p in exc.problems]
    return Response(
        body,
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


# --- why a background job gave up on an item (a fetch, a transcription) -------------------------


class Reasons:
    """A table of codes -> catalog messages with named placeholders, and the code to fall back on."""

    def __init__(self, messages: dict[str, str], fallback: str) -> None:
        self.messages, self.fallback = messages, fallback

    def text(self, code: str | None, params: dict[str, Any] | None, locale: str = "en") -> str:
        message = self.messages.get(code or "", self.messages[self.fallback])
        try:
            return translate(locale, message, **(params or {}))
        except (KeyError, IndexError, ValueError):  # a parameter missing: the sentence as written
            return translations(locale).gettext(message)

    def refusal(self, code: str | None, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        """The catalog message and parameters for a failed item, safe to format."""
        message, params = self.messages.get(code or "", self.messages[self.fallback]), dict(params or {})
        try:
            message.format(**params)
        except (KeyError, IndexError, ValueError):
            return self.messages[self.fallback], {}
        return message, params


class JobFailure(PuenteError):
    """An item that did not get done; `transient`: worth trying again later."""

    reasons: ClassVar[Reasons]

    def __init__(self, code: str, transient: bool = False, **params: Any) -> None:
        super().__init__(code)
        self.code, self.transient, self.params = code, transient, params

    def text(self, locale: str = "en") -> str:
        return self.reasons.text(self.code, self.params, locale)

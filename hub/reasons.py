"""Why a background job gave up on an item (a fetch, a transcription), said once for every reader:
a code and its parameters are kept; each reader gets the reason in their own language, and the
English text goes in events and logs. And how long to wait before trying a failed item again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from hub.i18n import translate, translations


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


class JobFailure(Exception):
    """An item that did not get done; `transient`: worth trying again later."""

    reasons: ClassVar[Reasons]

    def __init__(self, code: str, transient: bool = False, **params: Any) -> None:
        super().__init__(code)
        self.code, self.transient, self.params = code, transient, params

    def text(self, locale: str = "en") -> str:
        return self.reasons.text(self.code, self.params, locale)


def backoff(attempt: int, base_s: float = 1.0) -> timedelta:
    """base, 4 x base, 16 x base, ... between attempts."""
    return timedelta(seconds=base_s * 4 ** (attempt - 1))

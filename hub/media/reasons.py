"""Why an attachment could not be kept: a code, catalog messages with named placeholders, and
whether trying again later may help. The record keeps the code and its parameters, so each
reader gets the reason in their own language; the English text goes in events and logs."""

from __future__ import annotations

from typing import Any

from hub.i18n import _, translate, translations

REASONS: dict[str, str] = {
    "bad_url": _("The attachment's address is not one the hub fetches from (an https link is needed)."),
    "type_not_allowed": _("Attachments of type {type} are not accepted."),
    "type_mismatch": _("The file's content is not the {type} it claims to be."),
    "too_large": _("The attachment is larger than the limit of {limit}."),
    "empty": _("The provider sent an empty file."),
    "not_found": _("The provider no longer has this attachment (HTTP {status})."),
    "refused": _("The provider refused to hand over this attachment (HTTP {status})."),
    "provider_error": _("The provider failed to send this attachment (HTTP {status})."),
    "unreachable": _("The provider could not be reached."),
    "timeout": _("The provider took too long to send this attachment."),
    "redirects": _("The provider redirected too many times."),
    "storage": _("The attachment could not be saved on the hub."),
    "interrupted": _("Fetching was interrupted too many times."),
}


class Failure(Exception):
    """A fetch that did not end with a stored file. transient: worth trying again later."""

    def __init__(self, code: str, transient: bool = False, **params: Any) -> None:
        super().__init__(code)
        self.code, self.transient, self.params = code, transient, params

    def text(self, locale: str = "en") -> str:
        return reason_text(self.code, self.params, locale)


def reason_text(code: str | None, params: dict[str, Any] | None, locale: str = "en") -> str:
    message = REASONS.get(code or "", REASONS["storage"])
    try:
        return translate(locale, message, **(params or {}))
    except (KeyError, IndexError, ValueError):  # a parameter missing: the sentence as written
        return translations(locale).gettext(message)


def refusal(code: str | None, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The catalog message and parameters for a failed item, safe to format."""
    message, params = REASONS.get(code or "", REASONS["storage"]), dict(params or {})
    try:
        message.format(**params)
    except (KeyError, IndexError, ValueError):
        return REASONS["storage"], {}
    return message, params


def size_label(n: int) -> str:
    """5242880 -> '5 MB' (binary megabytes, as the limit is set)."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"

"""gettext catalogs in locales/ (en, es), compiled in memory at first use.

Messages are marked with `_()` (for extraction by babel) and carry named placeholders
inside the string, so a translation can move them; never glue translated pieces together.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from litestar.connection import ASGIConnection

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "puente"
SUPPORTED = ("en", "es")
DEFAULT = "en"


def _(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


@cache
def translations(locale: str) -> Translations:
    po = LOCALES / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return Translations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def translate(locale: str, message: str, **params: Any) -> str:
    return translations(locale).gettext(message).format(**params)


def negotiate(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The request's language: Accept-Language (es-MX -> es), else the default."""
    header = connection.headers.get("accept-language", "")
    ranked = []
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
            lang = Locale.parse(tag.strip().replace("-", "_")).language if tag.strip() not in ("", "*") else None
        except (ValueError, UnknownLocaleError):
            continue
        if lang in SUPPORTED:
            ranked.append((weight, lang))
    return max(ranked, key=lambda x: x[0])[1] if ranked else DEFAULT


WEB_DOMAIN = "web"
"""The inbox's strings (web/strings.js), a domain of their own: the browser fetches them whole."""


def supported(tag: str | None) -> str | None:
    """The supported language a tag names (es, es-MX, es_MX -> es), else None."""
    try:
        lang = Locale.parse(tag.strip().replace("-", "_")).language if tag and tag.strip() else None
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return lang if lang in SUPPORTED else None


def language_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The language to answer in: the signed-in staff member's saved preference, else the request's."""
    user = connection.scope.get("user")
    return supported(getattr(user, "ui_language", None)) or negotiate(connection)


@cache
def web_messages(locale: str) -> dict[str, str]:
    """The web domain's catalog for `locale` as {msgid: translation}, compiled once by babel;
    untranslated and fuzzy messages are left out (the inbox shows the English source)."""
    po = LOCALES / locale / "LC_MESSAGES" / f"{WEB_DOMAIN}.po"
    if not po.exists():
        return {}
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    # A message with a context is keyed as gettext stores it, "context\x04message" (web/strings.js, _p).
    return {
        (f"{m.context}\x04{m.id}" if m.context else m.id): m.string
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }

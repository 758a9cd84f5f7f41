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

"""Rendering: a parsed template and values into text for one reader, formatted with babel in
the reader's locale (dates and times in the clinic's time zone, numbers, money, plural forms).

A value that is not known (the composer has no appointment to fill in) is rendered as its
label in brackets, in the reader's language, and reported, so the agent sees what to fill in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_currency, format_decimal

from hub.i18n import translate
from hub.patients.contacts import display_phone
from hub.templates.placeholders import PLACEHOLDERS, Kind
from hub.templates.syntax import Node


@dataclass
class Reader:
    """Who the text is for: their language tag (es-MX), and the clinic's region and zone."""

    language: str
    region: str = "US"
    timezone: str = "America/Los_Angeles"
    unresolved: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.language.split("-")[0].lower()

    @property
    def locale(self) -> Locale:
        """The reader's language in the clinic's region: es-MX and es at a US clinic both read
        es_US ($1,234.50 for the dollars they owe, not USD1,234.50 or 1.234,50 US$). A regional
        tag chooses the text (a template's es-MX variant), not how the clinic's values look."""
        lang = self.language.replace("_", "-").partition("-")[0].lower()
        for tag in (f"{lang}_{self.region.upper()}", lang):
            try:
                return Locale.parse(tag)
            except (UnknownLocaleError, ValueError):
                continue
        return Locale.parse("en")


# CLDR puts narrow and no-break spaces in times and money ("9:30\u202fAM"); one of them turns a
# whole SMS into UCS-2 (70 characters a segment instead of 160), and plain spaces read the same.
_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


def format_value(name: str, value: Any, reader: Reader) -> str:
    return _format(name, value, reader).translate(_SPACES)


def _format(name: str, value: Any, reader: Reader) -> str:
    placeholder = PLACEHOLDERS[name]
    loc, tz = reader.locale, ZoneInfo(reader.timezone)
    match placeholder.kind:
        case Kind.DATETIME:
            when: datetime = value
            day = format_date(when.astimezone(tz).date(), "full", locale=loc)
            time = format_time(when, "short", tzinfo=tz, locale=loc)
            return str(get_datetime_format("long", locale=loc)).replace("'", "").format(time, day)
        case Kind.DATE:
            return format_date(value if isinstance(value, date) else date.fromisoformat(str(value)), "long", locale=loc)
        case Kind.MONEY:
            return format_currency(Decimal(str(value)), "USD", locale=loc)
        case Kind.NUMBER:
            return format_decimal(value, locale=loc)
        case Kind.PHONE:
            return display_phone(str(value), reader.region)
        case _:
            return str(value)


def render(nodes: list[Node], values: dict[str, Any], reader: Reader, number: Any = None) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            # A value that ends a sentence with an abbreviation ("8:00 a.m.") before the
            # template's own full stop reads "a.m.." otherwise.
            if node.startswith(".") and out and out[-1].endswith(".") and not out[-1].endswith(".."):
                node = node[1:]
            out.append(node)
            continue
        name = node["name"]
        if node.get("hash"):  # the '#' inside a plural form: the number being counted
            out.append(format_decimal(number, locale=reader.locale).translate(_SPACES))
            continue
        if name not in values or values[name] is None:
            if name not in reader.unresolved:
                reader.unresolved.append(name)
            known = PLACEHOLDERS.get(name)
            out.append(f"[{translate(reader.base, known.label) if known else name}]")
            continue
        value, kind, options = values[name], node.get("type"), node.get("options") or {}
        if kind in ("plural", "selectordinal"):
            n = value - node.get("offset", 0)
            exact = f"={value}"
            rule = reader.locale.ordinal_form if kind == "selectordinal" else reader.locale.plural_form
            chosen = options.get(exact) or options.get(rule(abs(n))) or options["other"]
            out.append(render(chosen, values, reader, n))
        elif kind == "select":
            out.append(render(options.get(str(value)) or options["other"], values, reader, number))
        else:
            out.append(format_value(name, value, reader))
    return "".join(out)

"""The rows of a CSV file of patients, each checked on its own and against the rows before it (no
database). An error keeps the row out: no name, a date that is no date or in the future, a phone or
email that cannot be reached, an unknown language, the same MRN, phone or email as an earlier row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from channels.base import fold
from hub.i18n import _
from hub.patients.contacts import InvalidContact, normalise_email, normalise_phone
from hub.patients.csv_file import DateOrder, Field, filled
from hub.patients.directory_query import MONTHS
from hub.patients.names import name_terms

LANGUAGES = {"en": "en", "eng": "en", "english": "en", "ingles": "en", "es": "es", "spa": "es", "spanish": "es",
             "espanol": "es", "castellano": "es"}  # fmt: skip
SAME_AS = {
    "mrn": _("The same record number as line {line}."),
    "phone": _("The same phone number as line {line}."),
    "email": _("The same email address as line {line}."),
}


def parse_date(value: str, order: DateOrder, today: date) -> date | None:
    """A date of birth in the file's order; 1984-03-07 is always year first; 3/7/84 has a two-digit
    year (the last hundred years); 7 mar 1984 and 7 de marzo de 1984 have a month name. ValueError
    when it is none of these, or is in the future."""
    v = value.strip()
    m = re.match(r"^(\d{1,4})[/.-](\d{1,2})[/.-](\d{1,4})$", v)
    found: date | None = None
    if m:
        a, b, c = m.groups()
        if len(a) == 4:
            y, mo, d = int(a), int(b), int(c)
        elif len(c) in (2, 4) and len(a) <= 2:
            y = int(c)
            if len(c) == 2:
                y += 2000 if 2000 + y <= today.year else 1900
            mo, d = (int(a), int(b)) if order == DateOrder.MDY else (int(b), int(a))
            if order == DateOrder.YMD:
                raise ValueError(v)
        else:
            raise ValueError(v)
        found = date(y, mo, d)
    else:
        words = [w for w in re.split(r"[\s,./-]+", fold(v)) if w and w not in ("de", "del", "of")]
        months = [w for w in words if w in MONTHS]
        numbers = [w for w in words if w.isdigit()]
        if len(words) != 3 or len(months) != 1 or len(numbers) != 2:
            raise ValueError(v)
        year = [n for n in numbers if len(n) == 4]
        day = [n for n in numbers if len(n) <= 2]
        if len(year) != 1 or len(day) != 1:
            raise ValueError(v)
        found = date(int(year[0]), MONTHS[months[0]], int(day[0]))
    if found > today or found.year < 1880:
        raise ValueError(v)
    return found


@dataclass
class Row:
    line: int  # in the file, the header being line 1
    name: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None
    email: str | None = None
    mrn: str | None = None
    language: str | None = None
    errors: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)  # (code, field, message, params)
    warnings: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    action: str = "create"  # create, update, unchanged, error
    patient_id: int | None = None
    changes: list[str] = field(default_factory=list)

    def error(self, code: str, f: str, message: str, **params: Any) -> None:
        self.errors.append((code, f, message, params))

    def warn(self, code: str, f: str, message: str, **params: Any) -> None:
        self.warnings.append((code, f, message, params))


def read_rows(
    headers: list[str], rows: list[list[str]], mapping: dict[str, str | None], order: DateOrder, region: str
) -> list[Row]:
    """Every row checked on its own and against the rows before it (no database)."""
    where = {f: headers.index(c) for f, c in mapping.items() if c is not None}
    today = date.today()
    seen: dict[tuple[str, str], int] = {}
    out = []
    for n, cells in enumerate(rows, start=2):
        if not filled(cells):
            continue

        def cell(f: Field, cells: list[str] = cells) -> str:
            i = where.get(f.value)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        r = Row(n)
        name = cell(Field.NAME) or " ".join(p for p in (cell(Field.FIRST_NAME), cell(Field.LAST_NAME)) if p)
        if cell(Field.NAME) and cell(Field.LAST_NAME) and not fold(name).endswith(fold(cell(Field.LAST_NAME))):
            name = f"{name} {cell(Field.LAST_NAME)}"  # a whole name and a surname column: both
        name = " ".join(name.split())
        if not name_terms(name):
            r.error("missing_name", "name", _("The row has no name."))
        elif len(name) > 200:
            r.error("long_name", "name", _("The name is longer than 200 characters."))
        else:
            r.name = name
        if value := cell(Field.DATE_OF_BIRTH):
            try:
                r.date_of_birth = parse_date(value, order, today)
            except ValueError:
                r.error("bad_date", "date_of_birth", _("'{value}' is not a date of birth."), value=value[:40])
        if value := cell(Field.PHONE):
            try:
                r.phone = normalise_phone(value, region)
            except InvalidContact:
                r.error("bad_phone", "phone", _("'{value}' is not a phone number."), value=value[:40])
        if value := cell(Field.EMAIL):
            try:
                r.email = normalise_email(value)
            except InvalidContact:
                r.error("bad_email", "email", _("'{value}' is not an email address."), value=value[:80])
        if value := cell(Field.MRN):
            if len(value) > 120:
                r.error("long_mrn", "mrn", _("The record number is longer than 120 characters."))
            else:
                r.mrn = value
        if value := cell(Field.LANGUAGE):
            r.language = LANGUAGES.get(fold(value))
            if r.language is None:
                r.error(
                    "bad_language",
                    "language",
                    _("'{value}' is not a language the hub speaks (en, es)."),
                    value=value[:40],
                )
        for f, key in (("mrn", r.mrn), ("phone", r.phone), ("email", r.email)):
            if key is None:
                continue
            if (f, key) in seen:
                r.error("duplicate_in_file", f, SAME_AS[f], line=seen[(f, key)])
            else:
                seen[(f, key)] = n
        out.append(r)
    return out

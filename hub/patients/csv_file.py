"""A CSV file of patients as a table: its text, its columns and the order its dates are written in.
Pure: no database (hub/patients/csv_rows.py checks the rows, hub/patients/csv_import.py imports them).

- **Reading.** UTF-8 with or without a BOM, UTF-16 with a BOM, else Windows-1252 (what Excel on
  Windows writes, and what browsers read a Latin-1 label as); a file that is neither is asked about
  with charset-normalizer. Comma, semicolon (Excel in Spanish) or tab separated, guessed from the
  header line. At most MAX_BYTES and MAX_ROWS rows.
- **Columns.** Guessed from the headers in English or Spanish (name/nombre, first/last or
  nombre/apellidos, dob/fecha de nacimiento, phone/teléfono, email/correo, mrn/expediente,
  language/idioma); the admin can change the mapping. Dates are read in one order for the whole
  file (month first, day first, or year first), guessed from the values (a 13 or more in the first
  place means day first) and the headers' language, and changeable too.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from enum import StrEnum
from typing import Any

import charset_normalizer

from channels.base import fold
from hub.i18n import _

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000


class Field(StrEnum):
    NAME = "name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    DATE_OF_BIRTH = "date_of_birth"
    PHONE = "phone"
    EMAIL = "email"
    MRN = "mrn"
    LANGUAGE = "language"


class DateOrder(StrEnum):
    MDY = "mdy"
    DMY = "dmy"
    YMD = "ymd"


# Headers as clinics write them, folded (accents and case dropped, anything but letters and digits
# turned into single spaces).
HEADERS = {
    Field.NAME: {"name", "full name", "patient", "patient name", "nombre completo", "paciente",
                 "nombre del paciente", "nombre y apellidos", "nombre y apellido"},
    Field.FIRST_NAME: {"first", "first name", "firstname", "given", "given name", "given names", "nombre",
                       "nombres", "primer nombre"},
    Field.LAST_NAME: {"last", "last name", "lastname", "surname", "family", "family name", "apellido",
                      "apellidos"},
    Field.DATE_OF_BIRTH: {"dob", "d o b", "date of birth", "birth date", "birthdate", "birthday", "born",
                          "fecha de nacimiento", "fecha nacimiento", "nacimiento", "f nacimiento", "fnac"},
    Field.PHONE: {"phone", "phone number", "mobile", "mobile phone", "cell", "cell phone", "telephone", "tel",
                  "telefono", "numero de telefono", "celular", "movil", "telefono movil"},
    Field.EMAIL: {"email", "e mail", "email address", "mail", "correo", "correo electronico", "e mail address"},
    Field.MRN: {"mrn", "medical record number", "record number", "patient id", "chart", "chart number",
                "expediente", "numero de expediente", "historia clinica", "nhc", "n expediente"},
    Field.LANGUAGE: {"language", "preferred language", "lang", "idioma", "idioma preferido", "lengua"},
}  # fmt: skip
SPANISH_HEADERS = {"nombre", "nombres", "apellido", "apellidos", "fecha de nacimiento", "fecha nacimiento",
                   "telefono", "correo", "idioma", "expediente", "celular", "paciente"}  # fmt: skip


class CsvRefused(ValueError):
    """The file as a whole cannot be imported: a catalog message and its placeholders."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params))
        self.message, self.params = message, params


def decode(raw: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in."""
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise CsvRefused(_("The file starts as UTF-8 but is not: save it again as CSV UTF-8.")) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise CsvRefused(_("The file starts as UTF-16 but is not: save it again as CSV UTF-8.")) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(raw).best()
    if guess is None or guess.encoding in ("utf_8", "ascii"):
        raise CsvRefused(_("The file's characters could not be read: save it again as CSV UTF-8."))
    return str(guess), guess.encoding


def read_table(raw: bytes) -> tuple[list[str], list[list[str]], str, str, str]:
    """(headers, rows, encoding, delimiter, text). CsvRefused when it is no table one can import."""
    if len(raw) > MAX_BYTES:
        raise CsvRefused(
            _("The file is larger than {limit} MB: split it into smaller files."), limit=MAX_BYTES // 2**20
        )
    if b"\x00" in raw and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvRefused(_("This is not a CSV file (it has binary content): export the list as CSV."))
    text, encoding = decode(raw)
    headers, rows, delimiter = read_text(text)
    return headers, rows, encoding, delimiter, text


def read_text(text: str) -> tuple[list[str], list[list[str]], str]:
    """(headers, rows, delimiter) of a decoded file."""
    text = text.replace("\x00", "")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=lambda d: (first_line.count(d), d == ","))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        headers = next(reader, [])
        rows = []
        for row in reader:
            rows.append(row)  # blank ones too: a row's place is its line in the file
            if len(rows) > MAX_ROWS:
                raise CsvRefused(_("The file has more than {limit} rows: split it into smaller files."), limit=MAX_ROWS)
    except csv.Error:
        raise CsvRefused(_("The file is not a well-formed CSV table (a quote is never closed?).")) from None
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise CsvRefused(_("The file is empty: its first line should name the columns."))
    if not any(filled(row) for row in rows):
        raise CsvRefused(_("The file has column names but no rows."))
    return headers, rows, delimiter


def filled(row: list[str]) -> bool:
    return any(cell.strip() for cell in row)


def _folded_header(h: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(h)))


def guess_mapping(headers: list[str]) -> dict[str, str | None]:
    """field -> the column (its header) it is read from, or None."""
    out: dict[str, str | None] = {f.value: None for f in Field}
    for h in headers:
        key = _folded_header(h)
        for f, names in HEADERS.items():
            if key in names and out[f] is None:
                out[f] = h
                break
    if out[Field.FIRST_NAME] and not out[Field.LAST_NAME] and not out[Field.NAME]:
        out[Field.NAME], out[Field.FIRST_NAME] = out[Field.FIRST_NAME], None  # 'Nombre' alone: the whole name
    if out[Field.NAME] and out[Field.LAST_NAME] and not out[Field.FIRST_NAME]:
        out[Field.FIRST_NAME], out[Field.NAME] = out[Field.NAME], None  # 'Name' beside 'Surname': the given name
    return out


def guess_date_order(headers: list[str], rows: list[list[str]], mapping: dict[str, str | None]) -> DateOrder:
    column = mapping.get(Field.DATE_OF_BIRTH)
    if column in headers:
        i = headers.index(column)
        for row in rows[:2000]:
            m = re.match(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\s*$", row[i] if i < len(row) else "")
            if m and int(m.group(1)) > 12:
                return DateOrder.DMY
            if m and int(m.group(2)) > 12:
                return DateOrder.MDY
    spanish = any(_folded_header(h) in SPANISH_HEADERS for h in headers)
    return DateOrder.DMY if spanish else DateOrder.MDY


def check_mapping(headers: list[str], mapping: dict[str, str | None]) -> None:
    for f, column in mapping.items():
        if f not in Field.__members__.values():
            raise CsvRefused(_("There is no field {field} to import into."), field=f)
        if column is not None and column not in headers:
            raise CsvRefused(_("The file has no column {column}."), column=column)
    if not (mapping.get(Field.NAME) or mapping.get(Field.FIRST_NAME) or mapping.get(Field.LAST_NAME)):
        raise CsvRefused(_("Choose the column with the patient's name (or first and last names)."))

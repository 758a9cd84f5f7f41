"""Patients from a CSV file, for clinics without an EHR link: read the file, map its columns, check
every row against the file and the records (a dry run), then import it.

- **Reading.** UTF-8 with or without a BOM, UTF-16 with a BOM, else Windows-1252 (what Excel on
  Windows writes, and what browsers read a Latin-1 label as); a file that is neither is asked about
  with charset-normalizer. Comma, semicolon (Excel in Spanish) or tab separated, guessed from the
  header line. At most MAX_BYTES and MAX_ROWS rows.
- **Columns.** Guessed from the headers in English or Spanish (name/nombre, first/last or
  nombre/apellidos, dob/fecha de nacimiento, phone/teléfono, email/correo, mrn/expediente,
  language/idioma); the admin can change the mapping. Dates are read in one order for the whole
  file (month first, day first, or year first), guessed from the values (a 13 or more in the first
  place means day first) and the headers' language, and changeable too.
- **Rows.** An error keeps the row out (no name, a date that is no date or in the future, a phone
  or email that cannot be reached, an unknown language, the same MRN, phone or email as an earlier
  row). A row matches an existing patient by MRN (any system), then by a verified phone or email,
  then by a phone or email on record for a patient of the same name: it updates them (or changes
  nothing). A phone or email another patient already has is not moved: a warning, and staff merge
  the records if they are one person.
- **Importing: all or nothing.** The whole file is one writer transaction that checks every row
  again against the records as they are then: either every row without an error is stored, with its
  search words and the audit rows, or (on any failure) nothing is, and the run says it failed. The
  rows are read and normalised before, in a thread (the slow part: ~0.1 ms a row), so the
  transaction only matches and writes; the cost of all or nothing is that it holds the single
  writer while it runs: a 20,000-row file (the cap) held it about 2 s on SQLite on the 2-core
  machine under load, and messages arriving meanwhile were acknowledged that much later (none
  lost). Larger lists are split, or come through the EHR link, which commits page by page. The
  file's text is dropped from the run once it is imported.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import charset_normalizer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.base import fold
from hub.db.models import ContactPoint, Patient, PatientIdentifier
from hub.db.types import utcnow
from hub.i18n import _
from hub.patients.contacts import InvalidContact, normalise_email, normalise_phone
from hub.patients.directory_query import MONTHS
from hub.patients.names import index_new_names, name_terms, reindex_name

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MRN_SYSTEM = "urn:puente:mrn"  # the clinic's own record numbers, as a CSV gives them
CHUNK = 500


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
LANGUAGES = {"en": "en", "eng": "en", "english": "en", "ingles": "en", "es": "es", "spa": "es", "spanish": "es",
             "espanol": "es", "castellano": "es"}  # fmt: skip


SAME_AS = {
    "mrn": _("The same record number as line {line}."),
    "phone": _("The same phone number as line {line}."),
    "email": _("The same email address as line {line}."),
}
TAKEN = {
    "phone": _("Another patient has this phone number: it stays theirs (merge the records if they are one person)."),
    "email": _("Another patient has this email address: it stays theirs (merge the records if they are one person)."),
}


class CsvRefused(ValueError):
    """The file as a whole cannot be imported: a catalog message and its placeholders."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params))
        self.message, self.params = message, params


# --- reading the file ---------------------------------------------------------------------------


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


# --- one row ------------------------------------------------------------------------------------


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


# --- against the records ------------------------------------------------------------------------


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def match(s: Session, rows: list[Row]) -> None:
    """Each row without errors: create, update (with what changes) or unchanged; errors and
    warnings from the records (an MRN on two patients, a phone or email another patient has)."""
    good = [r for r in rows if not r.errors]
    mrns = sorted({r.mrn for r in good if r.mrn})
    by_mrn: dict[str, set[int]] = {}
    for chunk in _chunks(mrns):
        for value, pid, merged in s.execute(
            select(PatientIdentifier.value, PatientIdentifier.patient_id, Patient.merged_into_id)
            .join(Patient, Patient.id == PatientIdentifier.patient_id)
            .where(PatientIdentifier.value.in_(chunk))
        ):
            by_mrn.setdefault(value, set()).add(merged or pid)
    points: dict[tuple[str, str], tuple[int, bool]] = {}
    for kind in ("phone", "email"):
        addresses = sorted({a for r in good if (a := r.phone if kind == "phone" else r.email)})
        for chunk in _chunks(addresses):
            for address, pid, verified, merged in s.execute(
                select(ContactPoint.address, ContactPoint.patient_id, ContactPoint.verified, Patient.merged_into_id)
                .join(Patient, Patient.id == ContactPoint.patient_id)
                .where(ContactPoint.kind == kind, ContactPoint.address.in_(chunk))
            ):
                points[(kind, address)] = (merged or pid, verified)
    candidates = {pid for pids in by_mrn.values() for pid in pids} | {pid for pid, _v in points.values()}
    people: dict[int, Any] = {}
    for chunk in _chunks(sorted(candidates)):
        for p in s.execute(
            select(Patient.id, Patient.name, Patient.date_of_birth, Patient.preferred_language).where(
                Patient.id.in_(chunk)
            )
        ):
            people[p.id] = p
    numbers: dict[int, set[str]] = {}
    for chunk in _chunks(sorted(candidates)):
        for pid, value in s.execute(
            select(PatientIdentifier.patient_id, PatientIdentifier.value).where(PatientIdentifier.patient_id.in_(chunk))
        ):
            numbers.setdefault(pid, set()).add(value)
    claimed: dict[int, int] = {}  # patient id -> the line that updates them
    for r in good:
        pid = None
        if r.mrn and r.mrn in by_mrn:
            if len(by_mrn[r.mrn]) > 1:
                r.error("ambiguous_mrn", "mrn", _("Record number {mrn} belongs to more than one patient."), mrn=r.mrn)
                continue
            [pid] = by_mrn[r.mrn]
        mine = [(k, a) for k, a in (("phone", r.phone), ("email", r.email)) if a]
        if pid is None:
            verified = {points[p][0] for p in mine if p in points and points[p][1]}
            same_name = {
                points[p][0]
                for p in mine
                if p in points and name_terms(people[points[p][0]].name) == name_terms(r.name)
            }
            found = verified or same_name
            if len(found) > 1:
                r.error("two_patients", "phone", _("The phone and the email belong to two different patients."))
                continue
            pid = next(iter(found), None)
        if pid is not None and pid in claimed:
            r.error("same_patient", "name", _("Line {line} already updates the same patient."), line=claimed[pid])
            continue
        for kind, address in mine:
            owner = points.get((kind, address))
            if owner is not None and owner[0] != pid:
                r.warn("taken", kind, TAKEN[kind])
        if pid is None:
            r.action = "create"
            continue
        claimed[pid] = r.line
        r.patient_id = pid
        p = people[pid]
        r.changes = [
            f
            for f, new, old in (
                ("name", r.name, p.name),
                ("date_of_birth", r.date_of_birth, p.date_of_birth),
                ("language", r.language, p.preferred_language),
            )
            if new is not None and new != old
        ]
        r.changes += [k for k, a in mine if (k, a) not in points]
        if r.mrn and r.mrn not in numbers.get(pid, set()):
            r.changes.append("mrn")
        r.action = "update" if r.changes else "unchanged"
    for r in rows:
        if r.errors:
            r.action = "error"


def counts(rows: list[Row]) -> dict[str, int]:
    out = {"rows": len(rows), "create": 0, "update": 0, "unchanged": 0, "error": 0, "warnings": 0}
    for r in rows:
        out[r.action] += 1
        out["warnings"] += bool(r.warnings)
    return out


def store(s: Session, rows: list[Row]) -> tuple[list[int], list[int]]:
    """Write what match() decided, in the caller's transaction: (created ids, updated ids)."""
    now = utcnow()
    new = [r for r in rows if r.action == "create"]
    created: list[int] = []
    if new:
        patients = Patient.__table__
        for chunk in _chunks(new):
            ids = s.execute(
                patients.insert().returning(patients.c.id, sort_by_parameter_order=True),
                [
                    {"name": r.name, "date_of_birth": r.date_of_birth, "preferred_language": r.language,
                     "source": "csv", "created_at": now, "updated_at": now}
                    for r in chunk
                ],
            ).scalars().all()  # fmt: skip
            for r, pid in zip(chunk, ids, strict=True):
                r.patient_id = pid
            created += ids
        index_new_names(s, [(r.patient_id, r.name) for r in new])  # type: ignore[misc]
    updated: list[int] = []
    for r in rows:
        if r.action != "update":
            continue
        assert r.patient_id is not None
        values: dict[str, Any] = {"updated_at": now}
        if "name" in r.changes:
            values["name"] = r.name
            reindex_name(s, r.patient_id, r.name)
        if "date_of_birth" in r.changes:
            values["date_of_birth"] = r.date_of_birth
        if "language" in r.changes:
            values["preferred_language"] = r.language
        s.execute(update(Patient).where(Patient.id == r.patient_id).values(**values))
        updated.append(r.patient_id)
    points, identifiers = [], []
    for r in rows:
        if r.action not in ("create", "update"):
            continue
        taken = {w[1] for w in r.warnings if w[0] == "taken"}
        for kind, address in (("phone", r.phone), ("email", r.email)):
            if address and kind not in taken and (r.action == "create" or kind in r.changes):
                points.append(
                    {"patient_id": r.patient_id, "kind": kind, "address": address, "verified": False, "created_at": now}
                )  # noqa: E501
        if r.mrn and (r.action == "create" or "mrn" in r.changes):
            identifiers.append(
                {"patient_id": r.patient_id, "system": MRN_SYSTEM, "value": r.mrn, "label": "MRN", "created_at": now}
            )  # noqa: E501
    for chunk in _chunks(points):
        s.execute(ContactPoint.__table__.insert(), chunk)
    for chunk in _chunks(identifiers):
        s.execute(PatientIdentifier.__table__.insert(), chunk)
    return created, updated

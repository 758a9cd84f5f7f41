"""CSV import of patients, against a real hub on SQLite and PostgreSQL: upload (encodings, separators,
headers in English and Spanish), a dry run with row errors that stores nothing, the import (all or
nothing, audited, searchable at once), a second run that changes nothing, and bad input."""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.models import ContactPoint, Patient, PatientIdentifier, PatientSearchTerm
from hub.patients.names import name_terms
from tests.support.clients import Staff
from tests.support.server import HubServer, hub_settings
from tests.support.services import PostgresDatabase

SPANISH = (
    "Nombre;Apellidos;Fecha de nacimiento;Teléfono;Correo;Expediente;Idioma\n"
    "Íñigo;Peña Ruiz;25/12/1975;(650) 555-0301;inigo@example.org;E-100;español\n"
    "Lucía;Fernández;7/3/1984;650 555 0302;;E-101;es\n"
)
ENGLISH_1252 = "First Name,Last Name,DOB,Phone,Email,MRN,Language\nRenée,Núñez,03/07/1984,(650) 555-0311,,C-1,English\n"

# line 2 onwards; what the dry run must say of each
ROWS = [
    ("Ana,Quiroga,1990-01-02,(650) 555-0401,ana.q@example.org,Q-1,en", "create", []),
    ("Bea,Quiroga,1990-13-02,(650) 555-0402,,Q-2,en", "error", ["bad_date"]),
    ("Carla,Quiroga,1990-01-03,555-12,,Q-3,es", "error", ["bad_phone"]),
    (",,1990-01-04,(650) 555-0404,,Q-4,", "error", ["missing_name"]),
    ("Dora,Quiroga,1990-01-05,(650) 555-0405,,Q-1,", "error", ["duplicate_in_file"]),  # Q-1 again
    ("Eva,Quiroga,1990-01-06,,not-an-email,Q-6,", "error", ["bad_email"]),
    ("Fidel,Quiroga,1990-01-07,,,Q-7,klingon", "error", ["bad_language"]),
    ("Gil Existing,Quiroga,1970-05-05,,,EXIST-1,es", "update", []),  # MRN on record: date and language change
    ("Hugo,Quiroga,1971-06-06,(650) 555-0408,,Q-8,", "update", []),  # a verified phone on record
    ("Iris,Quiroga,1972-07-07,(650) 555-0409,,Q-9,", "create", ["taken"]),  # someone else's unverified phone
    ("Juan,Quiroga,2999-01-01,,,Q-10,", "error", ["bad_date"]),  # in the future
]
HEADER = "Name,Surname,Birth date,Mobile,E-mail,Medical record number,Preferred language\n"


async def _on_record(url: str) -> dict[str, int]:
    """Patients the file will meet: one by MRN, one by a verified phone, one with an unverified phone."""
    engine = create_async_engine(url)
    out = {}
    async with engine.begin() as conn:
        for key, name, point, verified, mrn in (
            ("gil", "Gil Existing Quiroga", None, False, "EXIST-1"),
            ("hugo", "Hugo Quiroga", "+16505550408", True, None),
            ("other", "Somebody Else", "+16505550409", False, None),
        ):
            pid = (
                await conn.execute(insert(Patient).values(name=name, source="staff").returning(Patient.id))
            ).scalar_one()
            out[key] = pid
            for term in name_terms(name):
                await conn.execute(insert(PatientSearchTerm).values(term=term, patient_id=pid))
            if point:
                await conn.execute(
                    insert(ContactPoint).values(patient_id=pid, kind="phone", address=point, verified=verified)
                )
            if mrn:
                await conn.execute(insert(PatientIdentifier).values(patient_id=pid, system="urn:ehr", value=mrn))
    await engine.dispose()
    return out


async def _count(url: str, model) -> int:  # noqa: ANN001
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        n = (await conn.execute(select(func.count()).select_from(model))).scalar_one()
    await engine.dispose()
    return n


async def _sql(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    await engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    pg = PostgresDatabase() if request.param == "postgres" else None
    tmp: Path = tmp_path_factory.mktemp("csv")
    srv = HubServer(hub_settings(tmp, db_url=pg.url if pg else None)).start()
    try:
        known = asyncio.run(_on_record(srv.settings.database.url))
        clients = {login: Staff(srv.base_url, login) for login in ("ana", "sofia", "admin")}
        yield srv, known, clients
        for c in clients.values():
            c.close()
    finally:
        srv.stop()
        if pg:
            pg.drop()


def _upload(admin: Staff, body: bytes, filename: str = "patients.csv"):  # noqa: ANN202
    return admin.post("/api/imports/csv", content=body, headers={"content-type": "text/csv", "x-filename": filename})


def _wait(admin: Staff, run_id: int) -> dict:
    deadline = time.monotonic() + 30
    while True:
        run = admin.get(f"/api/imports/csv/{run_id}").json()
        if run["status"] in ("done", "failed"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def _search(client: Staff, q: str) -> list[dict]:
    r = client.get("/api/patients", params={"q": q})
    assert r.status_code == 200, r.text
    return r.json()["patients"]


def test_spanish_headers_semicolons_and_a_bom_are_understood(hub):
    _srv, _known, clients = hub
    r = _upload(clients["admin"], codecs.BOM_UTF8 + SPANISH.encode("utf-8"), "pacientes.csv")
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["encoding"] == "utf-8-sig" and up["delimiter"] == ";" and up["rows"] == 2
    assert up["columns"][0] == "Nombre"  # the BOM is not part of the first header
    assert up["mapping"] == {
        "name": None,
        "first_name": "Nombre",
        "last_name": "Apellidos",
        "date_of_birth": "Fecha de nacimiento",
        "phone": "Teléfono",
        "email": "Correo",
        "mrn": "Expediente",
        "language": "Idioma",
    }
    assert up["date_order"] == "dmy"  # 25/12/1975 can only be day first
    body = {"mapping": up["mapping"], "date_order": up["date_order"]}
    preview = clients["admin"].post(f"/api/imports/csv/{up['id']}/preview", json=body).json()
    assert preview["counts"] == {"rows": 2, "create": 2, "update": 0, "unchanged": 0, "error": 0, "warnings": 0}
    assert clients["admin"].post(f"/api/imports/csv/{up['id']}/start", json=body).status_code == 202
    assert _wait(clients["admin"], up["id"])["status"] == "done"
    [inigo] = _search(clients["sofia"], "peña ruiz iñigo")
    assert inigo["date_of_birth"] == "1975-12-25" and inigo["record_numbers"] == ["E-100"]
    [lucia] = _search(clients["sofia"], "(650) 555-0302")
    assert lucia["name"] == "Lucía Fernández" and lucia["date_of_birth"] == "1984-03-07"  # 7/3 day first


def test_a_windows_1252_file_reads_its_accents(hub):
    _srv, _known, clients = hub
    r = _upload(clients["admin"], ENGLISH_1252.encode("cp1252"))
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["encoding"] == "windows-1252" and up["sample"][0][:2] == ["Renée", "Núñez"]
    assert up["date_order"] == "mdy" and up["mapping"]["date_of_birth"] == "DOB"


def test_the_dry_run_shows_row_errors_and_stores_nothing_then_the_import_stores_the_rest(hub):
    srv, known, clients = hub
    admin, url = clients["admin"], srv.settings.database.url
    up = _upload(admin, (HEADER + "\n".join(r for r, _a, _c in ROWS) + "\n").encode()).json()
    assert up["mapping"]["first_name"] == "Name" and up["mapping"]["last_name"] == "Surname"
    assert up["mapping"]["phone"] == "Mobile" and up["mapping"]["mrn"] == "Medical record number"
    body = {"mapping": up["mapping"], "date_order": "mdy"}
    before = asyncio.run(_count(url, Patient)), asyncio.run(_count(url, ContactPoint))

    preview = admin.post(f"/api/imports/csv/{up['id']}/preview", json=body)
    assert preview.status_code == 200, preview.text
    p = preview.json()
    by_line = {row["line"]: row for row in p["rows"]}
    for line, (_row, action, codes) in enumerate(ROWS, start=2):
        got = by_line.get(line)
        assert got is not None and got["action"] == action, (line, got)
        assert sorted(x["code"] for x in got["problems"]) == sorted(codes), (line, got)
    assert by_line[9]["patient_id"] == known["gil"] and set(by_line[9]["changes"]) >= {"date_of_birth", "language"}
    assert by_line[10]["patient_id"] == known["hugo"]
    assert "line 2" in next(x["message"] for x in by_line[6]["problems"])
    assert p["counts"] == {"rows": 11, "create": 2, "update": 2, "unchanged": 0, "error": 7, "warnings": 1}
    assert (asyncio.run(_count(url, Patient)), asyncio.run(_count(url, ContactPoint))) == before
    assert _search(admin, "ana quiroga") == []

    run = admin.post(f"/api/imports/csv/{up['id']}/start", json=body)
    assert run.status_code == 202, run.text
    done = _wait(admin, up["id"])
    assert done["status"] == "done" and done["counts"] == p["counts"], done
    assert asyncio.run(_count(url, Patient)) == before[0] + 2
    [ana] = _search(admin, "ANA QUIROGA")
    assert ana["date_of_birth"] == "1990-01-02" and ana["record_numbers"] == ["Q-1"]
    assert {c["address"] for c in ana["contacts"]} == {"+16505550401", "ana.q@example.org"}
    [iris] = _search(admin, "iris quiroga")
    assert iris["contacts"] == []  # the phone stays with the patient who had it
    [gil] = _search(admin, "EXIST-1")
    assert gil["date_of_birth"] == "1970-05-05"
    [hugo] = _search(admin, "hugo quiroga")
    assert hugo["id"] == known["hugo"] and "Q-8" in hugo["record_numbers"]
    assert _search(admin, "bea quiroga") == [] and _search(admin, "Q-6") == []

    audit = admin.get("/api/audit", params={"action": "import.csv_run"}).json()
    assert {r["patient_id"] for r in audit if r["detail"].get("run") == up["id"]} >= {ana["id"], known["gil"]}
    assert admin.get("/api/audit", params={"action": "import.csv_preview"}).json()
    # imported: the file is not kept, and the same run cannot go twice
    assert admin.post(f"/api/imports/csv/{up['id']}/start", json=body).status_code == 409
    assert admin.post(f"/api/imports/csv/{up['id']}/preview", json=body).status_code == 409

    # the same file again: everything is on record already
    again = _upload(admin, (HEADER + "\n".join(r for r, _a, _c in ROWS) + "\n").encode()).json()
    p2 = admin.post(f"/api/imports/csv/{again['id']}/preview", json=body).json()
    assert p2["counts"]["create"] == 0 and p2["counts"]["update"] == 0 and p2["counts"]["unchanged"] == 4, p2["counts"]


def test_a_failure_mid_import_leaves_nothing(hub):
    """The database refuses the third row's record number (a trigger, as a full disk or a lost
    connection would): the rows before it are not kept, and the run says it failed."""
    srv, _known, clients = hub
    admin, url = clients["admin"], srv.settings.database.url
    if url.startswith("sqlite"):
        create = (
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON patient_identifiers WHEN NEW.value = 'BOOM' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        drop = ("DROP TRIGGER refuse_boom",)
    else:
        create = (
            "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN IF NEW.value = 'BOOM' THEN "
            "RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON patient_identifiers "
            "FOR EACH ROW EXECUTE FUNCTION refuse_boom()",
        )
        drop = ("DROP TRIGGER refuse_boom ON patient_identifiers", "DROP FUNCTION refuse_boom()")
    asyncio.run(_sql(url, *create))
    try:
        csv = HEADER + "Kai,Zamora,,(650) 555-0501,,Z-1,\nLeo,Zamora,,,,Z-2,\nMia,Zamora,,,,BOOM,\n"
        up = _upload(admin, csv.encode()).json()
        before = asyncio.run(_count(url, Patient)), asyncio.run(_count(url, ContactPoint))
        body = {"mapping": up["mapping"], "date_order": "mdy"}
        assert admin.post(f"/api/imports/csv/{up['id']}/start", json=body).status_code == 202
        run = _wait(admin, up["id"])
        assert run["status"] == "failed" and "stored nothing" in run["error"] and "Zamora" not in run["error"]
        assert (asyncio.run(_count(url, Patient)), asyncio.run(_count(url, ContactPoint))) == before
        assert _search(admin, "kai zamora") == []
    finally:
        asyncio.run(_sql(url, *drop))
    # the cause gone, the same run imports
    assert admin.post(f"/api/imports/csv/{up['id']}/start", json=body).status_code == 202
    assert _wait(admin, up["id"])["status"] == "done"
    assert len(_search(admin, "zamora")) == 3


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"", 400, "empty"),
        (b"Name,Phone\n", 400, "no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", 400, "binary"),
        (b'Name,Phone\n"Ana,+16505550100\n', 400, "quote"),
        (b"Name\n" + b"x" * (5 * 1024 * 1024 + 10), 413, ""),
    ],
)
def test_a_file_that_cannot_be_imported_is_a_clear_4xx(hub, body, status, says):
    _srv, _known, clients = hub
    r = _upload(clients["admin"], body)
    assert r.status_code == status, r.text[:300]
    assert says in r.json()["detail"]


def test_a_mapping_that_does_not_fit_the_file_is_a_clear_400(hub):
    _srv, _known, clients = hub
    admin = clients["admin"]
    up = _upload(admin, b"Name,Phone\nAna Ruiz,(650) 555-0999\n").json()
    for mapping, says in (
        ({"name": "Nombre"}, "no column Nombre"),
        ({"phone": "Phone"}, "name"),
        ({"name": "Name", "shoe_size": "Phone"}, "no field shoe_size"),
    ):
        r = admin.post(f"/api/imports/csv/{up['id']}/preview", json={"mapping": mapping})
        assert r.status_code == 400 and says in r.json()["detail"], r.text
    r = admin.post(f"/api/imports/csv/{up['id']}/preview", json={"mapping": {"name": "Name"}, "date_order": "ydm"})
    assert r.status_code == 400
    assert admin.post("/api/imports/csv/99999/preview", json={"mapping": {"name": "Name"}}).status_code == 404
    assert admin.get("/api/imports/csv/99999").status_code == 404


def test_only_admins_import(hub):
    _srv, _known, clients = hub
    for login in ("ana", "sofia"):
        assert _upload(clients[login], b"Name\nAna\n").status_code == 403

"""The EHR link end to end: a real hub imports Synthea-shaped patients and appointments from a local
FHIR R4 server over HTTP (SMART Backend Services, paging), through the server's failures (401, 429,
5xx, a hang, malformed resources), idempotently, matching only what may be matched; a hub killed
with SIGKILL mid-import resumes at its page; and an imported patient passes the assistant's identity
check by SMS."""

from __future__ import annotations

import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from hub.patients.contacts import normalise_phone
from hub.patients.fhir.client import FhirClient, FhirError, search_url
from hub.settings import FhirSettings
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.fake_fhir import FakeFhir, Fault, key_pair
from tests.support.fake_twilio import FakeTwilio
from tests.support.server import HubServer, free_port, hub_settings
from tests.support.services import PostgresDatabase
from tests.support.synthea import MRN_SYSTEM, population

CLIENT_ID = "puente-test"
KEYS = {alg: key_pair(alg) for alg in ("RS384", "ES384")}


def fhir_settings(ehr: FakeFhir, algorithm: str = "RS384", **kw: Any) -> FhirSettings:
    options: dict[str, Any] = {
        "base_url": ehr.url,
        "client_id": CLIENT_ID,
        "private_key": KEYS[algorithm][0],
        "key_id": "puente-1",
        "algorithm": algorithm,
        "page_size": 20,
        "allow_http": True,
        "timeout_s": 2.0,
        "max_backoff_s": 0.2,
        **kw,
    }
    return FhirSettings(**options)


@pytest.fixture
def ehr() -> Iterator[FakeFhir]:
    with FakeFhir(CLIENT_ID, public_key=KEYS["RS384"][1], key_id="puente-1") as fake:
        yield fake


def start_hub(tmp_path: Path, ehr: FakeFhir, db_url: str | None = None, **fhir: Any) -> HubServer:
    settings = hub_settings(tmp_path, db_url=db_url)
    return HubServer(replace(settings, fhir=fhir_settings(ehr, **fhir))).start()


@pytest.fixture
def hub(tmp_path: Path, ehr: FakeFhir) -> Iterator[HubServer]:
    srv = start_hub(tmp_path, ehr)
    yield srv
    srv.stop()


@pytest.fixture
def admin(hub: HubServer) -> Iterator[Staff]:
    client = Staff(hub.base_url, "admin")
    yield client
    client.close()


def run_import(admin: Staff, full: bool = False, timeout: float = 60.0) -> dict[str, Any]:
    """Start an import and wait for it to finish; the run as the admin API shows it."""
    r = admin.post("/api/fhir/imports", json={"full": full})
    assert r.status_code == 202, r.text
    return wait_run(admin, r.json()["run"]["id"], timeout)


def wait_run(admin: Staff, run_id: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = next(r for r in admin.get("/api/fhir/imports").json()["runs"] if r["id"] == run_id)
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"import {run_id} did not finish: {run}")


def rows(srv_or_path: Any, sql: str, *args: Any) -> list[tuple]:
    path = srv_or_path if isinstance(srv_or_path, Path) else srv_or_path.settings.database.url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        return db.execute(sql, args).fetchall()


def pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


# --- an import, a second one, a new version ------------------------------------------------------------


def test_a_paged_import_keeps_what_the_record_says_and_a_second_changes_nothing(hub, admin, ehr):
    pop = population(70, seed=3)
    ehr.load(pop.patients, pop.appointments)
    run = run_import(admin)
    n_patients, n_appts = len(pop.patients), len(pop.appointments)
    bad_contacts = sum(1 for p in pop.people for t in p.resource["telecom"] if t["system"] != "fax") - sum(
        bool(p.phone) + bool(p.email) for p in pop.people
    )
    assert run["status"] == "done" and run["error"] is None
    c = run["counts"]
    assert (c["patients_created"], c["patients_updated"], c["patients_unchanged"]) == (n_patients, 0, 0)
    assert (c["appointments_created"], c["errors"], c["conflicts"]) == (n_appts, 0, 0)
    assert c["invalid_contacts"] == bad_contacts > 0
    assert c["pages"] == pages(n_patients, 20) + pages(n_appts, 20)
    assert run["totals"] == {"Patient": n_patients, "Appointment": n_appts}
    # Paged by Bundle.link next, one token for the whole import, fetched with a signed assertion.
    assert len(ehr.searches("Patient")) == pages(n_patients, 20) and ehr.token_requests == 1
    assert ehr.refused_assertions == []

    # What the record says, as the hub keeps it.
    maria = next(p for p in pop.people if p.language == "es" and p.phone and p.email)
    (pid, name, dob, language, source, version), *more = rows(
        hub,
        "select id, name, date_of_birth, preferred_language, source, fhir_version from patients where fhir_id = ?",
        maria.id,
    )
    assert not more and (name, dob, language, source, version) == (
        maria.name,
        maria.birth_date.isoformat(),
        "es",
        "fhir",
        "1",
    )
    assert rows(hub, "select system, value, label from patient_identifiers where patient_id = ?", pid) == [
        (MRN_SYSTEM, maria.mrn, "MRN")  # the MRN only: no SSN, no driver's licence
    ]
    points = rows(hub, "select kind, address, verified from contact_points where patient_id = ? order by kind", pid)
    assert points == [("email", maria.email, 0), ("phone", maria.phone, 0)]  # normalised, not verified
    terms = {t for (t,) in rows(hub, "select term from patient_search_terms where patient_id = ?", pid)}
    assert terms >= {w for w in re.findall(r"\w+", name.lower().translate(str.maketrans("áéíóúñü", "aeiounu")))}
    zones = {z for (z,) in rows(hub, "select time_zone from patients where source = 'fhir'")}
    assert "America/Chicago" in zones or "America/New_York" in zones or "America/Los_Angeles" in zones
    appt = pop.appointments[0]
    patient_of = rows(
        hub, "select id from patients where fhir_id = ?", appt["participant"][0]["actor"]["reference"][8:]
    )
    assert rows(
        hub,
        "select patient_id, status, service_type, practitioner, location from appointments where fhir_id = ?",
        appt["id"],
    ) == [
        (
            patient_of[0][0],
            appt["status"],
            appt["serviceType"][0]["text"],
            appt["participant"][1]["actor"]["display"],
            appt["participant"][2]["actor"]["display"],
        )
    ]
    # Every patient the import wrote is in the audit trail.
    audited = rows(hub, "select count(distinct patient_id) from audit_log where action = 'fhir.patient_import'")
    assert audited == [(n_patients,)]

    # A second import asks for what changed since: nothing, so nothing changes.
    again = run_import(admin)
    assert again["status"] == "done" and again["counts"]["resources"] == 0
    assert again["counts"]["patients_created"] == again["counts"]["patients_updated"] == 0
    assert "_lastUpdated=gt" in ehr.searches("Patient")[-1][1]
    # A full one reads everything again: every version known, nothing written.
    full = run_import(admin, full=True)
    fc = full["counts"]
    assert (fc["patients_created"], fc["patients_updated"], fc["patients_unchanged"]) == (0, 0, n_patients)
    assert (fc["appointments_created"], fc["appointments_updated"], fc["appointments_unchanged"]) == (0, 0, n_appts)
    assert rows(hub, "select count(*) from patients where source = 'fhir'") == [(n_patients,)]
    assert rows(hub, "select count(distinct patient_id) from audit_log where action = 'fhir.patient_import'") == [
        (n_patients,)
    ]

    # A new version in the EHR: applied by the next import, and the name searchable anew.
    ehr.update("Patient", maria.id, {"name": [{"use": "official", "family": "Ibáñez", "given": ["Marisol"]}]})
    appt_id = pop.appointments[1]["id"]
    ehr.update("Appointment", appt_id, {"status": "cancelled"})
    changed = run_import(admin)
    cc = changed["counts"]
    assert (cc["patients_updated"], cc["patients_created"], cc["patients_unchanged"]) == (1, 0, 0)
    assert (cc["appointments_updated"], cc["appointments_created"]) == (1, 0)
    assert rows(hub, "select name, fhir_version from patients where id = ?", pid) == [("Marisol Ibáñez", "2")]
    assert {t for (t,) in rows(hub, "select term from patient_search_terms where patient_id = ?", pid)} == {
        "marisol",
        "ibanez",
    }
    assert rows(hub, "select status from appointments where fhir_id = ?", appt_id) == [("cancelled",)]
    link = admin.get("/api/fhir/link").json()
    assert link["configured"] and link["auth"] == "smart" and link["last_sync"] and link["active"] is None


# --- the server's failures ---------------------------------------------------------------------------


def test_a_401_gets_a_fresh_token_once_a_second_fails_clearly_and_a_resume_finishes(hub, admin, ehr):
    pop = population(45, seed=4, appointments_per_patient=0)
    ehr.load(pop.patients)
    ehr.fail_next(Fault(200), Fault(401))  # the first page served, then the token revoked
    run_id = admin.post("/api/fhir/imports", json={}).json()["run"]["id"]
    run = wait_run(admin, run_id)
    assert run["status"] == "done" and run["counts"]["patients_created"] == 45
    assert ehr.token_requests == 2

    # 401 to the fresh token too: the import fails, says why, and keeps its place.
    ehr.update("Patient", pop.people[0].id, {"birthDate": "1950-01-01"})
    ehr.fail_next(Fault(401), Fault(401))
    failed = run_import(admin)
    assert failed["status"] == "failed" and "401" in failed["error"] and "token" in failed["error"]
    assert failed["counts"]["pages"] == 0
    resumed = admin.post(f"/api/fhir/imports/{failed['id']}/resume")
    assert resumed.status_code == 202, resumed.text
    done = wait_run(admin, failed["id"])
    assert done["status"] == "done" and done["counts"]["patients_updated"] == 1 and done["error"] is None
    assert admin.post(f"/api/fhir/imports/{failed['id']}/resume").status_code == 409  # not a failed one now
    assert admin.post("/api/fhir/imports/424242/resume").status_code == 404


def test_throttling_and_server_errors_are_waited_out(hub, admin, ehr):
    pop = population(30, seed=5, appointments_per_patient=0)
    ehr.load(pop.patients)
    ehr.fail_next(Fault(429, retry_after="1"), Fault(500), Fault(503), Fault(0, hang_s=3))
    started = time.monotonic()
    run = run_import(admin)
    assert run["status"] == "done" and run["counts"]["patients_created"] == 30
    log = [e for e in ehr.searches("Patient")]
    assert [e[2] for e in log[:3]] == [429, 500, 503]
    assert log[1][3] - log[0][3] >= 0.95  # Retry-After: 1 honoured
    assert time.monotonic() - started < 20
    assert rows(hub, "select count(*) from patients where source = 'fhir'") == [(30,)]


def test_an_ehr_that_keeps_failing_fails_the_import_with_its_reason(hub, admin, ehr):
    ehr.load(population(5, seed=6, appointments_per_patient=0).patients)
    ehr.fail_next(*[Fault(503)] * 5)  # max_attempts
    run = run_import(admin)
    assert run["status"] == "failed" and "503" in run["error"]
    ehr.fail_next(Fault(429, retry_after="3600"))  # longer than PUENTE_FHIR_MAX_RETRY_AFTER_S
    run = run_import(admin)
    assert run["status"] == "failed" and "3600" in run["error"]


def test_malformed_resources_are_skipped_and_reported_by_id(hub, admin, ehr):
    pop = population(12, seed=7)
    ehr.load(pop.patients, pop.appointments)
    meta = {"versionId": "1", "lastUpdated": "2026-02-01T00:00:00Z"}
    ehr.add({"resourceType": "Patient", "id": "bad-name", "meta": meta, "name": "not a list"})
    ehr.add({"resourceType": "Patient", "id": "bad-dob", "meta": meta, "birthDate": "03/09/1984"})
    ehr.add({"resourceType": "Patient", "id": "no version"})
    ehr.add({"resourceType": "Appointment", "id": "appt-bad", "meta": meta, "status": "booked", "participant": []})
    ehr.add(
        {
            "resourceType": "Appointment",
            "id": "appt-orphan",
            "meta": meta,
            "status": "booked",
            "participant": [{"actor": {"reference": "Patient/nobody-here"}}],
        }
    )
    run = run_import(admin)
    assert run["status"] == "done"
    c = run["counts"]
    assert c["patients_created"] == 12 and c["appointments_created"] == len(pop.appointments) and c["errors"] == 5
    problems = {p["resource"]: p["reason"] for p in run["problems"]}
    assert set(problems) == {
        "Patient/bad-name",
        "Patient/bad-dob",
        "Patient/(no valid id)",
        "Appointment/appt-bad",
        "Appointment/appt-orphan",
    }
    assert "name" in problems["Patient/bad-name"] and "birthDate" in problems["Patient/bad-dob"]
    assert "not imported" in problems["Appointment/appt-orphan"]
    assert "not a list" not in str(run)  # a reason names the field, never the value


# --- matching ------------------------------------------------------------------------------------------


def test_a_patient_is_matched_by_record_number_or_verified_contact_only(hub, admin, ehr):
    integration = httpx.Client(base_url=hub.base_url, timeout=10)
    pop = population(6, seed=8, appointments_per_patient=0)
    by_mrn, by_verified, by_unverified = pop.people[0], pop.people[1], pop.people[2]
    by_verified.email = by_verified.email or "verified.person@example.org"
    by_verified.resource["telecom"] = [{"system": "email", "value": by_verified.email}]
    unverified_phone = by_unverified.phone or normalise_phone("(650) 555-0142")
    by_unverified.resource["telecom"] = [{"system": "phone", "value": unverified_phone}]
    # Three patients the hub knew from their messages: one given the MRN by staff, one whose email
    # a web-chat code proved, one who only wrote from a number.
    ids = {}
    for key, kind, address in (
        ("mrn", "phone", "+16505550171"),
        ("verified", "email", by_verified.email),
        ("unverified", "phone", unverified_phone),
    ):
        r = post_inbound(integration, inbound("hello", f"match-{key}", kind=kind, address=address))
        assert r.status_code in (200, 201), r.text
        ids[key] = r.json()["patient_id"]
    db = hub.settings.database.url.split("///", 1)[1]
    with sqlite3.connect(db) as c:
        c.execute(
            "insert into patient_identifiers (patient_id, system, value, label, created_at) values (?, ?, ?, 'MRN', ?)",
            (ids["mrn"], MRN_SYSTEM, by_mrn.mrn, "2026-01-01 00:00:00"),
        )
        c.execute("update contact_points set verified = 1 where patient_id = ? and kind = 'email'", (ids["verified"],))
    ehr.load(pop.patients)
    run = run_import(admin)
    c = run["counts"]
    assert c["patients_matched"] == 2 and c["patients_created"] == 4 and c["conflicts"] == 1
    fhir_of = dict(rows(hub, "select id, fhir_id from patients where id in (?, ?, ?)", *ids.values()))
    assert fhir_of[ids["mrn"]] == by_mrn.id and fhir_of[ids["verified"]] == by_verified.id
    assert fhir_of[ids["unverified"]] is None  # an unproven number makes no match
    (new_id,) = rows(hub, "select id from patients where fhir_id = ?", by_unverified.id)[0]
    assert new_id != ids["unverified"]
    # ...and is not taken from the patient who wrote from it.
    assert rows(hub, "select patient_id from contact_points where address = ?", unverified_phone) == [
        (ids["unverified"],)
    ]
    # The matched patients now carry the EHR's name and date of birth.
    assert rows(hub, "select name, date_of_birth from patients where id = ?", ids["mrn"]) == [
        (by_mrn.name, by_mrn.birth_date.isoformat())
    ]


# --- SMART Backend Services ----------------------------------------------------------------------------


def test_es384_keys_and_a_bearer_token_work_and_a_wrong_key_is_refused_clearly(tmp_path, ehr):
    pop = population(5, seed=9, appointments_per_patient=0)
    ehr.load(pop.patients)
    ehr.public_key, ehr.algorithm = KEYS["ES384"][1], "ES384"
    srv = start_hub(tmp_path / "es", ehr, algorithm="ES384")
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            assert run_import(admin)["counts"]["patients_created"] == 5
    finally:
        srv.stop()
    ehr.public_key = KEYS["RS384"][1]  # the EHR has another key registered than the hub signs with
    srv = start_hub(tmp_path / "wrong", ehr, algorithm="ES384")
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            run = run_import(admin)
            assert run["status"] == "failed" and "token endpoint refused" in run["error"]
    finally:
        srv.stop()
    ehr.bearer_token = "static-token-for-a-sandbox"
    srv = start_hub(tmp_path / "bearer", ehr, client_id="", bearer_token=ehr.bearer_token)
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            assert admin.get("/api/fhir/link").json()["auth"] == "bearer"
            assert run_import(admin)["counts"]["patients_created"] == 5
    finally:
        srv.stop()
    srv = start_hub(tmp_path / "bearer-wrong", ehr, client_id="", bearer_token="not-the-token")
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            run = run_import(admin)
            assert run["status"] == "failed" and "PUENTE_FHIR_BEARER_TOKEN" in run["error"]
    finally:
        srv.stop()


def test_without_a_link_an_import_is_refused_with_the_reason(hub_server, staff):
    admin = staff["admin"]
    link = admin.get("/api/fhir/link").json()
    assert link["configured"] is False and "PUENTE_FHIR_BASE_URL" in link["problem"]
    r = admin.post("/api/fhir/imports", json={})
    assert r.status_code == 409 and "PUENTE_FHIR_BASE_URL" in r.json()["detail"]
    assert admin.post("/api/fhir/imports", json={"full": "yes"}).status_code == 400
    assert staff["sofia"].get("/api/fhir/imports").status_code == 403


# --- kill -9 mid-import ----------------------------------------------------------------------------------


def _serve(data_dir: Path, port: int, ehr: FakeFhir, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUENTE_DATA_DIR": str(data_dir),
        "PUENTE_SERVER_DEMO": "1",
        "PUENTE_BOT_ENABLED": "0",
        "PUENTE_LOG_LEVEL": "warning",
        "PUENTE_EMAIL_LISTEN_PORT": "0",
        "PUENTE_FHIR_BASE_URL": ehr.url,
        "PUENTE_FHIR_CLIENT_ID": CLIENT_ID,
        "PUENTE_FHIR_PRIVATE_KEY": KEYS["RS384"][0],
        "PUENTE_FHIR_KEY_ID": "puente-1",
        "PUENTE_FHIR_PAGE_SIZE": "10",
        "PUENTE_FHIR_ALLOW_HTTP": "1",
    }
    for name in ("PUENTE_DATABASE_URL", "PUENTE_REALTIME_REDIS_URL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "--port", str(port)], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_a_hub_killed_mid_import_resumes_at_its_page_with_exact_counts(tmp_path, ehr):
    pop = population(60, seed=10)
    ehr.load(pop.patients, pop.appointments)
    ehr.page_delay_s = 0.25
    port, log = free_port(), tmp_path / "hub.log"
    db = tmp_path / "puente.db"
    hub = _serve(tmp_path, port, ehr, log)
    try:
        with closing(Staff(f"http://127.0.0.1:{port}", "admin")) as admin:
            assert admin.post("/api/fhir/imports", json={}).status_code == 202
        deadline = time.monotonic() + 30
        while not rows(db, "select 1 from import_runs where json_extract(counts, '$.pages') >= 3"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        hub.send_signal(signal.SIGKILL)
        hub.wait()
    ((status, pages_then, created_then),) = rows(
        db,
        "select status, json_extract(counts, '$.pages'), json_extract(counts, '$.patients_created') from import_runs",
    )
    assert status == "running" and 3 <= pages_then < 6 + pages(len(pop.appointments), 10)
    assert rows(db, "select count(*) from patients where source = 'fhir'") == [(created_then,)]  # page by page
    first_searches = len(ehr.searches())
    ehr.page_delay_s = 0
    hub = _serve(tmp_path, port, ehr, log)  # resumes by itself: the killed process is gone
    try:
        with closing(Staff(f"http://127.0.0.1:{port}", "admin")) as admin:
            run = wait_run(admin, 1)
    finally:
        hub.terminate()
        hub.wait(timeout=30)
    assert run["status"] == "done", run
    c = run["counts"]
    assert (c["patients_created"], c["patients_updated"], c["patients_unchanged"]) == (60, 0, 0)
    assert (c["appointments_created"], c["errors"]) == (len(pop.appointments), 0)
    assert c["pages"] == 6 + pages(len(pop.appointments), 10)
    assert rows(db, "select count(*), count(distinct fhir_id) from patients where source = 'fhir'") == [(60, 60)]
    assert rows(db, "select count(*) from appointments") == [(len(pop.appointments),)]
    # After the restart, no search started over: it went on from the page it was on.
    after = ehr.searches()[first_searches:]
    assert after and all("_offset=" in path for _, path, _, _ in after if "/Patient?" in path)
    # At most the pages in flight at the kill (the one being written, the one read ahead) read twice.
    assert len(ehr.searches("Patient")) <= 6 + 2


# --- PostgreSQL -----------------------------------------------------------------------------------------


def test_the_import_on_postgresql(tmp_path, ehr):
    try:
        pg = PostgresDatabase()
    except Exception as exc:  # noqa: BLE001 - the suite's rule: skip without the service unless required
        if os.environ.get("PUENTE_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    pop = population(40, seed=11)
    ehr.load(pop.patients, pop.appointments)
    # What PostgreSQL refuses to store (NUL characters, a number longer than its column) must not
    # sink the page: cleaned, dropped or the resource skipped.
    meta = {"versionId": "1", "lastUpdated": "2026-02-01T00:00:00Z"}
    ehr.add(
        {
            "resourceType": "Patient",
            "id": "nul-name",
            "meta": meta,
            "name": [{"family": "Pe\x00ña", "given": ["In\x00és"]}],
            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "system": "urn:x", "value": "9" * 500}],
        }
    )
    ehr.add({"resourceType": "Patient", "id": "nul-version", "meta": {"versionId": "1\x00"}})
    srv = start_hub(tmp_path, ehr, db_url=pg.url)
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            run = run_import(admin)
            assert run["status"] == "done" and run["counts"]["patients_created"] == 41, run
            assert run["counts"]["errors"] == 1 and run["problems"][0]["resource"] == "Patient/nul-version"
            assert run["counts"]["appointments_created"] == len(pop.appointments)
            full = run_import(admin, full=True)
            assert full["counts"]["patients_unchanged"] == 41 and full["counts"]["patients_created"] == 0
    finally:
        srv.stop()
        pg.drop()


# --- the assistant's identity check for an imported patient -----------------------------------------


def test_an_imported_patient_is_verified_by_the_assistant_by_sms(tmp_path, ehr):
    from tests.bot.test_bot import Patient, _wait

    pop = population(8, seed=12, appointments_per_patient=0)
    person = next(p for p in pop.people if p.phone and p.language == "es")
    ehr.load(pop.patients)
    with FakeTwilio(*_twilio()) as twilio:
        settings = hub_settings(tmp_path, bot=True)
        settings = replace(settings, sms=replace(settings.sms, api_base_url=twilio.url), fhir=fhir_settings(ehr))
        srv = HubServer(settings).start()
        try:
            with closing(Staff(srv.base_url, "admin")) as admin, closing(Staff(srv.base_url, "sofia")) as sofia:
                assert run_import(admin)["counts"]["patients_created"] == 8
                (patient_id,) = rows(srv, "select id from patients where fhir_id = ?", person.id)[0]
                texter = Patient(srv, twilio, person.phone)
                texter.says("Necesito cambiar mi cita")
                assert "fecha de nacimiento" in texter.waits_for(1)[0]
                texter.says(f"Nací el {person.birth_date.isoformat()}")
                texts = texter.waits_for(3)
                code = re.search(r"\b(\d{6})\b", next(t for t in texts if re.search(r"\d{6}", t))).group(1)
                texter.says(code)
                conv = _wait(
                    lambda: next(
                        (
                            c
                            for c in sofia.get("/api/conversations").json()["conversations"]
                            if c["patient_id"] == patient_id and c["verified_at"]
                        ),
                        None,
                    )
                )
                assert conv["patient_name"] == person.name
                verified = rows(
                    srv,
                    "select data from timeline_events where conversation_id = ? and kind = 'identity_verified'",
                    conv["id"],
                )
                assert len(verified) == 1 and "date_of_birth+code" in verified[0][0]
        finally:
            srv.stop()


def _twilio() -> tuple[str, str]:
    from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN

    return TWILIO_ACCOUNT, TWILIO_TOKEN


# --- the sync interval -------------------------------------------------------------------------------


def test_with_a_sync_interval_imports_start_by_themselves(tmp_path, ehr):
    ehr.load(population(5, seed=13, appointments_per_patient=0).patients)
    srv = start_hub(tmp_path, ehr, sync_interval_s=1)
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            deadline = time.monotonic() + 30
            while len(done := [r for r in admin.get("/api/fhir/imports").json()["runs"] if r["status"] == "done"]) < 2:
                assert time.monotonic() < deadline, done
                time.sleep(0.2)
            first, second = done[-1], done[-2]  # newest first
            assert first["started_by"] is None and first["counts"]["patients_created"] == 5
            assert second["counts"]["resources"] == 0  # only what changed since: nothing
            assert admin.get("/api/fhir/link").json()["sync_interval_s"] == 1
    finally:
        srv.stop()


def test_a_record_merged_by_staff_gets_the_ehrs_changes_on_the_record_it_was_merged_into(hub, admin, ehr):
    pop = population(3, seed=14, appointments_per_patient=0)
    person = pop.people[0]
    ehr.load(pop.patients)
    assert run_import(admin)["counts"]["patients_created"] == 3
    (imported,) = rows(hub, "select id from patients where fhir_id = ?", person.id)[0]
    with httpx.Client(base_url=hub.base_url, timeout=10) as integration:
        r = post_inbound(integration, inbound("hola", "merge-target-1", address="+16505550177"))
        kept = r.json()["patient_id"]
    r = admin.post(f"/api/patients/{kept}/merges", json={"source_id": imported, "reason": "same person, two records"})
    assert r.status_code == 201, r.text
    ehr.update("Patient", person.id, {"name": [{"use": "official", "family": "Peña", "given": ["Inés"]}]})
    ehr.add(
        {
            "resourceType": "Appointment",
            "id": "appt-after-merge",
            "meta": {"versionId": "1", "lastUpdated": "2026-12-01T00:00:00Z"},
            "status": "booked",
            "start": "2026-12-20T17:00:00Z",
            "participant": [{"actor": {"reference": f"Patient/{person.id}"}}],
        }
    )
    run = run_import(admin, full=True)
    assert run["counts"]["patients_updated"] == 1 and run["counts"]["appointments_created"] == 1
    assert rows(hub, "select name from patients where id = ?", kept) == [("Inés Peña",)]
    assert rows(hub, "select fhir_version from patients where id = ?", imported) == [("2",)]
    assert rows(hub, "select patient_id from appointments where fhir_id = 'appt-after-merge'") == [(kept,)]
    assert {t for (t,) in rows(hub, "select term from patient_search_terms where patient_id = ?", kept)} == {
        "ines",
        "pena",
    }


def test_a_hub_stopped_mid_import_hands_it_back_and_the_next_start_finishes_it(tmp_path, ehr):
    pop = population(50, seed=15, appointments_per_patient=0)
    ehr.load(pop.patients)
    ehr.page_delay_s = 0.3
    srv = start_hub(tmp_path, ehr, page_size=10)
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            run_id = admin.post("/api/fhir/imports", json={}).json()["run"]["id"]
            deadline = time.monotonic() + 20
            while admin.get("/api/fhir/link").json()["active"]["counts"]["pages"] < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        srv.stop()
    ((status, state),) = rows(tmp_path / "hub.db", "select status, state from import_runs where id = ?", run_id)
    assert status == "queued" and "_offset=" in state  # handed back, its place kept
    ehr.page_delay_s = 0
    srv = start_hub(tmp_path, ehr, page_size=10)
    try:
        with closing(Staff(srv.base_url, "admin")) as admin:
            run = wait_run(admin, run_id)
    finally:
        srv.stop()
    c = run["counts"]
    assert run["status"] == "done" and c["patients_created"] == 50 and c["pages"] == 5 + 1  # + appointments' one
    assert [path for _, path, _, _ in ehr.searches("Patient")].count("/fhir/Patient?_count=10") == 1  # not restarted
    assert rows(tmp_path / "hub.db", "select count(*) from patients where source = 'fhir'") == [(50,)]


# --- the client alone ----------------------------------------------------------------------------------


async def test_a_page_link_to_another_host_is_refused_and_the_token_never_leaves(ehr):
    ehr.load(population(3, seed=16, appointments_per_patient=0).patients)
    async with httpx.AsyncClient() as http:
        client = FhirClient(fhir_settings(ehr), http)
        page = await client.page(search_url(client.settings, "Patient", None))
        assert len(page.resources) == 3 and page.next_url is None and page.total == 3
        other = ehr.url.replace("127.0.0.1", "localhost")  # the same server under another name
        with pytest.raises(FhirError, match="away from the FHIR base URL"):
            await client.page(f"{other}/Patient?_count=20")
    assert all("localhost" not in path for _, path, _, _ in ehr.log)
    claims = jwt.decode(client.assertion(ehr.token_url), KEYS["RS384"][1], algorithms=["RS384"], audience=ehr.token_url)
    assert claims["iss"] == claims["sub"] == CLIENT_ID and claims["exp"] - claims["iat"] == 300
    assert jwt.get_unverified_header(client.assertion(ehr.token_url))["kid"] == "puente-1"

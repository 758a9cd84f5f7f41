"""The patient directory (#/patients) and the CSV import (#/import) in Chromium: an agent finds a
patient by a name typed without its accents and by a phone typed as people write it, by keyboard,
and opens their record; an admin uploads a CSV, reads the dry run's row errors, imports the rest and
finds the new patients. English at 1360 px, Spanish at 390 px, with WCAG checks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import check_accessibility, open_page, sign_in
from tests.support.clients import Staff

pytestmark = pytest.mark.browser

PATIENTS_CSV = (
    "Nombre;Apellidos;Fecha de nacimiento;Teléfono;Correo;Expediente\n"
    "Lucía;Núñez Peña;07/03/1984;(650) 555-0198;lucia@example.org;DIR-1\n"
)
WITH_ERRORS = (
    "Name,Last name,DOB,Phone,MRN\n"
    "Tomás,Ibáñez,02/14/1990,(650) 555-0601,IMP-1\n"
    "Rosa,Ibáñez,02/30/1990,(650) 555-0602,IMP-2\n"  # no such day
    "Pilar,Ibáñez,03/01/1991,555-99,IMP-3\n"  # no such phone
    "Raúl,Ibáñez,04/01/1992,(650) 555-0604,IMP-1\n"  # the first row's MRN again
)


def _import_by_api(base_url: str, body: str) -> None:
    admin = Staff(base_url, "admin")
    up = admin.post("/api/imports/csv", content=body.encode(), headers={"content-type": "text/csv"}).json()
    r = admin.post(
        f"/api/imports/csv/{up['id']}/start", json={"mapping": up["mapping"], "date_order": up["date_order"]}
    )
    assert r.status_code == 202, r.text
    for _ in range(200):
        if admin.get(f"/api/imports/csv/{up['id']}").json()["status"] == "done":
            break
    else:
        raise AssertionError("the import did not finish")
    admin.close()


def _search(page: Page, q: str) -> None:
    box = page.get_by_test_id("directory-q")
    box.focus()
    box.fill(q)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("directory-results")).to_have_attribute("aria-busy", "false")


def test_an_agent_finds_a_patient_by_name_and_by_phone_and_opens_them(browser, hub_server):
    _import_by_api(hub_server.base_url, PATIENTS_CSV)
    with open_page(browser, hub_server.base_url, "directory-en") as page:
        sign_in(page, "ana")
        nav = page.get_by_test_id("nav-patients")
        nav.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"#/patients$"))
        expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()
        expect(page.get_by_test_id("directory-q")).to_be_focused()
        expect(page.get_by_test_id("directory-result").first).to_be_visible()  # the newest records, unasked

        _search(page, "lucia nunez")
        results = page.get_by_test_id("directory-result")
        expect(results).to_have_count(1)
        expect(results.first).to_contain_text("Lucía Núñez Peña")
        expect(results.first.get_by_test_id("directory-dob")).to_have_text("born ••/••/1984")  # an agent's view
        expect(results.first).to_contain_text("phone •••• 0198")
        expect(results.first).not_to_contain_text("555-0198")
        expect(page.get_by_test_id("directory-status")).to_have_text("1 patient found.")
        check_accessibility(page, "directory, a name found (1360 px)")

        _search(page, "(650) 555-0198")
        expect(results).to_have_count(1)
        expect(results.first).to_contain_text("Lucía Núñez Peña")
        patient_id = results.first.get_attribute("data-patient-id")
        page.keyboard.press("ArrowDown")  # from the box to the first result
        expect(results.first).to_be_focused()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"#/patients/{patient_id}$"))

        page.goto("/#/patients")
        _search(page, "zzyzx qqq")
        expect(page.get_by_test_id("directory-status")).to_have_text("No patient matches.")
        expect(results).to_have_count(0)

    with open_page(browser, hub_server.base_url, "directory-es", locale="es-MX") as page:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, "sofia")
        page.goto("/#/patients")
        expect(page.get_by_role("heading", name="Pacientes", level=1)).to_be_visible()
        _search(page, "NÚÑEZ lucía")
        results = page.get_by_test_id("directory-result")
        expect(results).to_have_count(1)
        expect(results.first.get_by_test_id("directory-dob")).to_contain_text("1984")  # a supervisor: in full
        expect(results.first.get_by_test_id("directory-dob")).not_to_contain_text("••")
        expect(results.first).to_contain_text("+16505550198")
        expect(page.get_by_test_id("directory-status")).to_have_text("1 paciente encontrado.")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width
        check_accessibility(page, "directory in Spanish (390 px)")


def test_an_admin_previews_a_csv_with_errors_then_imports_it(browser, hub_server, tmp_path):
    csv_file = tmp_path / "pacientes.csv"
    csv_file.write_bytes(WITH_ERRORS.encode("cp1252"))  # as Excel on Windows saves it
    with open_page(browser, hub_server.base_url, "import-en") as page:
        sign_in(page, "admin")
        nav = page.get_by_test_id("nav-import")
        nav.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"#/import$"))
        page.get_by_test_id("import-file").set_input_files(str(csv_file))
        page.get_by_test_id("import-upload").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("import-file-summary")).to_have_text("pacientes.csv: 4 rows, read as windows-1252.")
        expect(page.get_by_test_id("import-map-first_name")).to_have_value("Name")
        expect(page.get_by_test_id("import-map-last_name")).to_have_value("Last name")
        expect(page.get_by_test_id("import-map-date_of_birth")).to_have_value("DOB")
        expect(page.get_by_test_id("import-order")).to_have_value("mdy")
        check_accessibility(page, "import, the columns (1360 px)")
        page.get_by_test_id("import-check").focus()
        page.keyboard.press("Enter")

        rows = page.get_by_test_id("import-row")
        expect(rows).to_have_count(4)
        expect(page.locator('[data-testid="import-row"][data-line="3"] [data-code="bad_date"]')).to_contain_text(
            "'02/30/1990' is not a date of birth."
        )
        expect(page.locator('[data-testid="import-row"][data-line="4"] [data-code="bad_phone"]')).to_be_visible()
        expect(
            page.locator('[data-testid="import-row"][data-line="5"] [data-code="duplicate_in_file"]')
        ).to_contain_text("line 2")
        expect(page.locator('[data-testid="import-row"][data-line="2"]')).to_have_attribute("data-action", "create")
        expect(page.get_by_test_id("import-counts").locator('[data-count="error"]')).to_have_text("3")
        expect(page.get_by_test_id("import-summary")).to_contain_text("3 rows have errors")
        check_accessibility(page, "import, the dry run with errors (1360 px)")
        start = page.get_by_test_id("import-start")
        expect(start).to_have_text("Import 1 patient")
        start.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("import-done")).to_have_text("Imported: 1 new, 0 updated, 0 unchanged, 3 left out.")
        page.get_by_test_id("import-to-directory").click()
        _search(page, "tomas ibanez")
        expect(page.get_by_test_id("directory-result")).to_have_count(1)
        _search(page, "rosa ibanez")
        expect(page.get_by_test_id("directory-result")).to_have_count(0)

    spanish = tmp_path / "lista.csv"
    spanish.write_bytes(
        b"\xef\xbb\xbf" + "Nombre;Apellidos;Teléfono\nBeatriz;Olmos;(650) 555-0701\n;;\nx;;12\n".encode()
    )
    with open_page(browser, hub_server.base_url, "import-es", locale="es-MX") as page:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, "admin")
        page.goto("/#/import")
        expect(page.get_by_role("heading", name="Importar pacientes desde un archivo CSV", level=1)).to_be_visible()
        page.get_by_test_id("import-file").set_input_files(str(spanish))
        page.get_by_test_id("import-upload").click()
        expect(page.get_by_test_id("import-map-first_name")).to_have_value("Nombre")
        page.get_by_test_id("import-check").click()
        expect(page.locator('[data-testid="import-row"][data-line="4"] [data-code="bad_phone"]')).to_contain_text(
            "no es un número de teléfono"
        )
        expect(page.get_by_test_id("import-start")).to_have_text("Importar 1 paciente")
        check_accessibility(page, "import in Spanish (390 px)")
        page.get_by_test_id("import-start").click()
        expect(page.get_by_test_id("import-done")).to_contain_text("1 nuevo")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width


def test_others_are_told_the_import_is_not_theirs(browser, hub_server):
    with open_page(browser, hub_server.base_url, "import-agent") as page:
        sign_in(page, "sofia")
        expect(page.get_by_test_id("nav-import")).to_have_count(0)
        page.goto("/#/import")
        expect(page.get_by_test_id("not-allowed")).to_be_visible()

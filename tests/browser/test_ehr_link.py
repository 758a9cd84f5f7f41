"""The EHR link screen (#/ehr): an administrator starts an import from the local FHIR server by
keyboard and watches its progress, in English at 1360 px and in Spanish at 390 px, with WCAG checks;
a failed import says why and is resumed from the screen; other roles are told it is not theirs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import check_accessibility, open_page, sign_in
from tests.patients.test_fhir_import import CLIENT_ID, KEYS, fhir_settings
from tests.support.fake_fhir import FakeFhir, Fault
from tests.support.server import HubServer, hub_settings
from tests.support.synthea import population

pytestmark = pytest.mark.browser


@pytest.fixture
def ehr() -> Iterator[FakeFhir]:
    with FakeFhir(CLIENT_ID, public_key=KEYS["RS384"][1]) as fake:
        pop = population(60, seed=21)
        fake.load(pop.patients, pop.appointments)
        yield fake


@pytest.fixture
def hub(tmp_path: Path, ehr: FakeFhir) -> Iterator[HubServer]:
    settings = hub_settings(tmp_path)
    srv = HubServer(replace(settings, fhir=fhir_settings(ehr, page_size=10, max_attempts=2))).start()
    yield srv
    srv.stop()


def _by_keyboard(page: Page, testid: str, key: str = "Enter") -> None:
    target = page.get_by_test_id(testid)
    target.focus()
    expect(target).to_be_focused()
    page.keyboard.press(key)


def test_an_admin_imports_from_the_ehr_and_watches_it_in_english_and_spanish(browser, hub, ehr):
    ehr.page_delay_s = 0.4  # slow enough to see it under way
    with open_page(browser, hub.base_url, "ehr-en") as page:
        sign_in(page, "admin")
        _by_keyboard(page, "nav-ehr")
        expect(page).to_have_url(re.compile(r"#/ehr$"))
        expect(page.get_by_role("heading", name="EHR link", level=1)).to_be_visible()
        expect(page.get_by_test_id("ehr-configured")).to_contain_text("SMART Backend Services")
        expect(page.get_by_test_id("ehr-last-sync")).to_have_text("No import has finished yet.")
        expect(page.get_by_test_id("ehr-no-runs")).to_be_visible()
        _by_keyboard(page, "ehr-start")
        expect(page.get_by_test_id("ehr-notice")).to_have_text("Import 1 started.")
        progress = page.get_by_test_id("ehr-progress")
        expect(progress).to_be_visible()
        expect(progress).to_have_attribute("aria-label", re.compile(r"^Patients: \d+ of 60 read$"))
        expect(page.get_by_test_id("ehr-start")).to_be_disabled()  # one import at a time
        check_accessibility(page, "EHR link, an import under way (1360 px)")
        run = page.get_by_test_id("ehr-run").first
        expect(run).to_have_attribute("data-status", "done", timeout=30_000)
        expect(run.get_by_test_id("ehr-run-status")).to_have_text("Finished")
        expect(run.locator('[data-count="patientsCreated"]')).to_have_text("60")
        expect(run.locator('[data-count="invalidContacts"]')).not_to_have_text("0")
        expect(page.get_by_test_id("ehr-last-sync")).to_contain_text("The last import finished")
        expect(page.get_by_test_id("ehr-progress")).to_have_count(0)
        check_accessibility(page, "EHR link, an import finished (1360 px)")

    with open_page(browser, hub.base_url, "ehr-es", locale="es-MX") as page:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, "admin")
        page.goto("/#/ehr")
        expect(page.get_by_role("heading", name="Historia clínica electrónica", level=1)).to_be_visible()
        expect(page.get_by_test_id("ehr-run").first.get_by_test_id("ehr-run-status")).to_have_text("Terminada")
        _by_keyboard(page, "ehr-full", "Space")
        expect(page.get_by_test_id("ehr-full")).to_be_checked()
        _by_keyboard(page, "ehr-start")
        expect(page.get_by_test_id("ehr-notice")).to_have_text("La importación 2 empezó.")
        expect(page.get_by_test_id("ehr-progress")).to_have_attribute(
            "aria-label", re.compile(r"^(Pacientes|Citas): \d+ de \d+ leídos$")
        )
        check_accessibility(page, "EHR link in Spanish, under way (390 px)")
        run = page.get_by_test_id("ehr-run").first
        expect(run).to_have_attribute("data-status", "done", timeout=30_000)
        expect(run.get_by_test_id("ehr-run-status")).to_have_text("Terminada · todo")
        expect(run.locator('[data-count="patientsUnchanged"]')).to_have_text("60")
        expect(run.locator('[data-count="patientsCreated"]')).to_have_text("0")
        check_accessibility(page, "EHR link in Spanish, finished (390 px)")


def test_a_failed_import_says_why_and_is_resumed_from_the_screen(browser, hub, ehr):
    ehr.fail_next(Fault(200), Fault(503), Fault(503))  # the second page fails twice: max_attempts=2
    with open_page(browser, hub.base_url, "ehr-failed") as page:
        sign_in(page, "admin")
        page.goto("/#/ehr")
        _by_keyboard(page, "ehr-start")
        run = page.get_by_test_id("ehr-run").first
        expect(run).to_have_attribute("data-status", "failed", timeout=30_000)
        expect(run.get_by_test_id("ehr-run-status")).to_have_text("Stopped")
        expect(run.get_by_test_id("ehr-run-error")).to_contain_text("503")
        expect(run.locator('[data-count="patientsCreated"]')).to_have_text("10")  # the first page stays
        check_accessibility(page, "EHR link, a failed import")
        _by_keyboard(page, "ehr-resume")
        expect(page.get_by_test_id("ehr-notice")).to_have_text("Import 1 goes on from where it stopped.")
        expect(run).to_have_attribute("data-status", "done", timeout=30_000)
        expect(run.locator('[data-count="patientsCreated"]')).to_have_text("60")
    with open_page(browser, hub.base_url, "ehr-agent") as page:
        sign_in(page, "sofia")
        expect(page.get_by_test_id("nav-ehr")).to_have_count(0)
        page.goto("/#/ehr")
        expect(page.get_by_test_id("not-allowed")).to_be_visible()


def test_without_a_link_the_screen_says_which_setting_is_missing(browser, hub_server):
    with open_page(browser, hub_server.base_url, "ehr-unset", locale="es-MX") as page:
        sign_in(page, "admin")
        page.goto("/#/ehr")
        expect(page.get_by_test_id("ehr-not-configured")).to_contain_text("No está configurada")
        expect(page.get_by_test_id("ehr-not-configured")).to_contain_text("PUENTE_FHIR_BASE_URL")
        expect(page.get_by_test_id("ehr-start")).to_be_disabled()
        expect(page.get_by_test_id("ehr-no-runs")).to_have_text("Todavía no hay importaciones.")
        check_accessibility(page, "EHR link not set up, in Spanish")

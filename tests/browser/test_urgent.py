"""An emergency in web chat, told whole in real browsers, in Spanish and in English: the patient
hears the safety message alone; with nobody of the emergency team available a supervisor and an
available agent of another team are alerted; one takes it and the alert leaves the others; and with
nobody signed in at all, the alert waits for the first person who signs in. The inbox passes axe's
WCAG checks with the alert up, at 1360 and 390 px wide, and the alert works from the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from hub.settings import RoutingSettings
from tests.browser.pages import check_accessibility, event, open_page, sign_in
from tests.browser.test_webchat import ClinicSite
from tests.support.clients import Staff
from tests.support.server import HubServer, hub_settings

pytestmark = pytest.mark.browser

REALERT_S = 2


@pytest.fixture
def urgent_hub(tmp_path: Path) -> Iterator[HubServer]:
    settings = replace(hub_settings(tmp_path, bot=True), routing=RoutingSettings(realert_s=REALERT_S))
    srv = HubServer(settings).start()
    yield srv
    srv.stop()


@pytest.fixture
def site(urgent_hub: HubServer) -> Iterator[ClinicSite]:
    s = ClinicSite(urgent_hub.base_url)
    yield s
    s.close()


def _chat(page: Page, site: ClinicSite, name: str, text: str) -> None:
    page.goto(site.url)
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-name").fill(name)
    page.get_by_test_id("chat-start").click()
    page.get_by_test_id("chat-text").fill(text)
    page.get_by_test_id("chat-send").click()


def _urgent_alert(page: Page, name: str):
    return page.locator('[data-testid="alert"][data-urgent="true"]').filter(has_text=name)


def test_spanish_emergency_with_clinical_away_reaches_a_supervisor_and_an_agent_of_another_team(
    browser: Browser, urgent_hub: HubServer, site: ClinicSite
) -> None:
    with (
        open_page(browser, urgent_hub.base_url, "urgent-es-sofia", locale="es-MX") as sofia,
        open_page(browser, urgent_hub.base_url, "urgent-es-ana", locale="es-MX") as ana,
        open_page(browser, urgent_hub.base_url, "urgent-es-patient", locale="es-MX") as patient,
    ):
        # Sofía, Clinical's only member, is signed in but Away; Ana (Scheduling) is available.
        sign_in(sofia, "sofia")
        expect(sofia.get_by_test_id("availability")).to_have_text("Ausente")
        ana.set_viewport_size({"width": 390, "height": 844})
        sign_in(ana, "ana")
        ana.get_by_test_id("availability").click()
        expect(ana.get_by_test_id("availability")).to_have_attribute("aria-pressed", "true")

        _chat(patient, site, "Lucía Ramos", "tengo un dolor muy fuerte en el pecho")
        bot = patient.locator('[data-testid="chat-message"][data-author="bot"]')
        expect(bot).to_have_count(1)
        expect(bot).to_contain_text("llame al 911")
        expect(bot).to_contain_text("No espere una respuesta aquí")
        patient.wait_for_timeout(1500)
        expect(bot).to_have_count(1)  # the safety message stands alone: no "en un minuto"
        expect(patient.get_by_test_id("chat-panel")).not_to_contain_text("minuto")

        # Both are alerted, in Spanish, with how long the patient has waited.
        for page in (sofia, ana):
            alert = _urgent_alert(page, "Lucía Ramos")
            expect(alert).to_contain_text("Urgente: Lucía Ramos podría tener una emergencia (Clinical).")
            expect(alert.get_by_test_id("alert-detail")).to_contain_text("Nadie la ha atendido todavía.")
            expect(alert.get_by_test_id("alert-open")).to_have_text("Abrir")  # not "Abierta", the status
        check_accessibility(sofia, "supervisor's inbox with an urgent alert (es, 1360 px)")
        check_accessibility(ana, "agent's inbox with an urgent alert (es, 390 px)")
        # The row is there for Ana too, marked urgent, though Clinical is not her team.
        row = ana.get_by_test_id("conversation-item").filter(has_text="Lucía Ramos")
        expect(row.get_by_test_id("row-urgent")).to_have_text("Urgente")

        # Ana takes it from the keyboard; the alert leaves Sofía's inbox at once.
        take = _urgent_alert(ana, "Lucía Ramos").get_by_test_id("alert-take")
        expect(take).to_have_text("Me encargo yo")
        take.focus()
        ana.keyboard.press("Enter")
        expect(ana.get_by_test_id("patient-name")).to_have_text("Lucía Ramos")
        expect(_urgent_alert(ana, "Lucía Ramos")).to_have_count(0)
        expect(_urgent_alert(sofia, "Lucía Ramos")).to_have_count(0)
        expect(event(ana, "tengo un dolor muy fuerte en el pecho")).to_have_count(1)
        expect(
            ana.get_by_test_id("timeline-event").filter(has_text="Ana Agent atendió la conversación urgente")
        ).to_have_count(1)
        expect(
            ana.get_by_test_id("timeline-event").filter(has_text="Aviso urgente a supervisores y a todos los agentes")
        ).to_have_count(1)


def test_english_emergency_with_nobody_signed_in_waits_for_the_first_person_who_signs_in(
    browser: Browser, urgent_hub: HubServer, site: ClinicSite
) -> None:
    with (
        open_page(browser, urgent_hub.base_url, "urgent-en-patient") as patient,
        open_page(browser, urgent_hub.base_url, "urgent-en-ben") as ben,
    ):
        _chat(patient, site, "Tom Becker", "i took too many pills and feel really weird")
        bot = patient.locator('[data-testid="chat-message"][data-author="bot"]')
        expect(bot).to_have_count(1)
        expect(bot).to_contain_text("call 911")
        patient.wait_for_timeout(2 * REALERT_S * 1000)  # nobody to alert, nothing more said
        expect(bot).to_have_count(1)
        expect(patient.get_by_test_id("chat-panel")).not_to_contain_text("minute")

        # Ben (Billing, Away) is the first to sign in: the alert is there for him.
        sign_in(ben, "ben")
        alert = _urgent_alert(ben, "Tom Becker")
        expect(alert).to_contain_text("Urgent: Tom Becker may have an emergency (Clinical).")
        check_accessibility(ben, "agent's inbox with an urgent alert (en, 1360 px)")
        alert.get_by_test_id("alert-open").click()
        expect(ben.get_by_test_id("patient-name")).to_have_text("Tom Becker")
        nobody = ben.get_by_test_id("timeline-event").filter(has_text="nobody is signed in to alert")
        expect(nobody).to_have_count(1)
        expect(
            ben.get_by_test_id("timeline-event").filter(has_text="Urgent alert to everyone signed in (1).")
        ).to_have_count(1)
        expect(alert).to_have_count(1)  # opening is not taking: it stays until someone does
        alert.get_by_test_id("alert-take").click()
        expect(_urgent_alert(ben, "Tom Becker")).to_have_count(0)
        sofia = Staff(urgent_hub.base_url, "sofia")
        conv = next(
            c for c in sofia.get("/api/conversations").json()["conversations"] if c["patient_name"] == "Tom Becker"
        )
        assert conv["assignee_name"] == "Ben Agent" and conv["urgent_since"] is None
        sofia.close()

"""Templates in real browsers: an admin edits one in English and Spanish side by side with a live
preview and publishes it; an agent inserts it in the composer for a Spanish-speaking patient,
filled in with her data, and sends it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import event, open_page, row, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


def _column(page: Page, locale: str):
    return page.locator(f'[data-testid="template-locale"][data-locale="{locale}"]')


def _maria(hub_server: HubServer) -> dict:
    sofia = Staff(hub_server.base_url, "sofia")
    try:
        return next(
            c for c in sofia.get("/api/conversations").json()["conversations"] if c["patient_name"] == "María González"
        )
    finally:
        sofia.close()


def test_admin_edits_both_languages_and_an_agent_sends_it_in_spanish(
    browser: Browser, hub_server: HubServer, page: Page
) -> None:
    sign_in(page, "admin")
    page.get_by_test_id("nav-templates").click()
    page.locator('[data-testid="template-item"][data-key="greeting"]').click()
    expect(page).to_have_url(re.compile(r"#/templates/greeting$"))
    expect(page.get_by_test_id("template-state")).to_contain_text("Published: version 1")
    page.get_by_test_id("template-channel-sms").click()
    en, es = _column(page, "en"), _column(page, "es")
    expect(en.get_by_test_id("template-preview-text")).to_contain_text("Hi María, this is Ana from")

    en.get_by_test_id("template-body").fill(
        "Hi {patient_first_name}! {agent_first_name} at {clinic_name} here. What can we do for you?"
    )
    expect(en.get_by_test_id("template-preview-text")).to_have_text(
        "Hi María! Ana at Sunrise Family Clinic here. What can we do for you?"
    )
    expect(en.get_by_test_id("template-sms-info")).to_contain_text("UCS-2")  # the í in María

    # A Spanish text that drops a placeholder, then one with a typo: refused at the spot.
    es.get_by_test_id("template-body").fill("¡Hola! Le atiende {agent_first_name}. ¿En qué le podemos servir?")
    expect(es.locator('[data-code="placeholders_differ"]')).to_contain_text("{clinic_name}, {patient_first_name}")
    expect(page.get_by_test_id("template-publish")).to_be_disabled()
    es.get_by_test_id("template-body").fill("¡Hola, {nombre}! Le atiende {agent_first_name}.")
    expect(es.locator('[data-code="unknown_placeholder"]')).to_contain_text("{nombre}")
    expect(es.get_by_test_id("template-preview")).to_have_text(re.compile("vista previa|preview", re.I))

    # Insert a placeholder from the palette where the typo was.
    body = es.get_by_test_id("template-body")
    body.fill("¡Hola, ! {agent_first_name}, de {clinic_name}, le atiende. ¿En qué le podemos servir?")
    body.evaluate("el => { el.focus(); el.setSelectionRange(7, 7); }")
    page.get_by_test_id("template-placeholders").click()
    page.locator('[data-testid="placeholder"][data-name="patient_first_name"]').click()
    expect(body).to_have_value(
        "¡Hola, {patient_first_name}! {agent_first_name}, de {clinic_name}, le atiende. ¿En qué le podemos servir?"
    )
    expect(es.get_by_test_id("template-preview-text")).to_have_text(
        "¡Hola, María! Ana, de Sunrise Family Clinic, le atiende. ¿En qué le podemos servir?"
    )
    expect(page.locator('[data-testid="template-problems-body"] li')).to_have_count(0)

    # Each language gets its readability score.
    page.get_by_test_id("template-channel-chat").click()
    expect(_column(page, "es").get_by_test_id("template-readability")).to_contain_text("Readability:")
    page.get_by_test_id("template-channel-sms").click()
    expect(_column(page, "es").get_by_test_id("template-body")).to_have_value(re.compile("patient_first_name"))

    page.get_by_test_id("template-note").fill("Warmer greeting")
    page.get_by_test_id("template-publish").click()
    expect(page.get_by_test_id("template-notice")).to_have_text(re.compile("Version 2 is published"))
    history = page.get_by_test_id("template-version")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("published by Alex Admin")
    expect(history.first).to_contain_text("Warmer greeting")

    # An agent, on another browser, inserts it for María (Spanish, by SMS): filled in with her data.
    maria = _maria(hub_server)
    with open_page(browser, hub_server.base_url, "templates-agent") as agent:
        sign_in(agent, "ana")
        row(agent, maria["id"]).click()
        expect(agent.get_by_test_id("composer-channel")).to_have_value("sms")
        agent.get_by_test_id("composer-template").click()
        agent.get_by_test_id("template-search").fill("greet")
        agent.locator('[data-testid="template-option"][data-key="greeting"]').click()
        text = "¡Hola, María! Ana, de Puente Demo Clinic, le atiende. ¿En qué le podemos servir?"
        expect(agent.get_by_test_id("composer-text")).to_have_value(text)
        expect(agent.get_by_test_id("composer-notice")).to_be_hidden()
        agent.get_by_test_id("composer-submit").click()
        sent = event(agent, text)
        expect(sent).to_have_count(1)
        expect(sent).to_have_attribute("data-kind", "message_out")
        expect(sent.get_by_test_id("event-channel")).to_have_text("SMS")

        # A template with values the hub does not know: marked, and never sent as they are.
        agent.get_by_test_id("composer-template").click()
        agent.locator('[data-testid="template-option"][data-key="appointment_reminder"]').click()
        expect(agent.get_by_test_id("composer-text")).to_have_value(re.compile(r"\[fecha y hora de la cita\]"))
        expect(agent.get_by_test_id("composer-notice")).to_contain_text("appointment date and time")
        agent.get_by_test_id("composer-submit").click()
        expect(agent.get_by_test_id("composer-notice")).to_contain_text("Replace [fecha y hora de la cita]")
        value = agent.get_by_test_id("composer-text").input_value()
        agent.get_by_test_id("composer-text").fill(
            value.replace("[fecha y hora de la cita]", "jueves 10 a las 9:30 a.m.")
        )
        agent.get_by_test_id("composer-submit").click()
        expect(event(agent, value.replace("[fecha y hora de la cita]", "jueves 10 a las 9:30 a.m."))).to_have_count(1)

        # Jargon in the agent's own draft: the plain Spanish words are offered, and used on a click.
        agent.get_by_test_id("composer-text").fill("Su hipotension puede causar mareos.")
        suggestion = agent.get_by_test_id("composer-suggestion")
        expect(suggestion).to_contain_text("“hipotension” → “presión baja”")
        suggestion.get_by_test_id("composer-suggestion-use").click()
        expect(agent.get_by_test_id("composer-text")).to_have_value("Su presión baja puede causar mareos.")
        expect(suggestion).to_have_count(0)


def test_agents_do_not_see_the_editor_and_supervisors_cannot_publish(hub_server: HubServer, page: Page) -> None:
    sign_in(page, "ana")
    expect(page.get_by_test_id("nav-templates")).to_have_count(0)
    page.goto("/#/templates/greeting")
    expect(page.get_by_test_id("template-editor")).to_have_count(0)
    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("login-notice")).to_have_text("You have signed out.")  # the session is gone
    sign_in(page, "sofia")
    page.goto("/#/templates/greeting")
    expect(page.get_by_test_id("template-save")).to_be_visible()
    expect(page.get_by_test_id("template-publish")).to_have_count(0)
    page.get_by_test_id("template-channel-chat").click()
    _column(page, "en").get_by_test_id("template-body").fill("Hi {patient_first_name}, {agent_first_name} here.")
    _column(page, "es").get_by_test_id("template-body").fill("Hola, {patient_first_name}. Soy {agent_first_name}.")
    page.get_by_test_id("template-save").click()
    expect(page.get_by_test_id("template-notice")).to_have_text("Draft version 2 saved.")
    expect(page.get_by_test_id("template-state")).to_contain_text("Draft: version 2, last edited by Sofía Supervisor")
    page.locator('[data-testid="template-version"][data-number="1"]').get_by_test_id("template-restore").click()
    expect(page.get_by_test_id("template-notice")).to_contain_text("Version 1 was copied into draft 2")
    expect(_column(page, "en").get_by_test_id("template-body")).to_have_value(re.compile("How can I help you today"))


def test_the_template_list_names_each_purpose_in_the_readers_language(browser: Browser, hub_server: HubServer) -> None:
    with open_page(browser, hub_server.base_url, "tpl-es", locale="es-MX") as page:
        sign_in(page, "admin")
        page.goto("/#/templates")
        item = page.locator('[data-testid="template-item"][data-key="appointment_reminder"]')
        expect(item).to_contain_text("Recordatorio de una cita próxima")
        expect(item).not_to_contain_text("Reminder of an upcoming appointment")

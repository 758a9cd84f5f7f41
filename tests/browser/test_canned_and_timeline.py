"""Canned replies, a timeline that reads well and the assistant's details, in real browsers:
"/shortcut" in the composer (a picker while typing, arrows and Enter, Escape) inserts a reply
filled in with the patient's name; the template picker never offers the assistant's own messages
and names templates in the inbox's language; delivery and read states show on the message, not as
lines; a channel that is not set up is said at the composer before sending; a Spanish message from
an English browser is answered in Spanish and "menú" brings the menu. English and Spanish, 1360
and 390 px, keyboard only where it matters, axe on each screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, Page, expect

from hub.settings import SmsSettings
from tests.browser.pages import check_accessibility, event, open_page, sign_in
from tests.browser.test_webchat import ClinicSite, _start_chat
from tests.support.clients import Staff
from tests.support.server import HubServer, hub_settings
from tests.support.webchat import VisitorClient

pytestmark = pytest.mark.browser

HELLO = {"en": "Hi {patient_first_name}, thanks for writing.", "es": "Hola {patient_first_name}, gracias por escribir."}
HOURS = {"en": "We open at 8 AM.", "es": "Abrimos a las 8 de la mañana."}


def _maria(srv: HubServer) -> dict:
    with_sofia = Staff(srv.base_url, "sofia")
    try:
        convs = with_sofia.get("/api/conversations").json()["conversations"]
        return next(c for c in convs if c["patient_name"] == "María González")  # Spanish, by SMS
    finally:
        with_sofia.close()


def _keep_canned(srv: HubServer) -> None:
    """Ana keeps /hola; Sofia (a supervisor) shares /hours."""
    ana, sofia = Staff(srv.base_url, "ana"), Staff(srv.base_url, "sofia")
    assert ana.post("/api/canned", json={"shortcut": "hola", "title": "Greeting", "texts": HELLO}).status_code == 201
    r = sofia.post("/api/canned", json={"shortcut": "hours", "title": "Opening hours", "texts": HOURS, "shared": True})
    assert r.status_code == 201
    ana.close()
    sofia.close()


def _options(page: Page):
    return page.get_by_test_id("canned-option")


def test_slash_inserts_a_canned_reply_and_the_template_picker_hides_the_assistants_own(
    hub_server: HubServer, page: Page
) -> None:
    _keep_canned(hub_server)
    maria = _maria(hub_server)
    sign_in(page, "ana")
    page.goto(f"/#/c/{maria['id']}")
    expect(page.get_by_test_id("patient-name")).to_have_text("María González")
    text = page.get_by_test_id("composer-text")
    text.focus()
    text.press_sequentially("/ho", delay=20)
    picker = page.get_by_test_id("canned-picker")
    expect(picker).to_be_visible()
    expect(_options(page)).to_have_count(2)
    expect(_options(page).nth(0)).to_have_attribute("data-shortcut", "hola")  # her own first, then the shared
    expect(_options(page).nth(0)).to_have_attribute("aria-selected", "true")
    expect(text).to_have_attribute("aria-activedescendant", re.compile(r"-0$"))
    check_accessibility(page, "composer with the canned-reply picker")
    page.keyboard.press("ArrowDown")
    expect(_options(page).nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")
    expect(_options(page).nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    # Filled in for María, in her language (Spanish), in place of "/ho".
    expect(text).to_have_value("Hola María, gracias por escribir.")
    expect(picker).to_be_hidden()
    # Escape closes the picker and leaves what was typed.
    text.press_sequentially(" /", delay=20)
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(text).to_have_value("Hola María, gracias por escribir. /")
    expect(page.get_by_test_id("detail")).to_be_visible()  # Escape closed the picker, nothing else
    # Nothing matches: said.
    text.press_sequentially("zz", delay=20)
    expect(page.get_by_test_id("canned-none")).to_have_text("No canned reply matches /zz.")
    page.keyboard.press("Escape")

    # The template picker: published templates by what they are for, never the assistant's own.
    page.get_by_test_id("composer-template").click()
    options = page.get_by_test_id("template-option")
    expect(options.first).to_be_visible()
    keys = options.evaluate_all("els => els.map(e => e.dataset.key)")
    assert "greeting" in keys and not [k for k in keys if k.startswith("bot_")], keys
    assert not {"queue_wait", "queue_position", "nobody_available", "after_hours"} & set(keys), keys
    expect(page.locator('[data-testid="template-option"][data-key="greeting"]')).to_contain_text(
        "First answer from an agent, introducing themselves"
    )
    check_accessibility(page, "template picker")
    page.get_by_test_id("composer-template").click()

    # A canned reply of her own, saved from the composer, then inserted: English only, so said.
    text.fill("See you soon, {patient_first_name}!")
    page.get_by_test_id("composer-save-canned").click()
    page.get_by_test_id("canned-shortcut").fill("soon")
    page.get_by_test_id("canned-title").fill("See you soon")
    page.get_by_test_id("canned-language").select_option("en")
    expect(page.get_by_test_id("canned-shared")).to_be_hidden()  # an agent keeps her own only
    check_accessibility(page, "saving a canned reply")
    page.get_by_test_id("canned-save-submit").click()
    expect(page.get_by_test_id("composer-notice")).to_have_text("Saved: type /soon to insert it.")
    text.fill("")
    text.press_sequentially("/soon", delay=20)
    expect(_options(page)).to_have_count(1)
    page.keyboard.press("Enter")
    expect(text).to_have_value("See you soon, María!")
    expect(page.get_by_test_id("composer-notice")).to_contain_text("has no Spanish version")
    page.get_by_test_id("composer-submit").click()
    expect(event(page, "See you soon, María!")).to_have_count(1)


def test_delivery_and_read_show_on_the_message_not_as_lines(hub_server: HubServer, page: Page) -> None:
    visitor = VisitorClient(hub_server.base_url, hub_server.ws_url)
    visitor.start("Rosa Méndez", language="en")
    visitor.open()
    visitor.until(lambda f: f["type"] == "ready")
    assert visitor.send("Hi! Do you take walk-ins?").status_code == 201
    sign_in(page, "ana")
    page.get_by_test_id("conversation-item").filter(has_text="Rosa Méndez").click()
    expect(event(page, "Hi! Do you take walk-ins?")).to_have_count(1)
    page.get_by_test_id("composer-text").fill("Yes, 9 am to 5 pm.")
    page.get_by_test_id("composer-submit").click()
    reply = event(page, "Yes, 9 am to 5 pm.")
    expect(reply.get_by_test_id("message-status")).to_have_text("Sent")
    frame = visitor.until(lambda f: f["type"] == "message" and f["text"] == "Yes, 9 am to 5 pm.")
    visitor.say({"type": "receipt", "status": "delivered", "upto": frame["seq"]})
    expect(reply.get_by_test_id("message-status")).to_have_attribute("data-status", "delivered")
    expect(reply.get_by_test_id("message-status")).to_have_text("Delivered")
    visitor.say({"type": "receipt", "status": "read", "upto": frame["seq"]})
    expect(reply.get_by_test_id("message-status")).to_have_text("Read")  # live, on the message itself
    reports = page.locator('[data-testid="timeline-event"][data-kind="delivery_status"]')
    expect(reports).to_have_count(2)  # the reports are still events of the timeline...
    for i in range(2):
        expect(reports.nth(i)).to_be_hidden()  # ...folded into the message
    expect(page.get_by_text("Delivery update")).to_have_count(0)
    page.reload()  # loaded from the server: the same
    reply = event(page, "Yes, 9 am to 5 pm.")
    expect(reply.get_by_test_id("message-status")).to_have_text("Read")
    expect(page.get_by_text("Delivery update")).to_have_count(0)
    check_accessibility(page, "timeline with delivery states")
    visitor.close()


@pytest.fixture
def no_sms_hub(tmp_path) -> Iterator[HubServer]:
    """A hub with no SMS provider set up (no Twilio account, token or number)."""
    settings = hub_settings(tmp_path)
    srv = HubServer(replace(settings, sms=SmsSettings())).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("locale", "width", "warning", "option"),
    [
        ("en-US", 1360, "Text messages are not set up on this hub", "SMS (not set up)"),
        ("es-ES", 390, "Los mensajes de texto no están configurados en este hub", "SMS (no configurado)"),
    ],
)
def test_a_channel_that_is_not_set_up_is_said_at_the_composer(
    browser: Browser, no_sms_hub: HubServer, locale: str, width: int, warning: str, option: str
) -> None:
    maria = _maria(no_sms_hub)
    with open_page(browser, no_sms_hub.base_url, f"no-sms-{locale}", locale=locale) as page:
        page.set_viewport_size({"width": width, "height": 844})
        sign_in(page, "ana")
        page.goto(f"/#/c/{maria['id']}")
        expect(page.get_by_test_id("patient-name")).to_have_text("María González")
        channel = page.get_by_test_id("composer-channel")
        expect(channel).to_have_value("sms")  # she writes by SMS
        expect(channel.locator('option[value="sms"]')).to_have_text(option)
        said = page.get_by_test_id("composer-channel-warning")
        expect(said).to_be_visible()
        expect(said).to_contain_text(warning)
        expect(channel).to_have_attribute("aria-describedby", re.compile("channel-warning"))
        check_accessibility(page, f"composer with a channel not set up ({locale}, {width} px)")
        before = page.get_by_test_id("timeline-event").count()
        page.get_by_test_id("composer-text").fill("Hola María")
        page.get_by_test_id("composer-text").press("Control+Enter")  # the keyboard way to send
        expect(said).to_be_visible()
        expect(channel).to_be_focused()
        expect(page.get_by_test_id("timeline-event")).to_have_count(before)  # nothing left "Queued"
        channel.select_option("api")  # a channel the hub can send on: the warning goes
        expect(said).to_be_hidden()
        if width == 390:
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_spanish_inbox_at_390_px_canned_replies_and_template_titles(browser: Browser, hub_server: HubServer) -> None:
    _keep_canned(hub_server)
    maria = _maria(hub_server)
    with open_page(browser, hub_server.base_url, "canned-es", locale="es-ES") as page:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, "ana")
        page.goto(f"/#/c/{maria['id']}")
        text = page.get_by_test_id("composer-text")
        text.focus()
        text.press_sequentially("/hou", delay=20)
        expect(_options(page)).to_have_count(1)
        expect(_options(page).first).to_contain_text("Compartida")
        check_accessibility(page, "canned-reply picker in Spanish (390 px)")
        page.keyboard.press("Tab")  # Tab inserts too
        expect(text).to_have_value("Abrimos a las 8 de la mañana.")
        page.get_by_test_id("composer-template").click()
        expect(page.locator('[data-testid="template-option"][data-key="greeting"]')).to_contain_text(
            "Primera respuesta de un agente, que se presenta"
        )
        expect(page.locator('[data-testid="template-option"][data-key^="bot_"]')).to_have_count(0)
        check_accessibility(page, "template picker in Spanish (390 px)")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


@pytest.fixture
def bot_site(bot_hub: HubServer) -> Iterator[ClinicSite]:
    s = ClinicSite(bot_hub.base_url)
    yield s
    s.close()


def _bot_said(page: Page):
    return page.locator('[data-testid="chat-message"][data-author="bot"]')


def test_spanish_words_from_an_english_browser_are_answered_in_spanish_and_menu_shows_the_menu(
    browser: Browser, bot_hub: HubServer, bot_site: ClinicSite
) -> None:
    with open_page(browser, bot_hub.base_url, "bot-language", locale="en-US") as patient:
        _start_chat(patient, bot_site, "Lucía Núñez")
        patient.get_by_test_id("chat-text").fill("hola, donde estan ubicados?")
        patient.get_by_test_id("chat-text").press("Enter")
        expect(_bot_said(patient)).to_have_count(2)  # the address, then "anything else?" with the menu
        expect(_bot_said(patient).nth(1)).to_contain_text("¿Le puedo ayudar con algo más?")
        expect(_bot_said(patient).nth(1)).to_contain_text("1 Hacer una cita")
        patient.get_by_test_id("chat-text").fill("menú")
        patient.get_by_test_id("chat-text").press("Enter")
        expect(_bot_said(patient)).to_have_count(3)
        menu = _bot_said(patient).nth(2)
        expect(menu).to_contain_text("Le puedo ayudar con:")
        expect(menu).to_contain_text("8 Hablar con una persona")

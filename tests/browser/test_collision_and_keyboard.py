"""Collision and the keyboard in Chromium: two agents in one conversation see each other viewing and
typing; a reply sent after a colleague's newer one asks first ("Send anyway?"), sends on yes and
keeps the draft on no; the shortcuts (j/k, Enter, r, Esc, g i) and their help on "?" (a modal
dialog: focus inside, Esc closes, focus back); in English at 1360 px and in Spanish at 390 px,
with axe's checks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, event, open_page, row, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "ana_viewing": "Ana Agent is viewing",
        "sofia_viewing": "Sofía Supervisor is viewing",
        "sofia_typing": "Sofía Supervisor is typing…",
        "replied": "Sofía Supervisor replied after you started. Send anyway?",
        "dialog": "Keyboard shortcuts",
    },
    "es": {
        "ana_viewing": "Ana Agent está viendo la conversación",
        "sofia_viewing": "Sofía Supervisor está viendo la conversación",
        "sofia_typing": "Sofía Supervisor está escribiendo…",
        "replied": "Sofía Supervisor respondió después de que usted empezara. ¿Enviar de todos modos?",
        "dialog": "Atajos de teclado",
    },
}


def _maria(hub: HubServer) -> int:
    sofia = Staff(hub.base_url, "sofia")
    try:
        convs = sofia.get("/api/conversations").json()["conversations"]
        return next(c["id"] for c in convs if c["patient_name"] == "María González")
    finally:
        sofia.close()


def _no_overflow(page: Page) -> None:
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")


def _collide(ana: Page, sofia: Page, maria: int, lang: str, mobile: bool) -> None:
    """Both open María's conversation: each sees the other; Sofía types, then replies while Ana writes."""
    w = WORDS[lang]
    ana.goto(f"/#/c/{maria}")
    sofia.goto(f"/#/c/{maria}")
    expect(ana.get_by_test_id("viewing-indicator")).to_have_text(w["sofia_viewing"])
    expect(sofia.get_by_test_id("viewing-indicator")).to_have_text("Ana Agent is viewing")  # Sofía reads English
    sofia.get_by_test_id("composer-text").fill("Un momento, María")
    expect(ana.get_by_test_id("typing-indicator")).to_have_text(w["sofia_typing"])

    # Ana starts her answer; Sofía sends hers first.
    ana.get_by_test_id("composer-text").fill("Hola María, le confirmo el lunes")
    sofia.get_by_test_id("composer-text").fill("Ya le escribo yo, María")
    sofia.get_by_test_id("composer-submit").click()
    expect(event(ana, "Ya le escribo yo, María")).to_be_visible()
    ana.get_by_test_id("composer-text").press("Control+Enter")
    box = ana.get_by_test_id("collision")
    expect(box).to_be_visible()
    expect(box.get_by_role("alert")).to_have_text(w["replied"])
    expect(ana.get_by_test_id("collision-reply")).to_contain_text("Ya le escribo yo, María")
    expect(ana.get_by_test_id("collision-send")).to_be_focused()
    if mobile:
        _no_overflow(ana)
    check_accessibility(ana, f"collision question ({lang})")
    # No: nothing sent, the draft stays.
    ana.keyboard.press("Escape")
    expect(box).to_be_hidden()
    expect(ana.get_by_test_id("composer-text")).to_have_value("Hola María, le confirmo el lunes")
    expect(event(ana, "Hola María, le confirmo el lunes")).to_have_count(0)
    # Again, and yes: it goes, once.
    ana.get_by_test_id("composer-text").press("Control+Enter")
    expect(ana.get_by_test_id("collision-send")).to_be_focused()
    ana.keyboard.press("Enter")
    expect(event(ana, "Hola María, le confirmo el lunes")).to_have_count(1)
    expect(event(sofia, "Hola María, le confirmo el lunes")).to_have_count(1)
    expect(ana.get_by_test_id("composer-text")).to_have_value("")
    # A draft begun after Sofía's reply goes without a question.
    ana.get_by_test_id("composer-text").fill("¿Le queda bien a las 9?")
    ana.get_by_test_id("composer-text").press("Control+Enter")
    expect(event(ana, "¿Le queda bien a las 9?")).to_have_count(1)
    expect(box).to_be_hidden()

    # Sofía leaves the conversation: Ana no longer reads that she is viewing it.
    sofia.get_by_test_id("timeline-scroll").focus()
    sofia.keyboard.press("Escape")
    expect(sofia).to_have_url(re.compile(r"#/$"))
    expect(ana.get_by_test_id("viewing-indicator")).to_be_hidden()


def _keyboard(page: Page, maria: int, lang: str) -> None:
    w = WORDS[lang]
    page.goto("/#/")
    rows = page.get_by_test_id("conversation-item")
    expect(rows.first).to_be_visible()
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(rows.nth(0)).to_be_focused()
    row(page, maria).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"#/c/{maria}$"))
    page.get_by_test_id("timeline-scroll").focus()
    page.keyboard.press("r")
    text = page.get_by_test_id("composer-text")
    expect(text).to_be_focused()
    page.keyboard.type("jk?")  # typed, not shortcuts
    expect(text).to_have_value("jk?")
    expect(page.get_by_test_id("shortcuts-dialog")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"#/c/{maria}$"))
    page.get_by_test_id("transfer").click()  # Esc closes an open panel first, from its field too
    expect(page.get_by_test_id("transfer-team")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("transfer-form")).to_be_hidden()
    expect(page.get_by_test_id("transfer")).to_be_focused()
    expect(page).to_have_url(re.compile(rf"#/c/{maria}$"))
    text.fill("")
    page.keyboard.press("Escape")  # out of the reply box, still in the conversation
    expect(page.get_by_test_id("timeline-scroll")).to_be_focused()
    expect(page).to_have_url(re.compile(rf"#/c/{maria}$"))
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"#/$"))
    expect(row(page, maria)).to_be_focused()

    # "?": the help, a modal dialog that keeps focus, closes on Esc and gives focus back.
    page.keyboard.press("?")
    dialog = page.get_by_test_id("shortcuts-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(w["dialog"])
    expect(page.get_by_role("dialog", name=w["dialog"])).to_be_visible()
    expect(page.get_by_test_id("shortcuts-close")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("shortcuts-close")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("shortcuts-close")).to_be_focused()
    page.keyboard.press("j")  # nothing moves behind the dialog
    expect(page.get_by_test_id("shortcuts-close")).to_be_focused()
    _no_overflow(page)
    check_accessibility(page, f"shortcuts dialog ({lang})")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(row(page, maria)).to_be_focused()
    # The button closes it too.
    page.keyboard.press("?")
    page.get_by_test_id("shortcuts-close").press("Enter")
    expect(page.get_by_test_id("shortcuts-dialog")).to_have_count(0)
    expect(row(page, maria)).to_be_focused()

    # g then i: the inbox from anywhere; g then p: patients.
    page.keyboard.press("g")
    page.keyboard.press("p")
    expect(page).to_have_url(re.compile(r"#/patients$"))
    page.keyboard.press("g")  # in the directory's search box: typed, not a shortcut
    expect(page.get_by_role("searchbox").or_(page.locator("input:focus"))).to_have_value("g")
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("g")
    page.keyboard.press("i")
    expect(page).to_have_url(re.compile(r"#/$"))
    expect(rows.first).to_be_focused()


def test_two_agents_collide_and_the_keyboard_in_english(browser: Browser, hub_server: HubServer) -> None:
    maria = _maria(hub_server)
    with (
        open_page(browser, hub_server.base_url, "collision-ana") as ana,
        open_page(browser, hub_server.base_url, "collision-sofia") as sofia,
    ):
        sign_in(ana, "ana")
        sign_in(sofia, "sofia")
        _collide(ana, sofia, maria, "en", mobile=False)
        check_accessibility(ana, "conversation with a colleague viewing")
        _keyboard(ana, maria, "en")


def test_two_agents_collide_and_the_keyboard_in_spanish_at_390_px(browser: Browser, hub_server: HubServer) -> None:
    maria = _maria(hub_server)
    with (
        open_page(browser, hub_server.base_url, "collision-ana-es", locale="es-MX") as ana,
        open_page(browser, hub_server.base_url, "collision-sofia") as sofia,
    ):
        ana.set_viewport_size({"width": 390, "height": 844})
        sign_in(ana, "ana")
        sign_in(sofia, "sofia")
        _collide(ana, sofia, maria, "es", mobile=True)
        _no_overflow(ana)
        check_accessibility(ana, "conversation at 390 px in Spanish")
        _keyboard(ana, maria, "es")

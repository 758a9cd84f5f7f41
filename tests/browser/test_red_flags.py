"""The red-flag list in real browsers: an admin adds a phrase and deactivates one (and is told
when a phrase is already there); a supervisor reads the list without any way to change it; an
agent does not see it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import open_page, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


def _phrases(hub_server: HubServer) -> dict[str, dict]:
    sofia = Staff(hub_server.base_url, "sofia")
    try:
        return {f"{p['language']}:{p['phrase']}": p for p in sofia.get("/api/red-flags").json()["phrases"]}
    finally:
        sofia.close()


def _row(page: Page, flag_id: int):
    return page.locator(f'[data-testid="red-flag-row"][data-id="{flag_id}"]')


def test_an_admin_adds_a_phrase_and_deactivates_one(hub_server: HubServer, page: Page) -> None:
    chest = _phrases(hub_server)["en:chest pain"]
    sign_in(page, "admin")
    page.get_by_test_id("nav-red-flags").click()
    expect(page).to_have_url(re.compile(r"#/red-flags$"))
    expect(page.get_by_test_id("nav-red-flags")).to_have_attribute("aria-current", "page")
    expect(_row(page, chest["id"])).to_contain_text("Starting list")
    expect(page.get_by_test_id("red-flags-readonly")).to_have_count(0)

    # Add a Spanish phrase to the cardiac list.
    page.get_by_test_id("red-flag-phrase").fill("me quema por dentro el pecho")
    page.get_by_test_id("red-flag-language").select_option("es")
    page.get_by_test_id("red-flag-category").select_option("cardiac")
    page.get_by_test_id("red-flag-add").click()
    expect(page.get_by_test_id("red-flag-notice")).to_contain_text("“me quema por dentro el pecho” was added")
    added = _phrases(hub_server)["es:me quema por dentro el pecho"]
    assert added["active"] and added["category"] == "cardiac" and added["created_by"] == "Alex Admin"
    row = _row(page, added["id"])
    expect(row).to_contain_text("Added by Alex Admin")
    expect(row).to_contain_text("Español")
    expect(page.get_by_test_id("red-flag-phrase")).to_have_value("")

    # The same words again are refused, and the admin is told which phrase has them.
    page.get_by_test_id("red-flag-phrase").fill("Chest  PAIN!")
    page.get_by_test_id("red-flag-language").select_option("en")
    page.get_by_test_id("red-flag-add").click()
    expect(page.get_by_test_id("red-flag-error")).to_have_text("The list already has this phrase: “chest pain”.")

    # Search, then deactivate "chest pain": gone from the list in force, kept for the record.
    page.get_by_test_id("red-flag-search").fill("chest pa")
    expect(page.locator('[data-testid="red-flag-row"]')).to_have_count(2)  # chest pain, chest pains
    _row(page, chest["id"]).get_by_test_id("red-flag-deactivate").click()
    expect(page.get_by_test_id("red-flag-notice")).to_contain_text("“chest pain” was deactivated")
    expect(_row(page, chest["id"])).to_have_count(0)
    assert _phrases(hub_server)["en:chest pain"]["active"] is False
    page.get_by_test_id("red-flag-show-inactive").check()
    expect(_row(page, chest["id"])).to_have_attribute("data-active", "false")
    expect(_row(page, chest["id"])).to_contain_text("Deactivated by Alex Admin")

    # ... and brought back.
    _row(page, chest["id"]).get_by_test_id("red-flag-reactivate").click()
    expect(page.get_by_test_id("red-flag-notice")).to_contain_text("“chest pain” is in force again")
    expect(_row(page, chest["id"])).to_have_attribute("data-active", "true")
    assert _phrases(hub_server)["en:chest pain"]["active"] is True


def test_a_supervisor_reads_the_list_and_an_agent_does_not_see_it(
    browser: Browser, hub_server: HubServer, page: Page
) -> None:
    flags = _phrases(hub_server)
    sign_in(page, "sofia")
    page.get_by_test_id("nav-red-flags").click()
    expect(page.get_by_test_id("red-flags-readonly")).to_have_text("Only administrators can change this list.")
    expect(_row(page, flags["es:me quiero morir"]["id"])).to_contain_text("me quiero morir")
    expect(page.locator('[data-testid="red-flag-category-section"][data-category="self_harm"]')).to_contain_text(
        "Call 988 / 911"
    )
    expect(page.locator('[data-testid="red-flag-row"]')).to_have_count(len(flags))
    expect(page.get_by_test_id("red-flag-form")).to_have_count(0)
    expect(page.get_by_test_id("red-flag-deactivate")).to_have_count(0)
    page.get_by_test_id("red-flag-search").fill("corazon")  # accents optional
    expect(page.locator('[data-testid="red-flag-row"]').first).to_contain_text("corazón")
    page.get_by_test_id("nav-inbox").click()
    expect(page.get_by_test_id("nav-inbox")).to_have_attribute("aria-current", "page")

    with open_page(browser, hub_server.base_url, "agent-red-flags") as agent:
        sign_in(agent, "ana")
        expect(agent.get_by_test_id("nav-red-flags")).to_have_count(0)

"""The live floor in a real browser: a new message moves its counts without a reload, a waiting
conversation taken from it by keyboard, an agent set Away from it (their own inbox says so at once);
in English at 1360 px and in Spanish at 390 px, with axe's WCAG checks."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, open_page, send_inbound, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


def _no_team_waiting(page: Page):  # noqa: ANN202
    return page.locator('[data-testid="floor-team"][data-team="none"] [data-testid="floor-team-waiting"]')


def _open_floor(page: Page) -> None:
    page.get_by_test_id("nav-floor").click()
    expect(page.get_by_test_id("floor")).to_be_visible()
    expect(page.get_by_test_id("floor-updated")).not_to_be_empty()


def test_the_floor_moves_live_and_a_conversation_is_taken_by_keyboard(browser: Browser, hub_server: HubServer):
    with (
        open_page(browser, hub_server.base_url, "floor-en") as page,
        httpx.Client(base_url=hub_server.base_url, timeout=10) as integration,
    ):
        sign_in(page, "sofia")
        _open_floor(page)
        expect(page.get_by_role("heading", name="Live floor")).to_be_visible()
        before = int(_no_team_waiting(page).inner_text())

        sent = send_inbound(integration, "Can I move my appointment?", "floor-b-1", "+16505550177", name="Rosa Diaz")
        expect(_no_team_waiting(page)).to_have_text(str(before + 1))  # live, no reload
        item = page.locator(f'[data-testid="floor-waiting-item"][data-conversation="{sent["conversation_id"]}"]')
        expect(item).to_be_visible()
        expect(item).not_to_contain_text("Rosa")  # the floor shows no patient data
        check_accessibility(page, "the floor")

        take = item.get_by_test_id("floor-take")
        take.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("floor-status")).to_have_text(f"You have conversation {sent['conversation_id']}.")
        expect(item).to_be_hidden()  # no longer waiting: the next frame drops it
        expect(_no_team_waiting(page)).to_have_text(str(before))
        admin = Staff(hub_server.base_url, "admin")
        conv = admin.get(f"/api/conversations/{sent['conversation_id']}").json()
        admin.close()
        assert conv["assignee_id"] is not None


def test_a_supervisor_sets_an_agent_away_in_spanish_at_390px(browser: Browser, hub_server: HubServer):
    with (
        open_page(browser, hub_server.base_url, "floor-ben") as ben,
        open_page(browser, hub_server.base_url, "floor-es", locale="es-ES") as sofia,
    ):
        sign_in(ben, "ben")
        availability = ben.get_by_test_id("availability")
        availability.click()
        expect(availability).to_have_attribute("aria-pressed", "true")

        sofia.set_viewport_size({"width": 390, "height": 844})
        sign_in(sofia, "sofia")
        _open_floor(sofia)
        expect(sofia.get_by_role("heading", name="Sala en vivo")).to_be_visible()
        row = sofia.locator('[data-testid="floor-agent"]').filter(has_text="Ben")
        expect(row.get_by_test_id("floor-agent-state")).to_have_text("Disponible")
        check_accessibility(sofia, "the floor in Spanish at 390 px")
        button = row.get_by_test_id("floor-set-away")
        button.focus()
        sofia.keyboard.press("Enter")
        expect(sofia.get_by_test_id("floor-status")).to_contain_text("Ausente")
        expect(row.get_by_test_id("floor-agent-state")).to_have_text("Ausente")

        expect(availability).to_have_attribute("aria-pressed", "false")  # Ben's inbox, at once
        expect(ben.get_by_test_id("availability-note")).to_contain_text("set you Away")

"""The inbox's views and notifications in Chromium: switching views with counts that move live, a
snooze that comes back by itself (on the hub's clock, moved by the test), a resolved conversation one
click away and reopened, desktop notifications (permission granted in the test browser) that say
nothing about the patient, a tone, and the count in the tab's title; in English at 1360 px and in
Spanish at 390 px, by keyboard, with axe's checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, event, open_page, row, send_inbound, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer, TestClock, hub_settings

pytestmark = pytest.mark.browser

# Every Notification the page makes, as the page made it: title, body, tag.
CAPTURE = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  if (typeof Real !== "function") return;
  class Captured extends Real {
    constructor(title, options = {}) {
      window.__notifications.push({ title, body: options.body || "", tag: options.tag || "" });
      super(title, options);
    }
  }
  window.Notification = Captured;
})();
"""


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def clock_hub(tmp_path: Path, clock: TestClock) -> Iterator[HubServer]:
    srv = HubServer(hub_settings(tmp_path), clock=clock.now).start()
    yield srv
    srv.stop()


@pytest.fixture
def integration(clock_hub: HubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=clock_hub.base_url, timeout=10) as c:
        yield c


def _notifications(page: Page) -> list[dict]:
    return page.evaluate("() => window.__notifications")


def _count(page: Page, testid: str) -> int:
    return int(page.get_by_test_id(testid).get_attribute("data-count") or "-1")


def _expect_count(page: Page, testid: str, n: int) -> None:
    expect(page.get_by_test_id(testid)).to_have_attribute("data-count", str(n))


def _wait_for_notification(page: Page, title: str, before: int) -> dict:
    page.wait_for_function("([n]) => window.__notifications.length > n", arg=[before])
    found = _notifications(page)[before:]
    assert [n["title"] for n in found].count(title) >= 1, found
    return next(n for n in found if n["title"] == title)


def test_views_snooze_resolve_and_notifications_in_english(
    browser: Browser, clock_hub: HubServer, clock: TestClock, integration: httpx.Client
) -> None:
    sofia = Staff(clock_hub.base_url, "sofia")
    with open_page(browser, clock_hub.base_url, "views-en") as page:
        page.context.grant_permissions(["notifications"])
        page.context.add_init_script(CAPTURE)
        sign_in(page, "ana")
        views = page.get_by_test_id("views")
        expect(views.get_by_role("button")).to_have_text(
            ["Open", "Waiting for me", "Mine", "My team's", "Urgent", "Snoozed", "Resolved", "All"]
        )
        expect(page.get_by_test_id("filter-all")).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_test_id("filter-all")).to_have_attribute("data-count", re.compile(r"\d+"))
        open_before, mine_before = _count(page, "filter-all"), _count(page, "filter-mine")
        waiting_before = _count(page, "filter-waiting")
        snoozed_before, resolved_before = _count(page, "filter-snoozed"), _count(page, "filter-resolved")
        expect(page.get_by_test_id("notify-settings")).to_be_visible()
        assert page.title() == "Puente inbox"

        # A new patient: the open count moves live, with no reload.
        page.evaluate("window.__sameDocument = true")
        first = send_inbound(integration, "Can I get my lab results?", "views-en-1", "+16505550801", name="Ada Byron")
        cid = first["conversation_id"]
        _expect_count(page, "filter-all", open_before + 1)
        expect(row(page, cid)).to_have_count(1)

        # Sofía hands it to Ana: a desktop notification with nothing about the patient, a tone, the title.
        notes = len(_notifications(page))
        r = sofia.post(f"/api/conversations/{cid}/assign", json={"agent_id": Staff(clock_hub.base_url, "ana").me["id"]})
        assert r.status_code == 201, r.text
        note = _wait_for_notification(page, "A conversation was handed to you", notes)
        assert note["body"] == "" and "Ada" not in str(note) and "lab" not in str(note)
        expect(page).to_have_title("(1) Puente inbox")
        expect(page.get_by_test_id("notify-settings")).to_have_attribute("data-sounds", re.compile(r"[1-9]"))
        _expect_count(page, "filter-mine", mine_before + 1)
        _expect_count(page, "filter-waiting", waiting_before + 1)

        # The patient writes again: a new message in a conversation assigned to her.
        notes = len(_notifications(page))
        send_inbound(integration, "They were taken on Monday", "views-en-2", "+16505550801")
        note = _wait_for_notification(page, "New message in a conversation assigned to you", notes)
        assert "Monday" not in str(note) and "Ada" not in str(note)
        for n in _notifications(page):
            assert "Ada" not in n["title"] + n["body"] and "lab" not in n["title"] + n["body"]

        # Views by keyboard: from Open, Tab to "Waiting for me", Enter.
        page.get_by_test_id("filter-all").focus()
        page.keyboard.press("Tab")
        expect(page.get_by_test_id("filter-waiting")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("filter-waiting")).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_test_id("conversation-item")).to_have_count(waiting_before + 1)
        expect(row(page, cid)).to_have_count(1)
        check_accessibility(page, "the waiting view, 1360 px")

        # Filters: by channel and language.
        page.get_by_test_id("filters-toggle").click()
        page.get_by_test_id("filter-by-channel").select_option("email")
        expect(row(page, cid)).to_have_count(0)
        _expect_count(page, "filter-waiting", 0)  # (the demo's are by SMS)
        page.get_by_test_id("filter-by-channel").select_option("")
        page.get_by_test_id("filter-by-language").select_option("es")
        _expect_count(page, "filter-waiting", waiting_before)  # the demo's that waits for her is in Spanish
        expect(row(page, cid)).to_have_count(0)  # Ada's language is not known
        expect(page.get_by_test_id("filters-toggle")).to_have_text("Filters (1 on)")
        check_accessibility(page, "filters open")
        page.get_by_test_id("filters-clear").click()
        _expect_count(page, "filter-waiting", waiting_before + 1)
        expect(row(page, cid)).to_have_count(1)

        # Opening it clears the title.
        row(page, cid).click()
        expect(page).to_have_title("Puente inbox")

        # Snooze an hour: it leaves Open and Mine, counts move, it says until when.
        page.get_by_test_id("filter-all").click()
        page.get_by_test_id("snooze").click()
        expect(page.get_by_test_id("snooze-menu")).to_be_visible()
        check_accessibility(page, "the snooze menu")
        page.get_by_test_id("snooze-hour").click()
        expect(page.get_by_test_id("conversation-snoozed")).to_contain_text("Snoozed until")
        expect(event(page, re.compile(r"Ana Agent snoozed the conversation until .+"))).to_have_count(1)
        expect(row(page, cid)).to_have_count(0)
        _expect_count(page, "filter-snoozed", snoozed_before + 1)
        _expect_count(page, "filter-mine", mine_before)
        page.get_by_test_id("filter-snoozed").click()
        expect(row(page, cid)).to_have_count(1)
        expect(row(page, cid).get_by_test_id("row-snoozed")).to_be_visible()

        # An hour later by the hub's clock, it comes back by itself, live.
        clock.advance(timedelta(minutes=61))
        expect(event(page, "The snooze ended: the conversation is back")).to_have_count(1, timeout=15_000)
        expect(page.get_by_test_id("conversation-snoozed")).to_be_hidden()
        expect(row(page, cid)).to_have_count(0)
        _expect_count(page, "filter-snoozed", snoozed_before)
        page.get_by_test_id("filter-all").click()
        expect(row(page, cid)).to_have_count(1)

        # Resolved: one click away, and reopened from there.
        page.get_by_test_id("resolve").click()
        expect(page.get_by_test_id("conversation-status")).to_have_text("Resolved")
        expect(row(page, cid)).to_have_count(0)
        _expect_count(page, "filter-resolved", resolved_before + 1)
        page.get_by_test_id("filter-resolved").click()
        expect(row(page, cid)).to_have_count(1)
        row(page, cid).click()
        page.get_by_test_id("reopen").click()
        expect(page.get_by_test_id("conversation-status")).to_have_text("Open")
        expect(row(page, cid)).to_have_count(0)  # no longer resolved
        _expect_count(page, "filter-resolved", resolved_before)
        page.get_by_test_id("filter-all").click()
        expect(row(page, cid)).to_have_count(1)
        assert page.evaluate("window.__sameDocument") is True

        # Sound off: the next notification comes silent.
        page.get_by_test_id("notify-toggle").click()
        check_accessibility(page, "notification settings")
        page.get_by_test_id("notify-sound").uncheck()
        assert page.evaluate("localStorage.getItem('puente.notify.sound')") == "off"
        sounds = page.get_by_test_id("notify-settings").get_attribute("data-sounds")
        page.evaluate("location.hash = '#/'")  # nothing open: a message in hers is news
        expect(page.get_by_test_id("detail-empty")).to_be_visible()
        notes = len(_notifications(page))
        send_inbound(integration, "Hello again", "views-en-3", "+16505550801")
        _wait_for_notification(page, "New message in a conversation assigned to you", notes)
        expect(page).to_have_title("(1) Puente inbox")
        assert page.get_by_test_id("notify-settings").get_attribute("data-sounds") == sounds
    sofia.close()


def test_spanish_at_390_px_asks_permission_from_the_switch(
    browser: Browser, clock_hub: HubServer, integration: httpx.Client
) -> None:
    sofia = Staff(clock_hub.base_url, "sofia")
    with open_page(browser, clock_hub.base_url, "views-es", locale="es-MX") as page:
        page.set_viewport_size({"width": 390, "height": 844})
        page.context.add_init_script(CAPTURE)
        sign_in(page, "ana")
        views = page.get_by_test_id("views")
        expect(views.get_by_role("button")).to_have_text(
            ["Abiertas", "Esperándome", "Mías", "De mi equipo", "Urgentes", "Pospuestas", "Resueltas", "Todas"]
        )
        # No permission yet: the switch is off; turning it on asks, and a refusal is said.
        page.get_by_test_id("notify-toggle").click()
        expect(page.get_by_test_id("notify-desktop")).not_to_be_checked()
        check_accessibility(page, "ajustes de avisos, 390 px")
        page.context.grant_permissions(["notifications"])  # what the person answers when asked
        page.get_by_test_id("notify-desktop").check()
        expect(page.get_by_test_id("notify-desktop")).to_be_checked()
        assert page.evaluate("localStorage.getItem('puente.notify.desktop')") == "on"
        page.get_by_test_id("notify-toggle").click()

        expect(page.get_by_test_id("filter-all")).to_have_attribute("data-count", re.compile(r"\d+"))
        open_count = _count(page, "filter-all")
        first = send_inbound(integration, "¿Tienen cita el martes?", "views-es-1", "+16505550811", name="Rosa Luna")
        cid = first["conversation_id"]
        expect(row(page, cid)).to_have_count(1)
        _expect_count(page, "filter-all", open_count + 1)
        notes = len(_notifications(page))
        ana_id = Staff(clock_hub.base_url, "ana").me["id"]
        assert sofia.post(f"/api/conversations/{cid}/assign", json={"agent_id": ana_id}).status_code == 201
        note = _wait_for_notification(page, "Se le asignó una conversación", notes)
        assert "Rosa" not in str(note) and "martes" not in str(note)
        expect(page).to_have_title("(1) Bandeja de entrada de Puente")

        page.get_by_test_id("filter-mine").click()
        expect(row(page, cid)).to_have_count(1)
        check_accessibility(page, "vista Mías, 390 px")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Snooze until a picked time, from the keyboard; it leaves Mine, it is in Pospuestas.
        row(page, cid).click()
        expect(page).to_have_title("Bandeja de entrada de Puente")
        page.get_by_test_id("snooze").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("snooze-hour")).to_be_focused()
        page.get_by_test_id("snooze-at").fill("2099-01-01T09:30")
        page.get_by_test_id("snooze-pick-submit").click()
        # more than 90 days: refused in her language, nothing changes
        expect(page.get_by_test_id("action-error")).to_contain_text("90 días")
        expect(page.get_by_test_id("conversation-snoozed")).to_be_hidden()
        page.get_by_test_id("snooze-tomorrow").click()
        expect(page.get_by_test_id("conversation-snoozed")).to_contain_text("Pospuesta hasta")
        page.get_by_test_id("back").click()
        expect(row(page, cid)).to_have_count(0)
        _expect_count(page, "filter-all", open_count)
        page.get_by_test_id("filter-snoozed").click()
        expect(row(page, cid)).to_have_count(1)
        check_accessibility(page, "vista Pospuestas, 390 px")
        # The patient writes: it wakes at once.
        send_inbound(integration, "¿Hola?", "views-es-2", "+16505550811")
        expect(row(page, cid)).to_have_count(0)
        page.get_by_test_id("filter-mine").click()
        expect(row(page, cid)).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    sofia.close()


@pytest.fixture
def assistant_hub(tmp_path: Path) -> Iterator[HubServer]:
    srv = HubServer(hub_settings(tmp_path, bot=True)).start()
    yield srv
    srv.stop()


def test_an_urgent_conversation_is_notified_without_details_and_counted(
    browser: Browser, assistant_hub: HubServer
) -> None:
    """A red flag: the supervisor's inbox notifies 'Urgent conversation waiting' (and nothing of the
    patient), the Urgent view counts it and holds it, and taking it empties the view."""
    with (
        open_page(browser, assistant_hub.base_url, "views-urgent") as page,
        httpx.Client(base_url=assistant_hub.base_url, timeout=10) as integration,
    ):
        page.context.grant_permissions(["notifications"])
        page.context.add_init_script(CAPTURE)
        sign_in(page, "sofia")
        expect(page.get_by_test_id("filter-urgent")).to_have_attribute("data-count", re.compile(r"\d+"))
        urgent_before = _count(page, "filter-urgent")
        notes = len(_notifications(page))
        first = send_inbound(
            integration, "tengo un dolor muy fuerte en el pecho", "views-urgent-1", "+16505550821", name="Inés Prado"
        )
        note = _wait_for_notification(page, "Urgent conversation waiting", notes)
        assert "Inés" not in str(note) and "pecho" not in str(note) and note["body"] == ""
        expect(page).to_have_title("(1) Puente inbox")
        _expect_count(page, "filter-urgent", urgent_before + 1)
        page.get_by_test_id("filter-urgent").click()
        expect(row(page, first["conversation_id"])).to_have_count(1)
        check_accessibility(page, "the urgent view")
        row(page, first["conversation_id"]).click()
        expect(page).to_have_title("Puente inbox")
        expect(page.get_by_test_id("snooze")).to_be_hidden()  # take it first
        page.get_by_test_id("assign-me").click()
        expect(row(page, first["conversation_id"])).to_have_count(0)
        _expect_count(page, "filter-urgent", urgent_before)


def test_a_long_view_comes_a_page_at_a_time(browser: Browser, clock_hub: HubServer, integration: httpx.Client) -> None:
    """More conversations than a page: the view shows the newest hundred and 'Show more' the rest,
    none twice, by keyboard."""
    for i in range(105):
        send_inbound(integration, f"Question {i}", f"views-long-{i}", f"+1650556{i:04d}")
    with open_page(browser, clock_hub.base_url, "views-long") as page:
        sign_in(page, "sofia")
        page.get_by_test_id("filter-everything").click()
        expect(page.get_by_test_id("filter-everything")).to_have_attribute("data-count", re.compile(r"\d{3}"))
        total = int(page.get_by_test_id("filter-everything").get_attribute("data-count") or 0)
        assert total >= 105
        items = page.get_by_test_id("conversation-item")
        expect(items).to_have_count(100)
        more = page.get_by_test_id("list-more")
        more.focus()
        page.keyboard.press("Enter")
        expect(items).to_have_count(total)
        expect(more).to_be_hidden()
        ids = [items.nth(i).get_attribute("data-conversation-id") for i in range(total)]
        assert len(set(ids)) == total

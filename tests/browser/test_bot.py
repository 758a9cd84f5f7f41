"""The bot and the inbox in a real browser: an agent takes over a conversation from the assistant
(which then stays silent), gets a live alert when a patient asks for a person, and a supervisor
gets an urgent alert for a possible emergency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import event, open_page, sign_in
from tests.support.server import HubServer, hub_settings
from tests.support.webchat import VisitorClient

pytestmark = pytest.mark.browser


@pytest.fixture
def bot_hub(tmp_path: Path) -> Iterator[HubServer]:
    srv = HubServer(hub_settings(tmp_path, bot=True)).start()
    yield srv
    srv.stop()


def _visitor(srv: HubServer, name: str) -> VisitorClient:
    v = VisitorClient(srv.base_url, srv.ws_url)
    v.start(name, language="en")
    v.open()
    v.until(lambda f: f["type"] == "ready")
    return v


def _bot_answer(v: VisitorClient) -> dict:
    return v.until(lambda f: f["type"] == "message" and f["author"] == "bot")


def _row(page: Page, name: str):
    return page.get_by_test_id("conversation-item").filter(
        has=page.get_by_test_id("row-name").get_by_text(name, exact=True)
    )


def test_take_over_and_live_alerts(browser: Browser, bot_hub: HubServer) -> None:
    grace = _visitor(bot_hub, "Grace Lee")
    grace.send("hi")
    assert "virtual assistant" in _bot_answer(grace)["text"]

    with (
        open_page(browser, bot_hub.base_url, "bot-agent") as page,
        open_page(browser, bot_hub.base_url, "bot-sup") as sup,
    ):
        sign_in(page, "ana")
        row = _row(page, "Grace Lee")
        expect(row.get_by_test_id("row-bot")).to_have_text("Assistant")
        row.click()
        expect(page.get_by_test_id("conversation-bot")).to_have_text("With the assistant")
        page.get_by_test_id("take-over").click()
        expect(page.get_by_test_id("conversation-assignee")).to_have_text("Assigned to Ana Agent")
        expect(page.get_by_test_id("conversation-bot")).to_have_count(0)
        expect(row.get_by_test_id("row-bot")).to_have_count(0)
        grace.send("are you a real person?")
        expect(event(page, "are you a real person?")).to_have_count(1)
        page.get_by_test_id("composer-text").fill("Yes, this is Ana. How can I help?")
        page.get_by_test_id("composer-submit").click()
        answer = grace.until(lambda f: f["type"] == "message" and f["author"] != "you")
        assert answer["author"] == "agent" and answer["text"] == "Yes, this is Ana. How can I help?"  # not the bot

        # Ana says she is available; a patient asks for a person: it comes to her, with an alert.
        page.get_by_test_id("availability").click()
        expect(page.get_by_test_id("availability")).to_have_attribute("aria-pressed", "true")
        omar = _visitor(bot_hub, "Omar Haddad")
        omar.send("can I talk to a real person please")
        alert = page.get_by_test_id("alert").filter(has_text="Omar Haddad")
        expect(alert).to_contain_text("Omar Haddad was assigned to you.")
        assert "Ana" in _bot_answer(omar)["text"]  # the patient is told who will answer
        alert.get_by_test_id("alert-open").click()
        expect(page.get_by_test_id("patient-name")).to_have_text("Omar Haddad")
        expect(page.get_by_test_id("timeline-event").filter(has_text="The patient asked for a person.")).to_have_count(
            1
        )
        expect(
            page.get_by_test_id("timeline-event").filter(has_text="Assigned to Ana Agent automatically")
        ).to_have_count(1)

        # A possible emergency: the supervisor gets an urgent alert that stays until dismissed.
        sign_in(sup, "sofia")
        tom = _visitor(bot_hub, "Tom Reyes")
        tom.send("I'm having chest pain and I can't breathe")
        assert "call 911" in _bot_answer(tom)["text"]
        urgent = sup.get_by_test_id("alert").filter(has_text="Tom Reyes")
        expect(urgent).to_have_attribute("data-urgent", "true")
        expect(urgent).to_contain_text("Urgent: Tom Reyes may have an emergency (Clinical).")
        tom_row = _row(sup, "Tom Reyes")
        expect(tom_row.get_by_test_id("row-urgent")).to_have_text("Urgent")
        expect(sup.get_by_test_id("conversation-item").first).to_have_attribute(
            "data-conversation-id", tom_row.get_attribute("data-conversation-id") or ""
        )  # urgent ones first
        urgent.get_by_test_id("alert-open").click()
        expect(sup.get_by_test_id("conversation-urgent")).to_have_text("Urgent")
        expect(
            sup.get_by_test_id("timeline-event").filter(has_text="The message may describe an emergency.")
        ).to_have_count(1)
        # Hand back: the assistant answers Omar again.
        page.get_by_test_id("hand-back").click()
        expect(page.get_by_test_id("conversation-bot")).to_have_text("With the assistant")
        omar.send("where do you park?")
        assert "Parking is free" in _bot_answer(omar)["text"]
    for v in (grace, omar, tom):
        v.close()

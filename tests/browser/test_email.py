"""Email in the inbox, in a real browser: a patient's email arrives live (real SMTP to the hub),
the agent answers it by email from the composer and the answer reaches a real relay threaded;
the patient's reply shows only what they wrote, marked as having quoted history hidden; the
original and the sanitised HTML open from the message; an out-of-office is marked as such."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import event, open_page, sign_in
from tests.support.mail import DOMAIN, fixture_mail, mail_settings, rows, send_mail
from tests.support.server import HubServer
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.browser

FIRST = "I'd like to book a check-up for my daughter. Is anything free next week?"
REPLY_SHOWN = "Tuesday at 10 works, thank you!\n\nLinh"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


@pytest.fixture
def mail_hub(tmp_path: Path, sink: SmtpSink) -> Iterator[HubServer]:
    srv = HubServer(mail_settings(tmp_path, sink.port)).start()
    yield srv
    srv.stop()


@pytest.fixture
def mail_page(browser: Browser, mail_hub: HubServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    with open_page(browser, mail_hub.base_url, request.node.name) as pg:
        yield pg


def _smtp(srv: HubServer, raw: bytes, sender: str) -> None:
    assert send_mail(srv.settings.email.listen_port, raw, sender).code == 250


def test_an_agent_reads_and_answers_an_email_thread(mail_hub: HubServer, sink: SmtpSink, mail_page: Page) -> None:
    page = mail_page
    sign_in(page, "ana")
    _smtp(mail_hub, fixture_mail("gmail_first_en"), "linh.tran.sf@gmail.com")  # arrives while the inbox is live
    item = page.get_by_test_id("conversation-item").filter(has_text="Linh Tran").filter(has_text="check-up")
    item.click()
    first = page.get_by_test_id("timeline-event").filter(has_text=FIRST)
    expect(first).to_have_count(1)
    expect(first.get_by_test_id("email-subject")).to_have_text("Subject: Check-up appointment")
    expect(first.get_by_test_id("event-channel")).to_have_text("Email")

    # Answer by email: the composer follows the channel the patient wrote on.
    expect(page.get_by_test_id("composer-channel")).to_have_value("email")
    page.get_by_test_id("composer-text").fill("Hi Linh, we have Tuesday at 10:00. Does that suit you?")
    page.get_by_test_id("composer-submit").click()
    ours = sink.wait_for(1)[0]
    assert str(ours["In-Reply-To"]) == "<CAKx8Pz9kq3Jf0vYqfLm2yT1s-_uQa7Wm4Vb9e3cD1fGhJ2k@mail.gmail.com>"
    assert str(ours["Subject"]) == "Re: Check-up appointment"
    token = str(ours["Reply-To"]).removeprefix("reply+").split("@")[0]
    assert str(ours["Reply-To"]) == f"reply+{token}@{DOMAIN}"
    answer = page.get_by_test_id("timeline-event").filter(has_text="we have Tuesday at 10:00")
    expect(answer.get_by_test_id("message-status")).to_have_text("Sent")

    # Linh answers from Gmail, quoting everything: only her new words show, live.
    ours_id = str(ours["Message-ID"]).strip("<>")
    _smtp(mail_hub, fixture_mail("gmail_reply_en", ours=ours_id, token=token), "linh.tran.sf@gmail.com")
    reply = page.get_by_test_id("timeline-event").filter(has_text="Tuesday at 10 works")
    expect(reply.get_by_test_id("event-text")).to_have_text(REPLY_SHOWN)
    expect(reply).not_to_contain_text("wrote:")
    expect(reply.get_by_test_id("email-note")).to_contain_text("Quoted earlier messages and the signature are hidden.")

    # The original, as it came (quotes and all), and the HTML only as the hub sanitised it.
    with page.expect_popup() as popup_info:
        reply.get_by_test_id("email-original").click()
    original = popup_info.value
    expect(original.locator("body")).to_contain_text("Message-ID: <CAKx8Pz_Lm3Yt5NbW0xv2Q9e7uHr4sJkP1cVa8dE6fTgWy0z")
    expect(original.locator("body")).to_contain_text("wrote:")
    original.close()
    with page.expect_popup() as popup_info:
        reply.get_by_test_id("email-formatted").click()
    formatted = popup_info.value
    expect(formatted.locator("body")).to_contain_text("Tuesday at 10 works, thank you!")
    assert formatted.locator("script").count() == 0
    formatted.close()
    audit = rows(mail_hub.settings, "SELECT count(*) FROM audit_log WHERE action = 'email.original_read'")
    assert audit == [(2,)]

    # An out-of-office from her is marked, and she is not bothered with an answer to it.
    auto = fixture_mail("outlook_auto_reply", ours=ours_id, token=token).replace(
        b"robert.kim@outlook.com", b"linh.tran.sf@gmail.com"
    )
    _smtp(mail_hub, auto, "")
    marked = page.get_by_test_id("timeline-event").filter(has_text="out of the office until January 12")
    expect(marked.get_by_test_id("auto-reply")).to_have_text("Auto-reply")
    expect(event(page, REPLY_SHOWN)).to_have_count(1)

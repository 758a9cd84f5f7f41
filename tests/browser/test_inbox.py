"""The agents' inbox in a real browser against a real hub: sign-in, live list, timeline, actions, reconnects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import event, open_page, row, send_inbound, sign_in
from tests.support import server as hub_support
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


def test_agent_answers_a_new_message_live(hub_server: HubServer, integration: httpx.Client, page: Page) -> None:
    sign_in(page, "ana")
    expect(page.get_by_test_id("current-user")).to_contain_text("Ana Agent, Agent")
    items = page.get_by_test_id("conversation-item")
    expect(items.filter(has_text="María González")).to_have_count(1)
    expect(items.filter(has_text="Robert Kim")).to_have_count(0)  # resolved: not in the open list
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    first = send_inbound(
        integration, "Can I move my physical to Friday?", "browser-e2e-1", "+16505550177", name="Grace Hopper"
    )
    item = row(page, first["conversation_id"])
    expect(items.first).to_have_attribute("data-conversation-id", str(first["conversation_id"]))
    expect(item.get_by_test_id("row-name")).to_have_text("Grace Hopper")
    expect(item.get_by_test_id("row-preview")).to_have_text("Can I move my physical to Friday?")
    expect(item.get_by_test_id("row-channel")).to_have_text("API")
    expect(item.get_by_test_id("row-assignee")).to_have_text("Unassigned")
    assert page.evaluate("window.__sameDocument") is True

    item.click()
    expect(page).to_have_url(re.compile(rf"#/c/{first['conversation_id']}$"))
    expect(page.get_by_test_id("patient-name")).to_have_text("Grace Hopper")
    expect(page.get_by_test_id("patient-contacts")).to_contain_text("+16505550177")
    expect(page.get_by_test_id("conversation-status")).to_have_text("Open")
    question = event(page, "Can I move my physical to Friday?")
    expect(question).to_have_count(1)
    expect(question.get_by_test_id("event-channel")).to_have_text("API")
    expect(question.get_by_test_id("event-author")).to_have_text("Grace Hopper")

    # The same patient writes again by SMS, relayed by the integration: same timeline, live.
    send_inbound(integration, "Mornings are best for me.", "browser-e2e-2", "+1 650 555 0177", channel="sms")
    by_sms = event(page, "Mornings are best for me.")
    expect(by_sms).to_have_count(1)
    expect(by_sms.get_by_test_id("event-channel")).to_have_text("SMS")
    expect(page.get_by_test_id("composer-channel")).to_have_value("sms")  # follows the patient's last channel

    # Reply.
    page.get_by_test_id("composer-text").fill("Friday at 9:30 works. See you then!")
    page.get_by_test_id("composer-submit").click()
    reply = event(page, "Friday at 9:30 works. See you then!")
    expect(reply).to_have_count(1)
    expect(reply).to_have_attribute("data-kind", "message_out")
    expect(reply.get_by_test_id("event-channel")).to_have_text("SMS")
    expect(reply.get_by_test_id("event-author")).to_have_text("Ana Agent")
    expect(reply.get_by_test_id("message-status")).to_have_text("Queued")
    expect(page.get_by_test_id("composer-text")).to_have_value("")
    expect(item.get_by_test_id("row-preview")).to_have_text("Friday at 9:30 works. See you then!")

    # Internal note.
    page.get_by_test_id("composer-mode-note").click()
    expect(page.get_by_test_id("composer-submit")).to_have_text("Add note")
    page.get_by_test_id("composer-text").fill("Patient prefers mornings; check Dr. Lee's Friday slots.")
    page.get_by_test_id("composer-submit").click()
    note = event(page, "Patient prefers mornings; check Dr. Lee's Friday slots.")
    expect(note).to_have_count(1)
    expect(note).to_have_attribute("data-kind", "note")
    expect(note).to_contain_text("Internal note")
    expect(note).to_contain_text("Not sent to the patient")
    page.screenshot(path="/tmp/inbox.png")

    # Assign to me.
    page.get_by_test_id("assign-me").click()
    expect(page.get_by_test_id("conversation-assignee")).to_have_text("Assigned to Ana Agent")
    expect(event(page, "Ana Agent took the conversation")).to_have_count(1)
    expect(page.get_by_test_id("unassign")).to_be_visible()
    expect(item.get_by_test_id("row-assignee")).to_have_text("You")

    # "Mine" shows only what is assigned to her: this one and María's (assigned in the demo seed).
    page.get_by_test_id("filter-mine").click()
    expect(page.get_by_test_id("filter-mine")).to_have_attribute("aria-pressed", "true")
    expect(items.get_by_test_id("row-name")).to_have_text(["Grace Hopper", "María González"])
    page.get_by_test_id("filter-all").click()
    expect(items.filter(has_text="Linh Tran")).to_have_count(1)

    # Resolve: it leaves the open list but stays on screen, ready to reopen.
    page.get_by_test_id("resolve").click()
    expect(page.get_by_test_id("conversation-status")).to_have_text("Resolved")
    expect(event(page, "Ana Agent resolved the conversation")).to_have_count(1)
    expect(page.get_by_test_id("reopen")).to_be_visible()
    expect(item).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True

    # What the page showed is what the server stored.
    sofia = Staff(hub_server.base_url, "sofia")
    try:
        tl = sofia.get(f"/api/patients/{first['patient_id']}/timeline").json()["events"]
        conv = sofia.get(f"/api/conversations/{first['conversation_id']}").json()
    finally:
        sofia.close()
    kinds = [(e["kind"], e["channel"], e["text"]) for e in tl]
    assert kinds == [
        ("message_in", "api", "Can I move my physical to Friday?"),
        ("message_in", "sms", "Mornings are best for me."),
        ("message_out", "sms", "Friday at 9:30 works. See you then!"),
        ("note", None, "Patient prefers mornings; check Dr. Lee's Friday slots."),
        ("assignment", None, None),
        ("status_change", None, None),
    ]
    assert tl[2]["author_name"] == "Ana Agent" and tl[2]["data"]["status"] == "queued"
    assert tl[4]["data"]["assignee_name"] == "Ana Agent"
    assert tl[5]["data"] == {"from": "open", "to": "resolved"}
    assert conv["status"] == "resolved" and conv["assignee_name"] == "Ana Agent"

    # Reopen brings it back to the open list.
    page.get_by_test_id("reopen").click()
    expect(page.get_by_test_id("conversation-status")).to_have_text("Open")
    expect(event(page, "Ana Agent reopened the conversation")).to_have_count(1)
    expect(item).to_have_count(1)


def test_server_errors_are_shown(hub_server: HubServer, integration: httpx.Client, page: Page) -> None:
    first = send_inbound(integration, "Do you have parking?", "browser-err-1", "+16505550166")
    sign_in(page, "ana")
    row(page, first["conversation_id"]).click()
    expect(event(page, "Do you have parking?")).to_have_count(1)
    # Resolve it behind the page's back, then try again from the page: the server refuses.
    sofia = Staff(hub_server.base_url, "sofia")
    try:
        r = sofia.post(f"/api/conversations/{first['conversation_id']}/status", json={"status": "resolved"})
        assert r.status_code == 201, r.text
        expect(page.get_by_test_id("conversation-status")).to_have_text("Resolved")  # came over the stream
        page.evaluate("window.puenteInbox.stream.pause()")
        r = sofia.post(f"/api/conversations/{first['conversation_id']}/status", json={"status": "open"})
        assert r.status_code == 201, r.text
    finally:
        sofia.close()
    page.get_by_test_id("reopen").click()  # the page still thinks it is resolved
    expect(page.get_by_test_id("action-error")).to_contain_text(
        "Could not change the status: The conversation is already open."
    )
    expect(page.get_by_test_id("conversation-status")).to_have_text("Open")  # refreshed after the failure


def test_wrong_password_and_sign_out(hub_server: HubServer, page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("login-input").fill("ana")
    page.get_by_test_id("password-input").fill("not-her-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong login or password.")
    expect(page.get_by_test_id("password-input")).to_have_value("")
    expect(page.get_by_test_id("current-user")).to_have_count(0)

    page.get_by_test_id("password-input").fill("puente-ana-demo")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text("Ana Agent")
    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("login-notice")).to_have_text("You have signed out.")
    page.reload()
    expect(page.get_by_test_id("login-form")).to_be_visible()  # the session is really gone


def test_expired_session_returns_to_sign_in(hub_server: HubServer, integration: httpx.Client, page: Page) -> None:
    sign_in(page, "ben")
    first = send_inbound(integration, "Question about my bill", "browser-exp-1", "+16505550155")
    item = row(page, first["conversation_id"])
    expect(item).to_have_count(1)
    page.context.clear_cookies()  # as if the server-side session had timed out
    item.click()
    expect(page.get_by_test_id("login-notice")).to_have_text("Your session has expired. Please sign in again.")
    expect(page.get_by_test_id("login-form")).to_be_visible()


def test_reconnects_show_each_message_exactly_once(
    hub_server: HubServer, integration: httpx.Client, page: Page
) -> None:
    sign_in(page, "ana")
    one = send_inbound(integration, "Reconnect one", "browser-rc-1", "+16505550188", name="Alan Turing")
    address = "+16505550188"
    item = row(page, one["conversation_id"])
    item.click()
    expect(event(page, "Reconnect one")).to_have_count(1)

    # 1. The socket drops (as a network blip would); the client reconnects by itself with ?after=.
    connects = page.evaluate("window.puenteInbox.stream.connects")
    page.evaluate("window.puenteInbox.socket.close()")
    send_inbound(integration, "Reconnect two", "browser-rc-2", address)
    # a function, not an expression: Playwright evaluates an expression with eval, which the inbox's CSP forbids
    page.wait_for_function(
        f"() => window.puenteInbox.stream.connects > {connects} && window.puenteInbox.state === 'live'"
    )
    expect(event(page, "Reconnect two")).to_have_count(1)

    # 2. Offline for a while: messages sent meanwhile come from the backfill, and one the page
    #    also fetched over REST (by reopening the conversation) is not shown twice.
    page.evaluate("window.puenteInbox.stream.pause()")
    expect(page.get_by_test_id("connection-status")).to_have_text("Paused")
    three = send_inbound(integration, "Reconnect three", "browser-rc-3", address)
    other = send_inbound(integration, "Someone else wrote meanwhile", "browser-rc-x", "+16505550199")
    expect(row(page, other["conversation_id"])).to_have_count(0)  # no stream, no news
    item.click()  # reloads the open conversation over REST
    expect(event(page, "Reconnect three")).to_have_count(1)
    page.evaluate("window.puenteInbox.stream.resume()")
    page.wait_for_function(f"() => window.puenteInbox.lastSeq >= {other['seq']} && window.puenteInbox.state === 'live'")
    expect(page.get_by_test_id("connection-status")).to_have_text("Live")
    expect(row(page, other["conversation_id"])).to_have_count(1)
    expect(row(page, other["conversation_id"]).get_by_test_id("row-preview")).to_have_text(
        "Someone else wrote meanwhile"
    )

    # 3. Live again: a new message arrives after the replayed ones, and nothing is doubled.
    send_inbound(integration, "Reconnect four", "browser-rc-4", address)
    expect(event(page, "Reconnect four")).to_have_count(1)
    for text in ("Reconnect one", "Reconnect two", "Reconnect three", "Reconnect four"):
        expect(event(page, text)).to_have_count(1)
    seqs = page.get_by_test_id("timeline-event").evaluate_all("els => els.map(e => Number(e.dataset.seq))")
    assert seqs == sorted(set(seqs)), seqs
    assert three["seq"] in seqs
    expect(page.get_by_test_id("conversation-item").filter(has_text="Alan Turing")).to_have_count(1)
    expect(item.get_by_test_id("row-preview")).to_have_text("Reconnect four")


def test_load_earlier_pages_back_through_history(hub_server: HubServer, integration: httpx.Client, page: Page) -> None:
    first = None
    for i in range(1, 56):  # one page is 50 events
        result = send_inbound(integration, f"Message number {i}", f"browser-page-{i}", "+16505550144")
        first = first or result
    assert first is not None
    sign_in(page, "ana")
    row(page, first["conversation_id"]).click()
    expect(event(page, "Message number 55")).to_have_count(1)
    expect(page.get_by_test_id("timeline-event")).to_have_count(50)
    expect(event(page, "Message number 5")).to_have_count(0)
    page.get_by_test_id("load-earlier").click()
    expect(page.get_by_test_id("timeline-event")).to_have_count(55)
    expect(event(page, "Message number 1")).to_have_count(1)
    expect(page.get_by_test_id("timeline-start")).to_have_text("Start of this patient's history")
    expect(page.get_by_test_id("load-earlier")).to_have_count(0)
    texts = page.get_by_test_id("timeline").get_by_test_id("event-text").all_inner_texts()
    assert texts == [f"Message number {i}" for i in range(1, 56)]


@pytest.fixture
def small_backfill_hub(tmp_path: Path) -> Iterator[HubServer]:
    """A hub that replays at most 3 missed events: more than that and the client must resync."""
    settings = hub_support.hub_settings(tmp_path)
    settings = replace(settings, realtime=replace(settings.realtime, backfill_limit=3))
    srv = HubServer(settings).start()
    yield srv
    srv.stop()


def test_resync_after_missing_too_much(browser: Browser, small_backfill_hub: HubServer) -> None:
    hub = small_backfill_hub
    with (
        httpx.Client(base_url=hub.base_url, timeout=10) as integration,
        open_page(browser, hub.base_url, "resync") as page,
    ):
        sign_in(page, "ana")
        maria = page.get_by_test_id("conversation-item").filter(has_text="María González")
        maria.click()
        expect(page.get_by_test_id("patient-name")).to_have_text("María González")

        page.evaluate("window.puenteInbox.stream.pause()")
        for i in range(1, 5):  # María writes four times by SMS
            send_inbound(integration, f"Missed {i}", f"browser-resync-{i}", "+16505550134", channel="sms")
        newcomer = send_inbound(integration, "I am new here", "browser-resync-new", "+16505550122", name="Ada Lovelace")
        page.evaluate("window.puenteInbox.stream.resume()")

        # Five missed events > 3: the server says resync; the page reloads over REST and goes live again.
        page.wait_for_function("() => window.puenteInbox.stream.resyncs === 1 && window.puenteInbox.state === 'live'")
        expect(page.get_by_test_id("connection-status")).to_have_text("Live")
        expect(row(page, newcomer["conversation_id"]).get_by_test_id("row-name")).to_have_text("Ada Lovelace")
        for i in range(1, 5):
            expect(event(page, f"Missed {i}")).to_have_count(1)
        expect(maria.get_by_test_id("row-preview")).to_have_text("Missed 4")

        send_inbound(integration, "Back to normal", "browser-resync-5", "+16505550134", channel="sms")
        expect(event(page, "Back to normal")).to_have_count(1)
        expect(event(page, "Missed 4")).to_have_count(1)
        assert page.evaluate("window.puenteInbox.stream.resyncs") == 1


def test_delivery_reports_update_the_message_live(hub_server: HubServer, integration: httpx.Client, page: Page) -> None:
    sign_in(page, "ana")
    first = send_inbound(integration, "Is my refill ready?", "browser-dlv-1", "+16505550178", name="Ada Byron")
    row(page, first["conversation_id"]).click()
    page.get_by_test_id("composer-text").fill("Yes, pick it up after 2 pm.")
    page.get_by_test_id("composer-submit").click()
    reply = event(page, "Yes, pick it up after 2 pm.")
    expect(reply.get_by_test_id("message-status")).to_have_text("Queued")
    seq = int(reply.get_attribute("data-seq") or 0)
    key = {"authorization": f"Bearer {hub_support.INGEST_KEY}"}
    for status in ("delivered", "sent"):  # a late "sent" must not move it back
        r = integration.post("/api/channels/api/status", json={"message_seq": seq, "status": status}, headers=key)
        assert r.status_code in (200, 201), r.text
    expect(reply.get_by_test_id("message-status")).to_have_text("Delivered")
    page.wait_for_timeout(300)  # the stale report has had its chance to arrive
    expect(reply.get_by_test_id("message-status")).to_have_text("Delivered")


def test_a_conversation_taken_out_of_reach_leaves_the_list(hub_server: HubServer, page: Page) -> None:
    sofia = Staff(hub_server.base_url, "sofia")
    maria = next(
        c for c in sofia.get("/api/conversations").json()["conversations"] if c["patient_name"] == "María González"
    )  # the scheduling team's; ben is in billing
    sign_in(page, "ben")
    expect(row(page, maria["id"])).to_have_count(0)
    ben_id = page.evaluate("fetch('/api/auth/me').then(r => r.json()).then(me => me.id)")
    assert sofia.post(f"/api/conversations/{maria['id']}/assign", json={"agent_id": ben_id}).status_code == 201
    expect(row(page, maria["id"])).to_have_count(1)
    ana_id = Staff(hub_server.base_url, "ana").me["id"]
    assert sofia.post(f"/api/conversations/{maria['id']}/assign", json={"agent_id": ana_id}).status_code == 201
    expect(row(page, maria["id"])).to_have_count(0)


def test_an_sms_opt_out_shows_why_and_blocks_sms(hub_server: HubServer, integration: httpx.Client, page: Page) -> None:
    from tests.channels.sms.test_sms_webhooks import _fields, _post

    assert (
        _post(
            integration, "/api/channels/sms/inbound", _fields("SMbr000001", "Hola", sender="+16505550177")
        ).status_code
        == 200
    )
    sofia = Staff(hub_server.base_url, "sofia")
    conv = next(
        c for c in sofia.get("/api/conversations").json()["conversations"] if c["patient_name"] == "+16505550177"
    )
    sign_in(page, "ana")
    row(page, conv["id"]).click()
    assert (
        _post(
            integration, "/api/channels/sms/inbound", _fields("SMbr000002", "STOP", sender="+16505550177")
        ).status_code
        == 200
    )
    expect(page.get_by_test_id("timeline-event").filter(has_text="opted out of text messages")).to_have_count(1)
    page.reload()  # the composer reads reachable channels with the patient
    row(page, conv["id"]).click()
    option = page.get_by_test_id("composer-channel").locator("option[value=sms]")
    expect(option).to_be_disabled()
    expect(option).to_contain_text("opted out")

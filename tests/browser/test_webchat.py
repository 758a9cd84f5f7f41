"""Web chat in real browsers: a patient chats in the widget on the clinic's own site (another
origin), an agent answers in the inbox, and each sees the other live."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from hub.webchat.tokens import portal_signature
from tests.browser.pages import check_accessibility, event, open_page, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer, free_port, hub_settings
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.browser


class ClinicSite:
    """The clinic's own website, on its own origin, embedding the widget with one tag."""

    def __init__(self, hub_url: str, script_attributes: str = "") -> None:
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sunrise Family Clinic</title></head>"
            "<body><h1>Sunrise Family Clinic</h1><p>Open Monday to Saturday.</p>"
            f"<script src='{hub_url}/widget.js' {script_attributes} async></script></body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        # "localhost", not 127.0.0.1: another host and port than the hub, so every call is cross-origin.
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(hub_server: HubServer) -> Iterator[ClinicSite]:
    s = ClinicSite(hub_server.base_url)
    yield s
    s.close()


@pytest.fixture
def patient_page(browser: Browser, hub_server: HubServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    with open_page(browser, hub_server.base_url, f"{request.node.name}-patient") as pg:
        yield pg


def _message(page: Page, text: str):
    return page.get_by_test_id("chat-message").filter(
        has=page.get_by_test_id("chat-message-text").get_by_text(text, exact=True)
    )


def _start_chat(page: Page, site: ClinicSite, name: str) -> None:
    page.goto(site.url)
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-name").fill(name)
    page.get_by_test_id("chat-start").click()
    expect(page.get_by_test_id("chat-empty")).to_be_visible()
    expect(page.get_by_test_id("chat-connection")).to_have_text("")  # live


def _type_until_seen(field, indicator, shown: str) -> None:
    """Typing notices are best effort (one per 2 s at most, dropped while a socket reconnects, shown
    for 6 s): keep typing, as a person does, until the other side shows it; never shown fails."""
    for word in ("Also", " and", " then"):
        field.press_sequentially(word, delay=30)
        try:
            expect(indicator).to_have_text(shown, timeout=4000)
            return
        except AssertionError:
            continue
    expect(indicator).to_have_text(shown)


def test_patient_and_agent_chat_live(hub_server: HubServer, site: ClinicSite, patient_page: Page, page: Page) -> None:
    patient = patient_page
    _start_chat(patient, site, "Rosa Méndez")
    patient.get_by_test_id("chat-text").fill("Hi! Can I get a flu shot without an appointment?")
    patient.get_by_test_id("chat-send").click()
    question = _message(patient, "Hi! Can I get a flu shot without an appointment?")
    expect(question.get_by_test_id("chat-message-status")).to_have_text("Sent")

    # The agent sees the new web-chat conversation arrive live and opens it.
    sign_in(page, "ana")
    item = page.get_by_test_id("conversation-item").filter(has_text="Rosa Méndez")
    expect(item.get_by_test_id("row-channel")).to_have_text("Web chat")
    item.click()
    expect(page.get_by_test_id("patient-name")).to_have_text("Rosa Méndez")
    expect(event(page, "Hi! Can I get a flu shot without an appointment?")).to_have_count(1)
    expect(page.get_by_test_id("composer-channel")).to_have_value("webchat")
    # The agent has it in view: the patient's widget says Read.
    expect(question.get_by_test_id("chat-message-status")).to_have_text("Read")

    # Each sees the other typing.
    _type_until_seen(
        patient.get_by_test_id("chat-text"), page.get_by_test_id("typing-indicator"), "Rosa Méndez is typing…"
    )
    _type_until_seen(page.get_by_test_id("composer-text"), patient.get_by_test_id("chat-typing"), "Ana is typing…")

    check_accessibility(patient, "the web-chat widget, mid-conversation")

    # The agent answers; the widget shows it live, and the inbox sees it delivered and read.
    page.get_by_test_id("composer-text").fill("Yes, walk-ins are welcome 9 am to 5 pm.")
    page.get_by_test_id("composer-submit").click()
    answer = _message(patient, "Yes, walk-ins are welcome 9 am to 5 pm.")
    expect(answer).to_have_attribute("data-author", "agent")
    expect(answer).to_contain_text("Ana")
    expect(patient.get_by_test_id("chat-typing")).to_have_text("")
    reply = event(page, "Yes, walk-ins are welcome 9 am to 5 pm.")
    expect(reply.get_by_test_id("message-status")).to_have_text("Read")

    # A reload keeps the conversation, and what arrives next still comes live.
    patient.get_by_test_id("chat-text").fill("")
    patient.reload()
    patient.get_by_test_id("chat-launcher").click()
    expect(_message(patient, "Hi! Can I get a flu shot without an appointment?")).to_have_count(1)
    expect(_message(patient, "Yes, walk-ins are welcome 9 am to 5 pm.")).to_have_count(1)
    page.get_by_test_id("composer-text").fill("Bring your insurance card.")
    page.get_by_test_id("composer-submit").click()
    expect(_message(patient, "Bring your insurance card.")).to_have_count(1)
    patient.get_by_test_id("chat-text").fill("Thank you!")
    patient.get_by_test_id("chat-text").press("Enter")
    expect(event(page, "Thank you!")).to_have_count(1)
    expect(patient.get_by_test_id("chat-message")).to_have_count(4)  # each message once

    # The notes and the staff's names beyond a first name never reach the widget.
    page.get_by_test_id("composer-mode-note").click()
    page.get_by_test_id("composer-text").fill("Internal: she asked about the flu shot")
    page.get_by_test_id("composer-submit").click()
    expect(event(page, "Internal: she asked about the flu shot")).to_have_count(1)
    patient.wait_for_timeout(500)
    expect(patient.get_by_test_id("chat-message")).to_have_count(4)
    expect(patient.get_by_test_id("chat-panel")).not_to_contain_text("Internal")
    expect(patient.get_by_test_id("chat-panel")).not_to_contain_text("Ana Agent")


def test_widget_speaks_spanish_and_escapes_what_it_echoes(
    hub_server: HubServer, site: ClinicSite, patient_page: Page, page: Page
) -> None:
    dialogs: list[str] = []

    def on_dialog(d: Dialog) -> None:
        dialogs.append(d.message)
        d.dismiss()

    patient_page.on("dialog", on_dialog)
    page.on("dialog", on_dialog)
    patient_page.goto(site.url)
    patient_page.get_by_test_id("chat-launcher").click()
    patient_page.get_by_test_id("chat-language").select_option("es")
    expect(patient_page.get_by_test_id("chat-launcher")).to_have_text("Chatee con nosotros")
    expect(patient_page.get_by_test_id("chat-start")).to_have_text("Empezar el chat")
    patient_page.get_by_test_id("chat-start").click()
    expect(patient_page.get_by_test_id("chat-form-error")).to_have_text("Díganos su nombre, por favor.")
    evil = "<img src=x onerror=alert(1)>"
    patient_page.get_by_test_id("chat-name").fill(evil)
    patient_page.get_by_test_id("chat-start").click()
    patient_page.get_by_test_id("chat-text").fill(f"{evil} hola")
    patient_page.get_by_test_id("chat-send").click()
    expect(_message(patient_page, f"{evil} hola").get_by_test_id("chat-message-status")).to_have_text("Enviado")

    sign_in(page, "ana")
    item = page.get_by_test_id("conversation-item").filter(has_text=evil)
    item.click()
    expect(page.get_by_test_id("patient-name")).to_have_text(evil)
    expect(event(page, f"{evil} hola")).to_have_count(1)
    expect(page.locator("img[src=x]")).to_have_count(0)
    expect(patient_page.locator("img[src=x]")).to_have_count(0)
    assert dialogs == []
    sofia = Staff(hub_server.base_url, "sofia")
    conv = next(c for c in sofia.get("/api/conversations").json()["conversations"] if c["patient_name"] == evil)
    assert sofia.get(f"/api/patients/{conv['patient_id']}").json()["preferred_language"] == "es"
    sofia.close()


PORTAL_SECRET = "sunrise-portal-secret"


@pytest.fixture
def mail_hub(tmp_path: Path) -> Iterator[tuple[HubServer, SmtpSink]]:
    with SmtpSink() as smtp:
        settings = hub_settings(tmp_path)
        settings = replace(
            settings,
            smtp=replace(
                settings.smtp, host="127.0.0.1", port=smtp.port, security="none", from_address="hi@sunrise.test"
            ),
            webchat=replace(settings.webchat, identity_secret=PORTAL_SECRET),
        )
        srv = HubServer(settings).start()
        yield srv, smtp
        srv.stop()


def test_a_patient_links_the_chat_to_their_records_with_a_code(browser: Browser, mail_hub) -> None:
    srv, smtp = mail_hub
    site = ClinicSite(srv.base_url)
    with (
        open_page(browser, srv.base_url, "link-patient") as patient,
        open_page(browser, srv.base_url, "link-agent") as page,
    ):
        patient.goto(site.url)
        patient.get_by_test_id("chat-launcher").click()
        patient.get_by_test_id("chat-name").fill("L. Tran")
        patient.get_by_test_id("chat-contact").fill("Linh.Tran@example.org")  # the demo's Linh Tran has this email
        patient.get_by_test_id("chat-start").click()
        expect(patient.get_by_test_id("chat-code-prompt")).to_contain_text("l•••@example.org")
        patient.get_by_test_id("chat-text").fill("Did you get my forms?")
        patient.get_by_test_id("chat-send").click()
        expect(_message(patient, "Did you get my forms?")).to_have_count(1)

        sign_in(page, "sofia")
        page.get_by_test_id("conversation-item").filter(has_text="L. Tran").click()
        expect(page.get_by_test_id("patient-contacts")).to_contain_text("identity not verified")

        (mail,) = smtp.wait_for(1)
        code = re.search(r"\b(\d{6})\b", mail.get_content()).group(1)
        patient.get_by_test_id("chat-code").fill("000000" if code != "000000" else "111111")
        patient.get_by_test_id("chat-verify-submit").click()
        expect(patient.get_by_test_id("chat-verify-error")).to_contain_text("Tries left: 4")
        patient.get_by_test_id("chat-code").fill(code)
        patient.get_by_test_id("chat-verify-submit").click()
        expect(patient.get_by_test_id("chat-verified")).to_be_visible()
        # The chat is now Linh Tran's: the agent's open conversation follows to her whole record.
        expect(page.get_by_test_id("patient-name")).to_have_text("Linh Tran")
        expect(event(page, "Could you send me the forms for new patients?")).to_have_count(1)  # her email
        expect(event(page, "Did you get my forms?")).to_have_count(1)
        expect(page.get_by_test_id("timeline-event").filter(has_text="proved linh.tran@example.org")).to_have_count(1)
        # The widget reloads its history and stays live.
        expect(_message(patient, "Did you get my forms?")).to_have_count(1)
        page.get_by_test_id("composer-text").fill("Yes, Linh, we have them.")
        page.get_by_test_id("composer-submit").click()
        expect(_message(patient, "Yes, Linh, we have them.")).to_have_count(1)
    site.close()


def test_a_portal_user_is_recognised_and_a_forged_one_is_not(browser: Browser, mail_hub) -> None:
    srv, _ = mail_hub
    good = ClinicSite(
        srv.base_url,
        f"data-user-id='sunrise:4471' data-user-signature='{portal_signature(PORTAL_SECRET, 'sunrise:4471')}'",
    )
    forged = ClinicSite(srv.base_url, "data-user-id='sunrise:4471' data-user-signature='00ff'")
    try:
        with open_page(browser, srv.base_url, "portal") as pg:
            pg.goto(good.url)
            pg.get_by_test_id("chat-launcher").click()
            expect(pg.get_by_test_id("chat-text")).to_be_visible()  # no form: the clinic vouched for them
            expect(pg.get_by_test_id("chat-link")).to_have_count(0)
            pg.get_by_test_id("chat-text").fill("Is my lab result in?")
            pg.get_by_test_id("chat-send").click()
            expect(_message(pg, "Is my lab result in?").get_by_test_id("chat-message-status")).to_have_text("Sent")
        with open_page(browser, srv.base_url, "forged") as pg:
            pg.goto(forged.url)
            pg.get_by_test_id("chat-launcher").click()
            expect(pg.get_by_test_id("chat-form-error")).to_contain_text("portal sign-in could not be confirmed")
            expect(pg.get_by_test_id("chat-name")).to_be_visible()  # they may still chat as a guest
    finally:
        good.close()
        forged.close()
    sofia = Staff(srv.base_url, "sofia")
    conv = next(
        c for c in sofia.get("/api/conversations").json()["conversations"] if c["preview"] == "Is my lab result in?"
    )
    contacts = sofia.get(f"/api/patients/{conv['patient_id']}").json()["contact_points"]
    assert [(c["kind"], c["address"], c["verified"]) for c in contacts] == [("portal", "sunrise:4471", True)]
    sofia.close()

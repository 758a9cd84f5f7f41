"""The live floor in a real browser: a new message moves its counts without a reload, a waiting
conversation taken from it by keyboard, an agent set Away from it (their own inbox says so at once);
in English at 1360 px and in Spanish at 390 px. CSAT: the stars in the web-chat widget, and the
survey page an email links to (English at 1360 px, Spanish at 390 px), by keyboard. Axe's WCAG
checks on each."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from hub.settings import CsatSettings
from tests.browser.pages import check_accessibility, open_page, send_inbound, sign_in
from tests.browser.test_webchat import ClinicSite, _start_chat
from tests.support.clients import Staff
from tests.support.mail import mail_settings, send_mail, simple_mail
from tests.support.server import HubServer
from tests.support.smtp_sink import SmtpSink

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


# --- CSAT: stars in the web-chat widget, and the email survey page --------------------------------

ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Madrid",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Honolulu",
)


def _daytime_zone() -> str:
    """A time zone where it is daytime now (the question is never asked at night)."""
    now = datetime.now(UTC)
    return next(z for z in ZONES if 9 <= now.astimezone(ZoneInfo(z)).hour < 20)


def _conversation_with(admin: Staff, channel: str, text: str) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for c in admin.get("/api/conversations").json()["conversations"]:
            events = admin.get(f"/api/patients/{c['patient_id']}/timeline").json()["events"]
            if c["channel"] == channel and any(e["text"] == text for e in events):
                return c
        time.sleep(0.2)
    raise AssertionError("no such conversation")


def _resolve_in_daytime(admin: Staff, conv: dict, **profile: str) -> None:
    r = admin.request("PATCH", f"/api/patients/{conv['patient_id']}", json={"time_zone": _daytime_zone(), **profile})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/conversations/{conv['id']}/status", json={"status": "resolved"})
    assert r.status_code in (200, 201), r.text


def _answers(admin: Staff, conv: dict) -> list[dict]:
    events = admin.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
    return [e["data"] for e in events if e["kind"] == "csat_answered"]


@pytest.mark.parametrize("hub_server_options", [{"csat": True}], indirect=True)
def test_webchat_stars_by_keyboard(browser: Browser, hub_server: HubServer):
    site = ClinicSite(hub_server.base_url)
    admin = Staff(hub_server.base_url, "admin")
    try:
        with open_page(browser, hub_server.base_url, "csat-widget") as patient:
            _start_chat(patient, site, "Lupe Ortiz")
            patient.get_by_test_id("chat-text").fill("Do you have evening hours?")
            patient.get_by_test_id("chat-send").click()
            conv = _conversation_with(admin, "webchat", "Do you have evening hours?")
            _resolve_in_daytime(admin, conv)

            form = patient.get_by_test_id("csat-form")
            expect(form).to_be_visible()
            expect(form).to_contain_text("How did we do?")
            check_accessibility(patient, "the widget's stars")
            patient.get_by_test_id("csat-send").focus()
            patient.keyboard.press("Enter")  # nothing chosen yet: told, and taken to the stars
            expect(form.get_by_role("alert")).to_have_text("Choose 1 to 5 stars first.")
            expect(patient.get_by_test_id("csat-star-1")).to_be_focused()
            for _ in range(3):
                patient.keyboard.press("ArrowRight")  # radio buttons: the arrows move and choose
            expect(patient.get_by_test_id("csat-star-4")).to_be_checked()
            patient.get_by_test_id("csat-comment").fill("Quick answer, thanks")
            patient.get_by_test_id("csat-send").focus()
            patient.keyboard.press("Enter")
            expect(patient.get_by_test_id("csat-thanks")).to_have_text("Thank you for your rating.")
            assert _answers(admin, conv) == [
                {
                    "score": 4,
                    "comment": "Quick answer, thanks",
                    "channel": "webchat",
                    "asked_seq": _answers_seq(admin, conv),
                }
            ]
    finally:
        admin.close()
        site.close()


def _answers_seq(admin: Staff, conv: dict) -> int:
    events = admin.get(f"/api/patients/{conv['patient_id']}/timeline").json()["events"]
    return next(e["seq"] for e in events if e["kind"] == "csat_asked")


@pytest.mark.parametrize(("language", "width"), [("en", 1360), ("es", 390)])
def test_the_email_survey_page(browser: Browser, tmp_path, language: str, width: int):
    with SmtpSink() as sink:
        settings = mail_settings(tmp_path, sink.port)
        srv = HubServer(replace(settings, csat=CsatSettings(enabled=True))).start()
        admin = Staff(srv.base_url, "admin")
        try:
            text = f"Please send me the forms ({language})."
            sender = f"survey.{language}@example.org"
            assert (
                send_mail(
                    srv.settings.email.listen_port, simple_mail(sender, text, f"page-{language}@x.org"), sender
                ).code
                == 250
            )
            conv = _conversation_with(admin, "email", text)
            _resolve_in_daytime(admin, conv, preferred_language=language)
            (mail,) = sink.wait_for(1)
            body = mail.get_body(("plain",)).get_content()
            link = next(w for w in body.split() if "/survey.html?t=" in w)
            with open_page(browser, srv.base_url, f"csat-page-{language}") as page:
                page.set_viewport_size({"width": width, "height": 844})
                page.goto(link)
                title = {"en": "How did we do?", "es": "¿Cómo le atendimos?"}[language]
                expect(page.get_by_role("heading", name=title)).to_be_visible()
                expect(page.locator("html")).to_have_attribute("lang", language)
                check_accessibility(page, f"the survey page ({language}, {width} px)")
                page.get_by_test_id("survey-score-1").focus()
                for _ in range(4):
                    page.keyboard.press("ArrowRight")
                expect(page.get_by_test_id("survey-score-5")).to_be_checked()
                page.keyboard.press("Tab")
                page.keyboard.type("Muy bien" if language == "es" else "Very good")
                page.keyboard.press("Tab")
                page.keyboard.press("Enter")
                thanks = {"en": "Thank you!", "es": "¡Gracias!"}[language]
                expect(page.get_by_test_id("survey-thanks")).to_contain_text(thanks)
                check_accessibility(page, "the survey page, answered")
                page.reload()
                expect(page.get_by_test_id("survey-answered")).to_be_visible()
            assert [a["score"] for a in _answers(admin, conv)] == [5]
        finally:
            admin.close()
            srv.stop()

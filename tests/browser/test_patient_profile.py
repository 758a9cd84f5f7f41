"""A patient's page in real browsers (issue 17): a supervisor edits the record, tries to add an address
that is another patient's, merges the two after a side-by-side preview (by keyboard) and undoes it;
an agent at 390 px in Spanish sees the date of birth masked and writes first to a patient from a
template, and is told in Spanish why another patient cannot be written to now. WCAG checks on each
new screen."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.pages import check_accessibility, open_page, send_inbound, sign_in
from tests.patients.test_start_conversation import DAY, NIGHT
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


def _two_records(hub: HubServer) -> tuple[dict, dict]:
    with httpx.Client(base_url=hub.base_url, timeout=10) as http:
        phone = send_inbound(http, "Hola, ¿mi cita?", "m-pp-1", "+16505550161", channel="sms", name="Rosa Díaz")
        mail = send_inbound(http, "About my bill", "m-pp-2", "rosa.d@example.org", kind="email", name="Rosa D")
    return phone, mail


def test_a_supervisor_edits_merges_with_a_preview_and_undoes_it(browser: Browser, hub_server: HubServer) -> None:
    phone, mail = _two_records(hub_server)
    with open_page(browser, hub_server.base_url, "profile-supervisor") as page:
        sign_in(page, "sofia")
        # From the conversation's patient card to the patient's page.
        page.goto(f"/#/c/{phone['conversation_id']}")
        page.get_by_test_id("patient-profile-link").click()
        expect(page).to_have_url(re.compile(rf"#/patients/{phone['patient_id']}$"))
        expect(page.get_by_role("heading", name="Rosa Díaz", level=1)).to_be_visible()
        check_accessibility(page, "patient page")

        page.get_by_test_id("edit-name").fill("Rosa María Díaz")
        page.get_by_test_id("edit-dob").fill("1984-03-09")
        page.get_by_test_id("edit-timezone").fill("America/Chicago")
        page.get_by_test_id("save-profile").click()
        expect(page.get_by_test_id("profile-notice")).to_have_text("Saved.")
        expect(page.get_by_role("heading", name="Rosa María Díaz", level=1)).to_be_visible()
        expect(page.get_by_test_id("profile-timezone")).to_have_text("America/Chicago")
        expect(page.get_by_test_id("profile-dob")).not_to_contain_text("hidden")

        # The other record's email: refused, with a way to merge the two.
        page.get_by_test_id("contact-kind").select_option("email")
        page.get_by_test_id("contact-address").fill("Rosa.D@example.org")
        page.get_by_test_id("add-contact").click()
        expect(page.get_by_test_id("profile-error")).to_contain_text(
            f"This email address belongs to another patient ({mail['patient_id']})"
        )
        page.get_by_test_id("merge-owner").click()
        table = page.get_by_test_id("merge-table")
        expect(table).to_contain_text("rosa.d@example.org")
        expect(table.get_by_role("row", name=re.compile("^Name"))).to_contain_text("Rosa María Díaz")
        check_accessibility(page, "merge preview")
        expect(page.get_by_test_id("merge-confirm")).to_be_focused()
        page.keyboard.press("Enter")  # by keyboard
        expect(page.get_by_test_id("profile-notice")).to_have_text(
            f"Patient {mail['patient_id']} was merged into {phone['patient_id']}."
        )
        expect(page.get_by_test_id("profile-conversation")).to_have_count(2)
        expect(page.get_by_test_id("profile-contact").filter(has_text="rosa.d@example.org")).to_have_count(1)
        expect(page.get_by_test_id("merge-history-item")).to_contain_text("by Sofía")

        page.get_by_test_id("undo-merge").click()
        expect(page.get_by_test_id("profile-notice")).to_contain_text("every row is back where it was")
        expect(page.get_by_test_id("profile-conversation")).to_have_count(1)
        expect(page.get_by_test_id("profile-contact").filter(has_text="rosa.d@example.org")).to_have_count(0)
        expect(page.get_by_test_id("undo-merge")).to_have_count(0)
        check_accessibility(page, "after the unmerge")

        # The merge found by a search box, too (the directory), and previewed.
        page.get_by_test_id("merge-search").fill("rosa.d@example.org")
        page.get_by_test_id("merge-find").click()
        page.get_by_test_id("merge-pick").click()
        expect(page.get_by_test_id("merge-table")).to_contain_text("rosa.d@example.org")
        page.get_by_test_id("merge-cancel").click()
        expect(page.get_by_test_id("merge-table")).to_have_count(0)


def test_an_agent_in_spanish_at_390_px_writes_first(browser: Browser, hub_server: HubServer) -> None:
    phone, mail = _two_records(hub_server)
    sofia = Staff(hub_server.base_url, "sofia")
    for p, zone in ((phone, DAY), (mail, NIGHT)):
        assert (
            sofia.post(f"/api/conversations/{p['conversation_id']}/status", json={"status": "resolved"}).status_code
            == 201
        )
        r = sofia.request(
            "PATCH", f"/api/patients/{p['patient_id']}", json={"time_zone": zone, "date_of_birth": "1990-02-03"}
        )
        assert r.status_code == 200, r.text
    sofia.close()
    with open_page(browser, hub_server.base_url, "profile-agent", locale="es-MX") as page:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, "ana")
        page.goto(f"/#/patients/{phone['patient_id']}")
        expect(page.get_by_test_id("profile-dob")).to_have_text(
            "Registrada (oculta hasta que se verifique al paciente)"
        )
        expect(page.get_by_test_id("edit-name")).to_have_count(0)  # agents do not change who the patient is
        expect(page.get_by_test_id("add-mrn")).to_have_count(0)
        check_accessibility(page, "patient page, agent, Spanish, 390 px")

        page.get_by_test_id("start-channel").select_option("sms")
        page.get_by_test_id("start-template").select_option("greeting")
        expect(page.get_by_test_id("start-text")).to_have_value(re.compile("Rosa"))
        page.get_by_test_id("start-send").click()
        expect(page).to_have_url(re.compile(r"#/c/\d+$"))
        expect(page.get_by_test_id("conversation-assignee")).to_be_visible()
        expect(page.get_by_test_id("timeline-event").last).to_contain_text("Rosa")

        # Night where the other patient lives: refused, in Spanish, and nothing sent.
        page.goto(f"/#/patients/{mail['patient_id']}")
        page.get_by_test_id("start-channel").select_option("email")
        page.get_by_test_id("start-text").fill("Hola")
        page.get_by_test_id("start-text").press("Tab")
        page.keyboard.press("Enter")  # the send button, by keyboard
        expect(page.get_by_test_id("profile-error")).to_contain_text("para el paciente")
        check_accessibility(page, "refusal, Spanish, 390 px")

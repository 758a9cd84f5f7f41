"""A clinic sets itself up in real browsers (issue 16): an admin made by `puente create-admin` signs
in and turns MFA on, adds a team with hours and an agent; the agent is led through MFA at sign-in and
changes their password; break-glass with a reason alerts a supervisor (in Spanish); the agent is
deactivated mid-session and their socket closes; the audit viewer shows each step. WCAG checks on
every new screen, at 1360 and 390 px wide."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, open_page
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.server import HubServer, hub_settings

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent.parent
ADMIN_PASSWORD = "tall-gray-heron-42"


@pytest.fixture
def fresh_hub(tmp_path: Path) -> Iterator[HubServer]:
    """No demo clinic: nobody and nothing until the command makes the first admin."""
    settings = hub_settings(tmp_path, demo=False)
    made = subprocess.run(
        [sys.executable, "-m", "hub", "create-admin", "--login", "alex", "--name", "Alex Rivera"],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PUENTE_DATA_DIR": str(tmp_path), "PUENTE_DATABASE_URL": settings.database.url},
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    srv = HubServer(settings).start()
    yield srv
    srv.stop()


def _code(page: Page, ahead: int = 0) -> str:
    secret = page.get_by_test_id("enrol-secret").inner_text()
    return pyotp.TOTP(secret).at(__import__("time").time() + 30 * ahead)


def _sign_in(page: Page, login: str, password: str) -> None:
    page.goto("/")
    page.get_by_test_id("login-input").fill(login)
    page.get_by_test_id("password-input").fill(password)
    page.get_by_test_id("password-input").press("Enter")  # by keyboard


def _live(page: Page) -> None:
    expect(page.get_by_test_id("current-user")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "live")


def test_a_clinic_sets_itself_up(browser: Browser, fresh_hub: HubServer) -> None:
    hub = fresh_hub
    with (
        open_page(browser, hub.base_url, "setup-admin") as admin,
        open_page(browser, hub.base_url, "setup-agent") as agent,
        open_page(browser, hub.base_url, "setup-supervisor", locale="es-MX") as supervisor,
    ):
        # The admin the command made signs in and turns MFA on.
        _sign_in(admin, "alex", ADMIN_PASSWORD)
        _live(admin)
        admin.get_by_test_id("nav-account").click()
        expect(admin.get_by_test_id("mfa-state")).to_have_text("Off.")
        admin.get_by_test_id("mfa-start").click()
        expect(admin.get_by_test_id("enrol-qr")).to_be_visible()
        check_accessibility(admin, "account, setting up MFA")
        admin.get_by_test_id("enrol-code").fill("000000")
        admin.get_by_test_id("enrol-submit").click()
        expect(admin.get_by_test_id("enrol-error")).to_contain_text("Wrong code")
        admin.get_by_test_id("enrol-code").fill(_code(admin))
        admin.get_by_test_id("enrol-code").press("Enter")
        expect(admin.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        expect(admin.get_by_test_id("account-notice")).to_have_text("Two-factor sign-in is on.")

        # A team with hours.
        admin.get_by_test_id("nav-teams").click()
        expect(admin).to_have_url(re.compile(r"#/teams$"))
        admin.get_by_test_id("team-name").fill("Front desk")
        admin.get_by_test_id("team-name-es").fill("Recepción")
        admin.get_by_test_id("team-create").click()
        expect(admin.get_by_test_id("teams-notice")).to_have_text("The team Front desk was added.")
        front = admin.locator('[data-testid="team-row"][data-key="front_desk"]')
        front.get_by_test_id("hours-mon-from").fill("08:00")
        front.get_by_test_id("hours-mon-to").fill("17:00")
        front.get_by_test_id("hours-save").click()
        expect(admin.get_by_test_id("teams-notice")).to_have_text("The hours of Front desk were saved.")
        check_accessibility(admin, "teams")

        # An agent in that team, and every agent must use MFA; a supervisor and a second team (by API).
        admin.get_by_test_id("nav-staff").click()
        admin.get_by_test_id("mfa-required-agent").check()
        expect(admin.get_by_test_id("staff-notice")).to_contain_text("Saved")
        admin.get_by_test_id("new-login").fill("carla")
        admin.get_by_test_id("new-name").fill("Carla Ruiz")
        admin.get_by_test_id("new-password").fill("password1234")
        admin.get_by_label("Front desk").check()
        admin.get_by_test_id("new-staff-submit").click()
        expect(admin.get_by_test_id("new-staff-error")).to_contain_text("most common")  # refused, said clearly
        admin.get_by_test_id("new-password").fill("carla-first-pass-1")
        admin.get_by_test_id("new-staff-submit").click()
        expect(admin.get_by_test_id("staff-notice")).to_have_text("Carla Ruiz was added.")
        expect(admin.locator('[data-testid="staff-row"][data-login="carla"]')).to_contain_text("Front desk")
        check_accessibility(admin, "staff")
        api_admin = _api_admin(hub, admin)
        billing = api_admin.post("/api/teams", json={"name": "Billing", "name_es": "Facturación"}).json()
        r = api_admin.post("/api/agents", json={"login": "sofia", "display_name": "Sofía Supervisor",
                                                "password": "sofia-first-pass-1", "role": "supervisor"})  # fmt: skip
        assert r.status_code == 201, r.text

        # The agent signs in: led through MFA enrolment, then changes their password, at 390 px.
        agent.set_viewport_size({"width": 390, "height": 844})
        _sign_in(agent, "carla", "carla-first-pass-1")
        expect(agent.get_by_test_id("enrol-card")).to_be_visible()
        check_accessibility(agent, "MFA enrolment at sign-in (390 px)")
        agent.get_by_test_id("enrol-code").fill(_code(agent))
        agent.get_by_test_id("enrol-submit").click()
        expect(agent.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        agent.get_by_test_id("enrol-continue").click()
        _live(agent)
        agent.get_by_test_id("nav-account").click()
        agent.get_by_test_id("current-password").fill("carla-first-pass-1")
        agent.get_by_test_id("new-password").fill("carla")
        agent.get_by_test_id("password-submit").click()
        expect(agent.get_by_test_id("password-error")).to_contain_text("at least 12 characters")
        agent.get_by_test_id("new-password").fill("carla-second-pass-2")
        agent.get_by_test_id("password-submit").click()
        expect(agent.get_by_test_id("account-notice")).to_contain_text("Your password was changed.")
        check_accessibility(agent, "account (390 px)")

        # A patient of the billing team writes; Carla (front desk) cannot see them, and breaks the glass.
        body = inbound("Question about my bill", "setup-bg-1", address="+16505550134")
        body["from"]["name"] = "María González"
        msg = post_inbound(httpx.Client(base_url=hub.base_url), body)
        assert msg.status_code == 201, msg.text
        conversation = msg.json()["conversation_id"]
        assert api_admin.post(f"/api/conversations/{conversation}/transfer", json={"team_id": billing["id"]}).is_success
        _sign_in(supervisor, "sofia", "sofia-first-pass-1")
        _live(supervisor)
        agent.get_by_test_id("nav-break-glass").click()
        agent.get_by_test_id("bg-patient").fill("(650) 555-0134")
        agent.get_by_test_id("bg-reason").fill("short")
        agent.get_by_test_id("bg-submit").click()
        expect(agent.get_by_test_id("bg-error")).to_be_visible()  # the reason is too short: refused
        agent.get_by_test_id("bg-reason").fill("Patient on the phone, asking what she wrote to billing")
        agent.get_by_test_id("bg-submit").click()
        expect(agent.get_by_test_id("bg-banner")).to_contain_text("Break-glass access to María González")
        expect(agent.get_by_test_id("bg-event")).to_contain_text(["Question about my bill"])
        check_accessibility(agent, "break-glass record (390 px)")
        alert = supervisor.get_by_test_id("break-glass-alert")
        expect(alert).to_contain_text("Carla Ruiz abrió el expediente de María González")
        expect(alert).to_contain_text("asking what she wrote to billing")
        check_accessibility(supervisor, "supervisor's break-glass alert (es)")

        # Deactivated mid-session: her socket closes and the page goes back to sign-in.
        admin.get_by_test_id("nav-staff").click()
        carla = admin.locator('[data-testid="staff-row"][data-login="carla"]')
        carla.get_by_test_id("staff-edit").click()
        carla.get_by_test_id("deactivate").click()
        expect(admin.get_by_test_id("staff-notice")).to_contain_text("Carla Ruiz was deactivated")
        expect(agent.get_by_test_id("login-form")).to_be_visible()
        expect(agent.get_by_test_id("login-notice")).to_have_text("Your session has expired. Please sign in again.")

        # The audit viewer shows each of these.
        admin.get_by_test_id("nav-audit").click()
        expect(admin.get_by_test_id("audit-row").first).to_be_visible()
        actions = set(admin.get_by_test_id("audit-row").evaluate_all("rows => rows.map(r => r.dataset.action)"))
        assert {
            "auth.mfa_enrol", "team.create", "team.hours", "auth.role_policy", "agent.create",
            "auth.password_change", "patient.break_glass", "agent.deactivate",
        } <= actions, actions  # fmt: skip
        admin.get_by_test_id("audit-action").fill("patient.break_glass")
        admin.get_by_test_id("audit-action").press("Enter")
        expect(admin.get_by_test_id("audit-row")).to_have_count(1)
        expect(admin.get_by_test_id("audit-row")).to_contain_text("asking what she wrote to billing")
        check_accessibility(admin, "audit viewer")
        href = admin.get_by_test_id("audit-export").get_attribute("href") or ""
        assert href.startswith("/api/audit/export.csv?") and "action=patient.break_glass" in href


def _api_admin(hub: HubServer, page: Page) -> Staff:
    """The admin's own browser session, for the set-up steps this test does not click through."""
    api = Staff(hub.base_url)
    for cookie in page.context.cookies():
        api.http.cookies.set(cookie["name"], cookie["value"], domain="127.0.0.1")
    return api

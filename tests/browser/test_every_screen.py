"""Every screen of the inbox, in English and Spanish, at 1360 px and at 390 px (a phone): nothing
scrolls sideways, the top bar and "Sign out" stay on screen, and axe-core finds no WCAG A/AA
violation. An administrator sees every screen there is."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, open_page, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


def _ids(hub: HubServer) -> tuple[int, int]:
    admin = Staff(hub.base_url, "admin")
    try:
        convs = admin.get("/api/conversations").json()["conversations"]
        maria = next(c for c in convs if c["patient_name"] == "María González")
        return maria["id"], maria["patient_id"]
    finally:
        admin.close()


def _check(page: Page, where: str, width: int) -> None:
    page.wait_for_timeout(100)  # let a screen's last frame settle before measuring it
    overflow = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
        " .concat([...document.querySelectorAll('body *')]"
        " .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1"
        "   && getComputedStyle(el).position !== 'fixed' && el.getClientRects().length"
        "   && !el.closest('[hidden], .sr-only, .timeline-scroll, .conv-list, .tpl-list, pre, table'))"
        " .slice(0, 3).map((el) => el.tagName + '.' + el.className))"
    )
    assert overflow[0] <= overflow[1], f"{where}: the page scrolls sideways: {overflow}"
    sign_out = page.get_by_test_id("sign-out")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{where}: Sign out off screen {box}"
    check_accessibility(page, where)


@pytest.mark.parametrize(
    ("locale", "width"), [("en-US", 1360), ("en-US", 390), ("es-MX", 1360), ("es-MX", 390)], ids=str
)
def test_every_screen(browser: Browser, hub_server: HubServer, locale: str, width: int) -> None:
    conversation, patient = _ids(hub_server)
    with open_page(browser, hub_server.base_url, f"every-screen-{locale}-{width}", locale=locale) as page:
        page.set_viewport_size({"width": width, "height": 844 if width < 500 else 820})
        sign_in(page, "admin")
        lang = locale[:2]
        assert page.evaluate("() => document.documentElement.lang") == lang
        screens = [
            ("inbox list", "#/", "conversation-item"),
            ("conversation", f"#/c/{conversation}", "patient-name"),
            ("templates", "#/templates", "template-list"),
            ("red flags", "#/red-flags", "red-flag-list"),
            ("staff", "#/staff", "staff-row"),
            ("teams", "#/teams", "team-row"),
            ("audit", "#/audit", "audit-row"),
            ("account", "#/account", "account-page"),
            ("break-glass", "#/break-glass", "break-glass-page"),
            ("patients", "#/patients", "directory-page"),
            ("patient", f"#/patients/{patient}", "patient-page"),
            ("CSV import", "#/import", "import-page"),
            ("EHR link", "#/ehr", "ehr-page"),
            ("search", "#/search?q=cita", "search-hit"),
            ("live floor", "#/floor", "floor-agent"),
            ("reports", "#/reports", "reports-cards"),
        ]
        for name, hash_, ready in screens:
            page.goto(f"/{hash_}")
            expect(page.get_by_test_id(ready).first).to_be_visible()
            _check(page, f"{name} ({locale}, {width} px)", width)
            if name == "conversation":  # the composer: a note, and the template picker open
                page.get_by_test_id("composer-mode-note").click()
                page.get_by_test_id("composer-mode-reply").click()
                page.get_by_test_id("composer-template").click()
                expect(page.get_by_test_id("template-option").first).to_be_visible()
                _check(page, f"composer with the template picker ({locale}, {width} px)", width)
                page.get_by_test_id("composer-template").click()

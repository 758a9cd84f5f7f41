"""The reports screen in a real browser: the cards with their definitions as tooltips (by keyboard
too), a figure's conversations, the charts with their tables, CSV export of a table; in English at
1360 px and in Spanish at 390 px, with axe's WCAG checks."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, open_page, send_inbound, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


@pytest.fixture
def traffic(hub_server: HubServer) -> list[int]:
    """Three conversations opened today: one answered by Ana and resolved, two unanswered."""
    ids = []
    with httpx.Client(base_url=hub_server.base_url, timeout=10) as integration:
        for n in range(3):
            ids.append(
                send_inbound(integration, f"Report question {n}", f"rep-{n}", f"+1650555070{n}")["conversation_id"]
            )
    ana = Staff(hub_server.base_url, "ana")
    r = ana.post(f"/api/conversations/{ids[0]}/assign", json={"agent_id": ana.me["id"]})
    assert r.status_code == 201, r.text
    assert ana.post(f"/api/conversations/{ids[0]}/messages", json={"text": "Hello from Ana"}).status_code == 201
    assert ana.post(f"/api/conversations/{ids[0]}/status", json={"status": "resolved"}).status_code == 201
    ana.close()
    return ids


def _counted(hub_server: HubServer, kpi: str) -> int:
    sofia = Staff(hub_server.base_url, "sofia")
    try:
        return sofia.get("/api/reports/kpis").json()["totals"][kpi]
    finally:
        sofia.close()


def _open_reports(page: Page) -> None:
    page.get_by_test_id("nav-reports").click()
    expect(page.get_by_test_id("reports")).to_be_visible()
    expect(page.get_by_test_id("reports-status")).not_to_have_text("")


def test_reports_cards_charts_and_csv(browser: Browser, hub_server: HubServer, traffic: list[int]) -> None:
    expected = _counted(hub_server, "conversations")
    assert expected >= 3
    with open_page(browser, hub_server.base_url, "reports-en") as page:
        sign_in(page, "sofia")
        _open_reports(page)
        expect(page.get_by_test_id("kpi-value-conversations")).to_have_text(str(expected))
        # The definition: the same sentence as docs/kpis.md, shown on keyboard focus.
        label = page.get_by_test_id("kpi-first_response_business_s_median").locator(".kpi-label")
        definition = page.get_by_test_id("kpi-first_response_business_s_median").locator(".kpi-def")
        expect(definition).to_be_hidden()
        label.focus()
        expect(definition).to_be_visible()
        expect(definition).to_contain_text("The assistant's messages never count")
        assert label.get_attribute("aria-describedby") == definition.get_attribute("id")
        # Charts: an image each, labelled, with its numbers as a table.
        for chart in ("chart-trend", "chart-frt", "chart-heat"):
            svg = page.get_by_test_id(chart).locator("svg")
            expect(svg).to_have_attribute("role", "img")
            assert svg.get_attribute("aria-label")
        page.get_by_test_id("chart-trend").locator("summary").click()
        trend_rows = page.get_by_test_id("chart-trend").locator("table tbody tr")
        expect(trend_rows).to_have_count(1)  # today: the one day with any conversation
        # The conversations behind a figure, by keyboard.
        page.get_by_test_id("kpi-drill-first_response_business_s_median").focus()
        page.keyboard.press("Enter")
        links = page.get_by_test_id("reports-drill-list").locator("a")
        expect(links).to_have_count(_counted(hub_server, "first_responses"))
        expect(page.get_by_test_id("reports-drill-list")).to_contain_text(f"Conversation {traffic[0]}")
        # A table as CSV: the rows by day, then the total, equal to the card.
        with page.expect_download() as download:
            page.get_by_test_id("reports-csv-rows").click()
        text = open(download.value.path(), encoding="utf-8").read()
        lines = text.strip().splitlines()
        head = lines[0].split(",")
        assert head[0] == "period" and lines[-1].startswith("total,")
        assert lines[-1].split(",")[head.index("conversations")] == str(expected)
        assert sum(int(x.split(",")[head.index("conversations")]) for x in lines[1:-1]) == expected
        expect(page.get_by_test_id("reports-table-handoff_reasons")).to_be_visible()
        expect(page.get_by_test_id("reports-csv-handoff_reasons")).to_be_visible()
        check_accessibility(page, "reports")


def test_reports_in_spanish_on_a_phone(browser: Browser, hub_server: HubServer, traffic: list[int]) -> None:
    with open_page(browser, hub_server.base_url, "reports-es", locale="es-ES") as page:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, "sofia")
        page.goto("/#/reports")
        expect(page.get_by_test_id("reports")).to_be_visible()
        expect(page.locator(".admin-title")).to_have_text("Informes")
        expect(page.get_by_test_id("reports-status")).to_contain_text("Del ")
        page.get_by_test_id("reports-period").select_option("week")
        page.get_by_test_id("reports-apply").click()
        expect(page.get_by_test_id("chart-heat").locator("svg")).to_have_attribute("role", "img")
        label = page.get_by_test_id("kpi-abandonment_rate").locator(".kpi-label")
        expect(label).to_have_text("Abandono")
        label.focus()
        expect(page.get_by_test_id("kpi-abandonment_rate").locator(".kpi-def")).to_contain_text("chat web")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width  # nothing wider than the phone: tables scroll in their own region
        check_accessibility(page, "reports (es, 390 px)")

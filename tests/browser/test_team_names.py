"""Team names in the reader's language: a team's Spanish name (name_es) in a Spanish inbox, in the
list's team filter, the transfer menu and the timeline's transfer line (which kept the English
name when it was written); English for an English inbox, and the English name where a team has no
Spanish one."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, open_page, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser


def _options(page: Page, testid: str) -> list[str]:
    """The select's options, once it has more than one (the teams are read from the hub)."""
    expect(page.get_by_test_id(testid).locator("option").nth(1)).to_be_attached()
    return page.get_by_test_id(testid).locator("option").all_inner_texts()


def test_team_names_follow_the_readers_language(browser: Browser, hub_server: HubServer) -> None:
    admin, sofia = Staff(hub_server.base_url, "admin"), Staff(hub_server.base_url, "sofia")
    teams = {t["key"]: t for t in admin.get("/api/teams").json()}
    for key, spanish in (("scheduling", "Citas"), ("billing", "Facturación")):
        r = admin.request("PATCH", f"/api/teams/{teams[key]['id']}", json={"name_es": spanish})
        assert r.status_code == 200, r.text
    convs = sofia.get("/api/conversations").json()["conversations"]
    maria = next(c["id"] for c in convs if c["patient_name"] == "María González")
    r = sofia.post(f"/api/conversations/{maria}/transfer", json={"team_id": teams["billing"]["id"]})
    assert r.status_code in (200, 201), r.text
    admin.close()
    sofia.close()

    with (
        open_page(browser, hub_server.base_url, "teams-es", locale="es-MX") as es,
        open_page(browser, hub_server.base_url, "teams-en") as en,
    ):
        sign_in(es, "sofia")
        sign_in(en, "sofia")
        es.get_by_test_id("filters-toggle").click()
        filters = _options(es, "filter-by-team")
        assert "Citas" in filters and "Facturación" in filters and "Clinical" in filters, filters
        assert "Scheduling" not in filters and "Billing" not in filters
        en.get_by_test_id("filters-toggle").click()
        filters = _options(en, "filter-by-team")
        assert "Scheduling" in filters and "Billing" in filters and "Citas" not in filters, filters

        es.goto(f"/#/c/{maria}")
        line = es.get_by_test_id("timeline-event").filter(has_text="Facturación")
        expect(line).to_have_count(1)
        expect(es.get_by_test_id("timeline-event").filter(has_text="Billing")).to_have_count(0)
        es.get_by_test_id("transfer").click()
        menu = _options(es, "transfer-team")
        assert "Citas" in menu and "Facturación" in menu and "Billing" not in menu, menu
        check_accessibility(es, "Spanish team names in a conversation")

        en.goto(f"/#/c/{maria}")
        transferred = en.get_by_test_id("timeline-event").filter(has_text="transferred the conversation to Billing")
        expect(transferred).to_have_count(1)

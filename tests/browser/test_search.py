"""The search screen in a real browser: "/" opens it, typing searches (accents and case folded, the
last word as its start), results grouped with the words marked in the text as written, the arrow
keys and Enter land on the event in the timeline (loaded back page by page when it is old), patients
by name; in English and in Spanish, at 1360 and 390 px, with axe's WCAG checks."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import check_accessibility, open_page, send_inbound, sign_in
from tests.support.clients import Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser

ASKED = "¿Puedo cambiar mi CITA del miércoles? Llego mañana temprano"
MARKUP = "Mi hijo escribió <b>mañana</b> <img src=x onerror=alert(1)> en el formulario"


@pytest.fixture
def story(hub_server: HubServer) -> dict:
    """Lucía Peña asks to move her appointment, then writes 60 more messages (so the question is
    older than the timeline's first page); a colleague leaves a note on it."""
    with httpx.Client(base_url=hub_server.base_url, timeout=10) as integration:
        asked = send_inbound(integration, ASKED, "srch-0", "+16505550161", name="Lucía Peña")
        markup = send_inbound(integration, MARKUP, "srch-1", "+16505550161")
        for n in range(60):
            send_inbound(integration, f"Otro mensaje número {n}", f"srch-f{n}", "+16505550161")
    admin = Staff(hub_server.base_url, "admin")
    note = admin.post(
        f"/api/conversations/{asked['conversation_id']}/notes", json={"text": "Llamar mañana por la cita"}
    )
    assert note.status_code == 201, note.text
    admin.close()
    return {"asked": asked, "markup": markup}


def _search(page: Page, text: str) -> None:
    page.keyboard.press("/")  # from anywhere that is not a text field
    box = page.get_by_test_id("search-box")
    expect(box).to_be_focused()
    box.fill("")
    box.press_sequentially(text, delay=20)


def _marks(page: Page, hit) -> list[str]:
    return hit.get_by_test_id("search-mark").all_inner_texts()


def test_search_finds_marks_and_lands_on_the_event(browser: Browser, hub_server: HubServer, story: dict) -> None:
    with open_page(browser, hub_server.base_url, "search-en") as page:
        sign_in(page, "sofia")
        _search(page, "manana CIT")  # no accents, any case, the last word as typed so far
        expect(page).to_have_url(f"{hub_server.base_url}/#/search?q=manana%20CIT")
        messages = page.get_by_test_id("search-group-messages")
        hit = messages.locator(f'[data-testid="search-hit"][data-seq="{story["asked"]["seq"]}"]')
        expect(hit).to_be_visible()
        assert _marks(page, hit) == ["CITA", "mañana"]  # the words as written, accents and all
        assert hit.get_by_test_id("search-snippet").inner_text().endswith(ASKED)
        notes = page.get_by_test_id("search-group-notes")
        expect(notes.get_by_test_id("search-hit")).to_have_count(1)
        assert _marks(page, notes.get_by_test_id("search-hit")) == ["mañana", "cita"]
        expect(page.get_by_test_id("search-group-messages").get_by_test_id("search-hit")).to_have_count(1)
        expect(page.get_by_test_id("search-status")).to_have_text(
            "2 results. Use the arrow keys to move between results."
        )
        check_accessibility(page, "search results")

        # Patient text is text: the markup in a message is shown, never run.
        page.get_by_test_id("search-box").fill("formulario")
        markup = page.locator(f'[data-testid="search-hit"][data-seq="{story["markup"]["seq"]}"]')
        expect(markup).to_contain_text("<b>mañana</b> <img src=x onerror=alert(1)>")
        expect(markup.locator("b, img")).to_have_count(0)

        # A page of 50, then the next.
        page.get_by_test_id("search-box").fill("otro NUMERO")
        expect(page.get_by_test_id("search-hit")).to_have_count(50)
        page.get_by_test_id("search-more").click()
        expect(page.get_by_test_id("search-hit")).to_have_count(60)
        expect(page.get_by_test_id("search-more")).to_have_count(0)
        expect(page.get_by_test_id("search-group-messages")).to_contain_text("Messages (60)")

        # By keyboard: down from the box to the result, Enter, and the timeline shows the event.
        box = page.get_by_test_id("search-box")
        box.fill("mañana cita")
        expect(page.get_by_test_id("search-hit")).to_have_count(2)  # the message and the note
        hit = page.get_by_test_id("search-group-messages").get_by_test_id("search-hit")
        expect(hit).to_have_attribute("data-seq", str(story["asked"]["seq"]))
        box.press("ArrowDown")
        expect(hit).to_be_focused()
        page.keyboard.press("ArrowDown")  # on to the note
        expect(page.get_by_test_id("search-group-notes").get_by_test_id("search-hit")).to_be_focused()
        page.keyboard.press("ArrowUp")
        expect(hit).to_be_focused()
        page.keyboard.press("Enter")
        asked = story["asked"]
        expect(page).to_have_url(f"{hub_server.base_url}/#/c/{asked['conversation_id']}/at/{asked['seq']}")
        found = page.locator(f'[data-testid="timeline-event"][data-seq="{asked["seq"]}"]')
        expect(found).to_have_attribute("data-found", "true")  # loaded back past the first page
        expect(found).to_be_focused()
        expect(found).to_be_in_viewport()
        expect(found.get_by_test_id("event-text")).to_have_text(ASKED)

        # Back to the search: it is still there.
        page.go_back()
        expect(page.get_by_test_id("search-box")).to_have_value("mañana cita")
        expect(page.get_by_test_id("search-group-messages").get_by_test_id("search-hit")).to_have_count(1)


def test_search_in_spanish_at_390_px(browser: Browser, hub_server: HubServer, story: dict) -> None:
    with open_page(browser, hub_server.base_url, "search-es", locale="es-MX") as page:
        page.set_viewport_size({"width": 390, "height": 800})
        sign_in(page, "ana")  # an agent: the patient's conversation has no team yet, so in her reach
        expect(page.get_by_test_id("nav-search")).to_have_text("Buscar")
        _search(page, "LUCIA")
        expect(page.get_by_role("heading", name="Buscar", exact=True)).to_be_visible()
        patient = page.get_by_test_id("search-patient")
        expect(patient).to_have_count(1)
        assert patient.get_by_test_id("search-mark").all_inner_texts() == ["Lucía"]
        expect(page.get_by_test_id("search-group-patients")).to_contain_text("Pacientes")
        page.get_by_test_id("search-box").fill("MAÑANA temp")
        expect(page.get_by_test_id("search-group-messages").get_by_test_id("search-hit")).to_have_count(1)
        expect(page.get_by_test_id("search-status")).to_have_text(
            "1 resultado. Use las flechas para moverse entre los resultados."
        )
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width  # nothing runs off the side of a phone
        check_accessibility(page, "search at 390 px, in Spanish")
        page.get_by_test_id("search-box").fill("zzqx")
        expect(page.get_by_test_id("search-status")).to_have_text("No se encontró nada para «zzqx».")
        page.get_by_test_id("search-box").fill("manana temprano")
        page.get_by_test_id("search-group-messages").get_by_test_id("search-hit").first.click()
        asked = story["asked"]
        found = page.locator(f'[data-testid="timeline-event"][data-seq="{asked["seq"]}"]')
        expect(found).to_have_attribute("data-found", "true")
        expect(found).to_be_in_viewport()

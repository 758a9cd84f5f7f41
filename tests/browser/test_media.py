"""MMS media in the inbox, in a real browser: an MMS arrives while the agent has the patient
open; each attachment shows as being fetched, then in place as the stream reports it: the photo
rendered as a thumbnail that opens full size, the voice note as a player, a failure with its
reason. A reload shows the same from the stored record."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.pages import event, open_page, row, sign_in
from tests.channels.sms.test_sms_media import MARIA, _maria, _mms, _settings
from tests.support.clients import Staff
from tests.support.media_server import MediaServer, png, wav
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer

pytestmark = pytest.mark.browser


@pytest.fixture
def media() -> Iterator[MediaServer]:
    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as server:
        yield server


@pytest.fixture
def media_hub(tmp_path, media: MediaServer) -> Iterator[HubServer]:
    srv = HubServer(_settings(tmp_path, media)).start()
    yield srv
    srv.stop()


@pytest.fixture
def media_page(browser: Browser, media_hub: HubServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    with open_page(browser, media_hub.base_url, request.node.name) as pg:
        yield pg


def test_an_mms_photo_and_voice_note_show_in_place(media_hub: HubServer, media: MediaServer, media_page: Page) -> None:
    page = media_page
    gate = threading.Event()
    photo_url = media.add("ME_photo", png(40, 30), "image/png", gate=gate)
    voice_url = media.add("ME_voice", wav(0.5), "audio/wav", gate=gate)
    media.add("ME_gone", b"", "image/jpeg", fail=[404])
    ana = Staff(media_hub.base_url, "ana")
    try:
        patient_id = _maria(ana)
        conversation_id = next(
            c["id"] for c in ana.get("/api/conversations").json()["conversations"] if c["patient_id"] == patient_id
        )
    finally:
        ana.close()

    sign_in(page, "ana")
    row(page, conversation_id).click()
    expect(page.get_by_test_id("patient-contacts")).to_contain_text(MARIA)

    http = httpx.Client(base_url=media_hub.base_url, timeout=10)
    sent = [(photo_url, "image/png"), (voice_url, "audio/wav"), (media.media_url("ME_gone"), "image/jpeg")]
    assert _mms(http, "MMbrowser01", "Mire la receta y escuche", sent).status_code == 200
    message = event(page, "Mire la receta y escuche")
    expect(message).to_have_count(1)
    items = message.get_by_test_id("attachment")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_have_attribute("data-state", "pending")
    expect(items.nth(0)).to_contain_text("Fetching attachment…")
    expect(items.nth(2)).to_have_attribute("data-state", "failed")  # not held back: fails at once
    expect(items.nth(2)).to_contain_text(
        "Attachment could not be fetched: The provider no longer has this attachment (HTTP 404)."
    )

    gate.set()
    for testid in ("attachment-image", "attachment-audio"):
        _expect_loaded(page, message, testid)
    image = message.get_by_test_id("attachment-image")
    expect(image.locator("xpath=..")).to_have_attribute("target", "_blank")  # opens full size
    expect(image.locator("xpath=..")).to_have_attribute("href", f"{media_hub.base_url}/api/media/1")
    page.screenshot(path="/tmp/puente-media.png")

    # A reload draws the same from the stored record.
    page.reload()
    message = event(page, "Mire la receta y escuche")
    for testid in ("attachment-image", "attachment-audio"):
        _expect_loaded(page, message, testid)
    expect(message.get_by_test_id("attachment").nth(2)).to_contain_text("(HTTP 404)")


def _expect_loaded(page: Page, message, testid: str) -> None:  # noqa: ANN001
    element = message.get_by_test_id(testid)
    expect(element).to_have_count(1)
    if testid == "attachment-image":
        element.scroll_into_view_if_needed()
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=element.element_handle())
        assert element.evaluate("el => [el.naturalWidth, el.naturalHeight]") == [40, 30]
    else:
        # A voice note's player is drawn again as its transcript arrives: read whichever is there now.
        deadline = time.monotonic() + 10
        duration = float("nan")
        while time.monotonic() < deadline:
            try:
                element.scroll_into_view_if_needed(timeout=2000)
                duration = element.evaluate("el => el.readyState >= 1 ? el.duration : NaN")
            except PlaywrightError:  # drawn again between finding it and reading it
                duration = float("nan")
            if duration == duration and duration > 0:  # not NaN
                break
            page.wait_for_timeout(100)
        assert abs(duration - 0.5) < 0.05, duration

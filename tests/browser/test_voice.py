"""Voice notes in real browsers. A patient records a voice message in the widget on the clinic's site
(Chromium's fake microphone plays speech espeak-ng made at test time), it lands in the inbox, and
the agent reads its transcript next to the player and plays it. An AMR voice note (which no
browser plays) in a language the clinic does not serve arrives by MMS while the agent watches: it
shows being transcribed, then its words with a "low confidence" mark, and plays from the hub's
playable copy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.browser.conftest import ARGS, CHROMIUM
from tests.browser.pages import event, open_page, row, sign_in
from tests.browser.test_webchat import ClinicSite
from tests.channels.sms.test_sms_media import MARIA, _maria, _mms
from tests.support.clients import Staff
from tests.support.media_server import MediaServer
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer
from tests.support.services import REQUIRED
from tests.support.speech import GERMAN, GERMAN_VOICE, KEY_WORDS, encoded, has_key_words, need_espeak, spoken, words
from tests.voice.test_voice import voice_settings

pytestmark = pytest.mark.browser
TRANSCRIBED_MS = 45_000  # the first note starts the hub's transcription child and loads its model


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium with a fake microphone that says the test sentence once, and no autoplay gate."""
    if not Path(CHROMIUM).exists():
        if REQUIRED:
            pytest.fail(f"no Chromium at {CHROMIUM} and PUENTE_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(f"no Chromium at {CHROMIUM}")
    need_espeak()
    speech = tmp_path_factory.mktemp("voice") / "patient-says.wav"
    speech.write_bytes(spoken())
    args = [
        *ARGS,
        "--use-fake-ui-for-media-stream",  # the microphone permission is granted
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield b
        b.close()


@pytest.fixture
def media() -> Iterator[MediaServer]:
    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as server:
        yield server


@pytest.fixture
def voice_hub(tmp_path, media: MediaServer) -> Iterator[HubServer]:
    srv = HubServer(voice_settings(tmp_path, media)).start()
    yield srv
    srv.stop()


@pytest.fixture
def agent_page(browser: Browser, voice_hub: HubServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    with open_page(browser, voice_hub.base_url, f"{request.node.name}-agent") as pg:
        yield pg


@pytest.fixture
def patient_page(browser: Browser, voice_hub: HubServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    with open_page(browser, voice_hub.base_url, f"{request.node.name}-patient") as pg:
        yield pg


def _plays(page: Page, note: Locator) -> None:
    audio = note.get_by_test_id("attachment-audio")
    audio.scroll_into_view_if_needed()
    handle = audio.element_handle()
    page.wait_for_function("el => el.readyState >= 1 && el.duration > 2", arg=handle)
    audio.evaluate("el => el.play()")
    page.wait_for_function("el => !el.paused && el.currentTime > 0.5", arg=handle)


def test_a_patient_records_in_the_widget_and_the_agent_reads_and_plays_it(
    voice_hub: HubServer, patient_page: Page, agent_page: Page
) -> None:
    site = ClinicSite(voice_hub.base_url)
    try:
        patient = patient_page
        patient.goto(site.url)
        patient.get_by_test_id("chat-launcher").click()
        patient.get_by_test_id("chat-name").fill("Rosa Méndez")
        patient.get_by_test_id("chat-start").click()
        expect(patient.get_by_test_id("chat-empty")).to_be_visible()
        patient.get_by_test_id("chat-record").click()
        expect(patient.get_by_test_id("chat-recording")).to_contain_text(re.compile(r"Recording… 0:0\d of 5:00"))
        patient.wait_for_timeout(5500)  # the microphone says the sentence (4.3 s)
        patient.screenshot(path="/tmp/puente-voice-recording.png")
        patient.get_by_test_id("chat-record-send").click()
        mine = patient.get_by_test_id("chat-message")
        expect(mine).to_have_count(1)
        expect(mine.get_by_test_id("chat-message-text")).to_have_text(re.compile(r"^ ?Voice message \(0:0[456]\)$"))
        expect(mine.get_by_test_id("chat-message-status")).to_have_text("Sent")
        expect(patient.get_by_test_id("chat-text")).to_be_visible()  # back to writing
        patient.screenshot(path="/tmp/puente-voice-sent.png")

        ana = Staff(voice_hub.base_url, "ana")
        conv = next(
            c for c in ana.get("/api/conversations").json()["conversations"] if c["patient_name"] == "Rosa Méndez"
        )
        ana.close()
        page = agent_page
        sign_in(page, "ana")
        row(page, conv["id"]).click()
        note = page.get_by_test_id("voice-note")
        expect(note).to_have_count(1)
        transcript = note.get_by_test_id("voice-transcript")
        expect(transcript).to_have_attribute("data-state", "done", timeout=TRANSCRIBED_MS)
        text = note.get_by_test_id("voice-text").inner_text()
        assert has_key_words(text), text
        expect(note.get_by_test_id("voice-length")).to_have_text(re.compile(r"0:0[3456]"))
        expect(row(page, conv["id"])).to_contain_text(KEY_WORDS[0])  # the list shows what was said
        _plays(page, note)
        page.screenshot(path="/tmp/puente-voice-widget.png")
    finally:
        site.close()


def test_an_amr_voice_note_shows_live_with_a_low_confidence_mark_and_plays(
    voice_hub: HubServer, media: MediaServer, agent_page: Page
) -> None:
    ana = Staff(voice_hub.base_url, "ana")
    patient_id = _maria(ana)
    conversation_id = next(
        c["id"] for c in ana.get("/api/conversations").json()["conversations"] if c["patient_id"] == patient_id
    )
    ana.close()
    page = agent_page
    sign_in(page, "ana")
    row(page, conversation_id).click()
    expect(page.get_by_test_id("patient-contacts")).to_contain_text(MARIA)

    url = media.add("ME_amr", encoded("amr", GERMAN, GERMAN_VOICE), "audio/amr")  # German: not served here
    http = httpx.Client(base_url=voice_hub.base_url, timeout=10)
    assert _mms(http, "MMvoicebrowser", "Le dejo una nota de voz", [(url, "audio/amr")]).status_code == 200
    message = event(page, "Le dejo una nota de voz")
    expect(message).to_have_count(1)
    note = message.get_by_test_id("voice-note")
    transcript = note.get_by_test_id("voice-transcript")
    expect(transcript).to_have_attribute("data-state", re.compile("pending|transcribing|done"))
    expect(transcript).to_have_attribute("data-state", "done", timeout=TRANSCRIBED_MS)
    expect(note.get_by_test_id("voice-low-confidence")).to_have_text("Low confidence")
    assert "termin" in words(note.get_by_test_id("voice-text").inner_text())
    sources = note.locator("audio source")
    expect(sources).to_have_count(1)  # AMR plays nowhere: only the hub's AAC copy is offered
    expect(sources).to_have_attribute("type", "audio/mp4")
    _plays(page, note)
    page.screenshot(path="/tmp/puente-voice-amr.png")

    # A reload shows the same from the stored record.
    page.reload()
    note = event(page, "Le dejo una nota de voz").get_by_test_id("voice-note")
    expect(note.get_by_test_id("voice-transcript")).to_have_attribute("data-state", "done")
    expect(note.get_by_test_id("voice-low-confidence")).to_be_visible()

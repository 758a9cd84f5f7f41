"""The voice worker's child processes and engines, on real audio: damaged files in every format
never take anything down, an engine that crashes or hangs costs one child (killed, replaced) and
fails its note visibly, and another engine is configured as a clinic would (an external program)."""

from __future__ import annotations

import sys
import uuid
from dataclasses import replace

import pytest

from hub.media.storage import MediaStore
from hub.voice.pool import ChildCrashed, ChildProblem, ChildTimeout, EnginePool
from tests.support.clients import Staff
from tests.support.media_server import MediaServer, wav
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer
from tests.support.speech import corrupt_ogg, encoded, formats, has_key_words, need_espeak
from tests.support.webchat import VisitorClient
from tests.test_voice import open_stream, transcripts, upload, voice_settings


@pytest.fixture(autouse=True)
def _espeak() -> None:
    need_espeak()


def _damaged(good: bytes) -> list[bytes]:
    """Truncated, zeroed, bit-flipped and shuffled versions of a good file."""
    n = len(good)
    flipped = bytearray(good)
    for i in range(16, n, 29):
        flipped[i] ^= 0x5A
    head_flipped = bytearray(good)
    for i in range(4, min(n, 200), 3):
        head_flipped[i] = (head_flipped[i] * 7 + 13) % 256
    return [
        good[: n // 3],
        good[:80],
        good[:16] + bytes(n - 16),
        bytes(flipped),
        bytes(head_flipped),
        good[: n // 2] + good[: n // 2],
    ]


async def test_damaged_audio_in_every_format_never_takes_the_child_down(tmp_path):
    store = MediaStore(tmp_path)
    pool = EnginePool(1, "pocketsphinx", "", str(tmp_path))
    try:
        outcomes = []
        for fmt in formats():
            for i, body in enumerate([*_damaged(encoded(fmt)), corrupt_ogg()]):
                path = tmp_path / f"{fmt}-{i}"
                path.write_bytes(body)
                try:
                    got = await pool.call("check", {"path": str(path), "content_type": "", "measure_s": 60}, 30)
                    outcomes.append(("ok", got["duration_s"]))
                except ChildProblem as problem:
                    assert problem.code in ("undecodable", "no_audio"), (fmt, i, problem.code)
                    outcomes.append((problem.code, None))
        assert any(o[0] == "ok" for o in outcomes) and any(o[0] != "ok" for o in outcomes)
        good = tmp_path / "good.ogg"
        good.write_bytes(encoded("ogg"))
        heard = await pool.call("transcribe", {"path": str(good), "max_s": 60.0, "language_hint": None}, 60)
        assert has_key_words(heard["text"]) and heard["engine"] == "pocketsphinx"
        assert not list(store.temp.glob("*.part"))  # nothing half-written left behind
    finally:
        await pool.stop()


async def test_an_engine_that_crashes_or_hangs_costs_one_child(tmp_path):
    short, speech = tmp_path / "tone.wav", tmp_path / "speech.ogg"
    short.write_bytes(wav(0.5))
    speech.write_bytes(encoded("ogg"))
    for engine, failure, timeout in (
        ("tests.support.voice_engines:crashing", ChildCrashed, 60),
        ("tests.support.voice_engines:hanging", ChildTimeout, 5),
    ):
        pool = EnginePool(1, engine, "", str(tmp_path))
        try:
            with pytest.raises(failure):
                await pool.call("transcribe", {"path": str(short), "max_s": 60.0, "language_hint": None}, timeout)
            heard = await pool.call("transcribe", {"path": str(speech), "max_s": 60.0, "language_hint": None}, 60)
            assert has_key_words(heard["text"]), (engine, heard)  # a fresh child took over
        finally:
            await pool.stop()


@pytest.fixture
def media():
    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as server:
        yield server


def test_a_crashing_engine_fails_its_note_visibly_and_the_hub_goes_on(tmp_path, media):
    settings = voice_settings(tmp_path, media, engine="tests.support.voice_engines:crashing", max_attempts=2)
    srv = HubServer(settings).start()
    try:
        sofia = Staff(srv.base_url, "sofia")
        stream = open_stream(srv, sofia)
        visitor = VisitorClient(srv.base_url, srv.ws_url)
        visitor.start()
        tone = upload(visitor, wav(0.5), "audio/wav").json()
        speech = upload(visitor, encoded("ogg"), "audio/ogg").json()
        got = transcripts(stream, 2)
        failed = got[tone["media_id"]]
        assert failed["data"]["state"] == "failed" and failed["data"]["reason_code"] == "crashed"
        assert failed["data"]["reason"] == "The audio decoder stopped unexpectedly." and failed["text"] is None
        assert got[speech["media_id"]]["data"]["state"] == "done" and has_key_words(got[speech["media_id"]]["text"])
        assert sofia.get("/api/health").status_code == 200
        stream.close()
    finally:
        srv.stop()


def test_another_engine_is_a_program_on_this_machine(tmp_path, media):
    command = f"{sys.executable} -m hub.voice.transcribe {{wav}} --language={{language}}"
    srv = HubServer(voice_settings(tmp_path, media, engine="command", command=command)).start()
    try:
        sofia = Staff(srv.base_url, "sofia")
        stream = open_stream(srv, sofia)
        visitor = VisitorClient(srv.base_url, srv.ws_url)
        visitor.start(language="en")
        sent = upload(visitor, encoded("webm"), "audio/webm", f"m-{uuid.uuid4().hex}").json()
        event = transcripts(stream, 1)[sent["media_id"]]
        assert event["data"]["state"] == "done" and has_key_words(event["text"])
        assert event["data"]["engine"].startswith("command:python") and event["data"]["language"] == "en"
        stream.close()
    finally:
        srv.stop()


def test_a_missing_program_fails_the_note_with_the_reason(tmp_path, media):
    settings = voice_settings(tmp_path, media, engine="command", command="/nonexistent/whisper-cli -f {wav}")
    srv = HubServer(replace(settings, voice=replace(settings.voice, max_attempts=1))).start()
    try:
        sofia = Staff(srv.base_url, "sofia")
        stream = open_stream(srv, sofia)
        visitor = VisitorClient(srv.base_url, srv.ws_url)
        visitor.start()
        sent = upload(visitor, encoded("ogg"), "audio/ogg").json()
        event = transcripts(stream, 1)[sent["media_id"]]
        assert event["data"]["reason_code"] == "engine"
        assert event["data"]["reason"] == (
            "The transcription engine failed: the transcription program /nonexistent/whisper-cli is not installed"
        )
        stream.close()
    finally:
        srv.stop()

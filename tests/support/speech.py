"""Real speech for the voice-note tests: espeak-ng says a known sentence at test time, and PyAV
encodes it into the containers and codecs phones, voicemail and browsers send (Ogg/Opus, AMR,
MP3, AAC in M4A, WAV, WebM/Opus). Tests assert the transcript holds the sentence's key words,
never an exact string: recognition is not exact.

espeak-ng is a Debian package (`make system-deps` installs it). Without it these tests skip,
unless PUENTE_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import av
import pytest

from tests.support.services import REQUIRED

# A clear synthetic voice and a sentence whose key words pocketsphinx's English model knows well.
VOICE, SPEED = "en-us+f5", 140
SENTENCE = "I want to change my appointment to friday"
KEY_WORDS = ("appointment", "friday")
LONG_SENTENCE = "Please call me back tomorrow morning. " + SENTENCE + ". I need my blood pressure medicine."
SPANISH = "Quiero cambiar mi cita para el viernes por la mañana"

# name -> (container, codec, sample rate, the type a provider or a browser declares)
FORMATS: dict[str, tuple[str, str, int, str]] = {
    "ogg": ("ogg", "libopus", 48000, "audio/ogg"),
    "amr": ("amr", "libopencore_amrnb", 8000, "audio/amr"),
    "mp3": ("mp3", "libmp3lame", 44100, "audio/mpeg"),
    "m4a": ("ipod", "aac", 44100, "audio/mp4"),
    "wav": ("wav", "pcm_s16le", 16000, "audio/wav"),
    "webm": ("webm", "libopus", 48000, "audio/webm"),
}


def need_espeak() -> str:
    path = shutil.which("espeak-ng")
    if path:
        return path
    message = "espeak-ng is not installed (make system-deps installs it)"
    if REQUIRED:
        pytest.fail(message + " and PUENTE_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def formats() -> list[str]:
    """The formats this PyAV build can write (AMR needs its opencore encoder)."""
    return [name for name, (_, codec, _, _) in FORMATS.items() if codec in av.codecs_available]


@cache
def spoken(text: str = SENTENCE, voice: str = VOICE) -> bytes:
    """espeak-ng's WAV of `text`."""
    espeak = need_espeak()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", voice, "-s", str(SPEED), "-w", str(out), text], check=True, capture_output=True)
        return out.read_bytes()


@cache
def encoded(fmt: str, text: str = SENTENCE, voice: str = VOICE) -> bytes:
    """The sentence, spoken and encoded as `fmt` (a key of FORMATS)."""
    container, codec, rate, _ = FORMATS[fmt]
    out = io.BytesIO()
    with av.open(io.BytesIO(spoken(text, voice))) as src, av.open(out, "w", format=container) as dst:
        stream = dst.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format or None, layout="mono", rate=rate)
        for frame in [*src.decode(audio=0), None]:
            if frame is not None:
                frame.pts = None
            for part in resampler.resample(frame):
                for packet in stream.encode(part):
                    dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out.getvalue()


def content_type(fmt: str) -> str:
    return FORMATS[fmt][3]


def has_key_words(transcript: str | None) -> bool:
    words = (transcript or "").lower().split()
    return all(k in words for k in KEY_WORDS)


def corrupt_ogg() -> bytes:
    """Starts like an Ogg file (so it passes the type check), then is nothing but noise."""
    return encoded("ogg")[:58] + bytes((i * 37 + 11) % 256 for i in range(20_000))

"""Real speech for the voice-note tests: espeak-ng says a known sentence at test time, and PyAV
encodes it into the containers and codecs phones, voicemail and browsers send (Ogg/Opus, AMR,
MP3, AAC in M4A, WAV, WebM/Opus), each at the rate and bit rate its source really uses. Tests
assert the transcript holds the sentence's key words, never an exact string: recognition is not
exact.

espeak-ng is a Debian package (`make system-deps` installs it). Without it these tests skip,
unless PUENTE_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import av
import pytest

from tests.support.services import REQUIRED

# A clear synthetic voice and sentences whose key words Whisper base hears on every kind of audio
# below (checked on each: the engine is not exact, the tests assert key words, never whole strings).
VOICE, SPEED = "en-us+f5", 140
SENTENCE = "Hello, I would like to make an appointment for next week"
KEY_WORDS = ("appointment", "week")
LONG_SENTENCE = "Please call me back tomorrow morning. " + SENTENCE + ". I need my blood pressure medicine."
SPANISH_VOICE = "es"
SPANISH = "Necesito una cita con el doctor para la próxima semana"
SPANISH_KEY_WORDS = ("cita", "semana")
EMERGENCY = "I have chest pain and I cannot breathe"  # red flags: chest pain, cannot breathe
EMERGENCIA = "Tengo dolor de pecho y no puedo respirar"  # red flag: no puedo respirar
GERMAN_VOICE = "de"  # a language the clinic does not serve
GERMAN = "Guten Tag, ich möchte einen Termin beim Arzt für nächste Woche"

# name -> (container, codec, sample rate, the type a provider or a browser declares, bit rate or None).
# As each source really sends it: browsers record Opus at 48 kHz (Chrome in WebM, Firefox in Ogg)
# and Safari AAC in MP4; MMS carries AMR-NB, narrow band at 8 kHz, usually at 12.2 kbps and at
# 7.95 kbps when the network squeezes it; voicemail arrives as 8 kHz WAV or MP3.
FORMATS: dict[str, tuple[str, str, int, str, int | None]] = {
    "ogg": ("ogg", "libopus", 48000, "audio/ogg", None),
    "amr": ("amr", "libopencore_amrnb", 8000, "audio/amr", 12200),
    "amr-7.95": ("amr", "libopencore_amrnb", 8000, "audio/amr", 7950),
    "mp3": ("mp3", "libmp3lame", 44100, "audio/mpeg", None),
    "mp3-8k": ("mp3", "libmp3lame", 8000, "audio/mpeg", 32000),
    "m4a": ("ipod", "aac", 48000, "audio/mp4", None),
    "wav": ("wav", "pcm_s16le", 16000, "audio/wav", None),
    "wav-8k": ("wav", "pcm_s16le", 8000, "audio/wav", None),
    "webm": ("webm", "libopus", 48000, "audio/webm", None),
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
    return [name for name, (_, codec, *_) in FORMATS.items() if codec in av.codecs_available]


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
    return encode_wav(spoken(text, voice), fmt)


def encode_wav(wav: bytes, fmt: str) -> bytes:
    """A WAV file's sound encoded as `fmt` (a key of FORMATS), at its rate and bit rate."""
    container, codec, rate, _, bit_rate = FORMATS[fmt]
    out = io.BytesIO()
    with av.open(io.BytesIO(wav)) as src, av.open(out, "w", format=container) as dst:
        stream = dst.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
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


def words(transcript: str | None) -> list[str]:
    """The transcript's words, lower case, without punctuation."""
    return re.findall(r"\w+", (transcript or "").lower())


def has_key_words(transcript: str | None, keys: tuple[str, ...] = KEY_WORDS) -> bool:
    return all(k in words(transcript) for k in keys)


def corrupt_ogg() -> bytes:
    """Starts like an Ogg file (so it passes the type check), then is nothing but noise."""
    return encoded("ogg")[:58] + bytes((i * 37 + 11) % 256 for i in range(20_000))

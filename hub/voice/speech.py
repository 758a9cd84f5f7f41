"""What every speech-to-text engine is given and gives back (hub/voice/engines.py chooses one):
16 kHz mono 16-bit PCM in, a Transcript with its segments out; and the helpers engines share."""

from __future__ import annotations

import io
import wave
from typing import Protocol, runtime_checkable

import msgspec

from channels.base import PuenteError

RATE = 16000  # what every engine is given: 16 kHz mono signed 16-bit PCM


class Segment(msgspec.Struct, frozen=True):
    start: float  # seconds into the note
    end: float
    text: str
    confidence: float  # 0..1 as the engine scores this part


class Transcript(msgspec.Struct, frozen=True):
    text: str
    language: str | None  # what the engine recognised (BCP 47), None when it cannot tell
    confidence: float | None  # 0..1 as the engine scores it; None when it gives none
    low_confidence: bool  # the engine says its transcript is doubtful: shown as such
    engine: str
    segments: tuple[Segment, ...] = ()  # the parts the engine heard, each with its confidence
    language_probability: float | None = None  # how sure the engine is of `language`


class EngineError(PuenteError):
    """The engine could not transcribe this audio; the message says why (shown to staff)."""


@runtime_checkable
class TranscriptionEngine(Protocol):
    name: str

    def transcribe(self, pcm: bytes, language_hint: str | None) -> Transcript:
        """The transcript of 16 kHz mono s16 PCM; `language_hint` is the patient's language if known."""
        ...


SILENT = 64  # |sample| at or below this (-54 dBFS) is silence
MARGIN = RATE * 3 // 10  # samples of silence kept on each side


def speech_bounds(pcm: bytes) -> tuple[int, int]:
    """The samples [start, end) from a little before the first sound to a little after the last;
    (0, 0) when it is all silence."""
    samples = memoryview(pcm).cast("h") if len(pcm) % 2 == 0 else memoryview(pcm[:-1]).cast("h")
    n, block = len(samples), RATE // 50  # 20 ms blocks, scanned from each end only

    def loud(start: int) -> bool:
        return max(map(abs, samples[start : start + block]), default=0) > SILENT

    first = next((i for i in range(0, n, block) if loud(i)), None)
    if first is None:
        return 0, 0
    last = next(i for i in range((n - 1) // block * block, -1, -block) if loud(i)) + block
    return max(0, first - MARGIN), min(n, last + MARGIN)


def trim_silence(pcm: bytes) -> bytes:
    """Without the silence before and after the speech (a browser's recording ends in exact zeros
    for as long as the microphone stayed open): whole-utterance recognition normalises by the mean
    of everything it hears, and long silence drags that mean away from the voice."""
    start, end = speech_bounds(pcm)
    if end <= start:
        return pcm  # nothing but silence: the engine says so itself
    return pcm[start * 2 : end * 2]


def wav_bytes(pcm: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buf.getvalue()

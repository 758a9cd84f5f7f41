"""Transcription engines for tests, loaded by the hub the way a clinic loads its own
(PUENTE_VOICE_ENGINE=package.module:factory): pocketsphinx, with one fault added on audio
shorter than two seconds, to show what the hub does when an engine misbehaves."""

from __future__ import annotations

import os
import signal
import time

from hub.voice.engines import RATE, PocketsphinxEngine, Transcript

SHORT = RATE * 2 * 2  # two seconds of 16-bit samples


class _Faulty:
    name = "faulty"

    def __init__(self) -> None:
        self._inner = PocketsphinxEngine()

    def fault(self) -> None:
        raise NotImplementedError

    def transcribe(self, pcm: bytes, language_hint: str | None) -> Transcript:
        if len(pcm) < SHORT:
            self.fault()
        return self._inner.transcribe(pcm, language_hint)


class Crashing(_Faulty):
    """Dies outright, as a native decoder that segfaults would."""

    def fault(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


class Hanging(_Faulty):
    """Never answers."""

    def fault(self) -> None:
        time.sleep(3600)


def crashing() -> Crashing:
    return Crashing()


def hanging() -> Hanging:
    return Hanging()

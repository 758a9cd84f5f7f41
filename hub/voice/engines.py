"""Speech-to-text engines: one small interface, faster-whisper by default, another engine by
configuration. Engines run in the voice worker's child processes (hub/voice/child.py), get
16 kHz mono 16-bit PCM and return a Transcript; none of them sends audio anywhere by default.

Another engine is configured with PUENTE_VOICE_ENGINE:

- `faster-whisper` (default): offline, multilingual Whisper base from the model wheels pinned in
  pyproject.toml (hub/voice/whisper.py, hub/voice/model.py): English and Spanish, detected from
  the voice, with each segment's confidence.
- `pocketsphinx`: offline, English only, the small model its wheel ships (a light fallback).
- `command`: a program on this machine, PUENTE_VOICE_COMMAND, run without a shell; `{wav}` in
  it is replaced by a 16 kHz mono WAV file and `{language}` by the patient's language if known
  (else empty). It prints the transcript: plain text, or JSON
  `{"text": ..., "language": "es", "confidence": 0.83}`. For example whisper.cpp:
  `whisper-cli -m /opt/models/ggml-base.bin -l auto -nt -np -f {wav}`.
- `package.module:factory`: a Python callable returning a TranscriptionEngine.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import subprocess
import tempfile

from hub.voice.speech import (  # noqa: F401 - what every engine gives and gets, named here too
    RATE,
    EngineError,
    Segment,
    Transcript,
    TranscriptionEngine,
    speech_bounds,
    trim_silence,
    wav_bytes,
)
from hub.voice.whisper import FasterWhisperEngine  # imports faster-whisper only when one is made


class PocketsphinxEngine:
    """CMU pocketsphinx with the US English model from its wheel. It knows English only: speech in
    another language comes out as English words, so such a transcript is marked low confidence
    (by its word posteriors, and whenever the patient is known to speak another language)."""

    name = "pocketsphinx"
    language = "en"
    THRESHOLD = 0.5  # below this share of confidently recognised speech: low confidence

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=RATE, loglevel="FATAL")

    def transcribe(self, pcm: bytes, language_hint: str | None) -> Transcript:
        d = self._decoder
        d.start_utt()
        d.process_raw(trim_silence(pcm), no_search=False, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        words, spoken, weighted = [], 0, 0.0
        for seg in d.seg() if hyp is not None else ():
            frames = max(1, seg.end_frame - seg.start_frame + 1)
            if seg.word in ("<s>", "</s>"):
                continue  # the edges of the utterance: leading and trailing silence
            spoken += frames
            if seg.word.startswith(("<", "[")) or seg.word == "<sil>":
                continue  # silence or noise between words counts as not understood
            words.append(seg.word.split("(", 1)[0])  # "to(3)": a pronunciation variant
            weighted += frames * min(1.0, max(0.0, float(seg.prob)))
        text = " ".join(words)
        confidence = round(weighted / spoken, 3) if spoken else 0.0
        foreign = bool(language_hint) and language_hint.split("-")[0].lower() != self.language
        low = not text or confidence < self.THRESHOLD or foreign
        return Transcript(text, self.language, confidence, low, self.name)


class CommandEngine:
    """A program on this machine (whisper.cpp, vosk, a clinic's own script). The WAV it reads is
    deleted afterwards; what it does with it is the clinic's choice, so choose one that stays
    offline."""

    name = "command"

    def __init__(self, command: str, timeout_s: float = 600.0) -> None:
        if not command.strip():
            raise ValueError("PUENTE_VOICE_COMMAND is empty: the command engine needs a program to run")
        self._argv = shlex.split(command)
        self._timeout_s = timeout_s
        self.name = f"command:{os.path.basename(self._argv[0])}"

    def transcribe(self, pcm: bytes, language_hint: str | None) -> Transcript:
        with tempfile.TemporaryDirectory(prefix="puente-voice-") as tmp:
            path = os.path.join(tmp, "note.wav")
            with open(path, "wb") as f:
                f.write(wav_bytes(pcm))
            argv = [a.replace("{wav}", path).replace("{language}", language_hint or "") for a in self._argv]
            try:
                done = subprocess.run(argv, capture_output=True, timeout=self._timeout_s, cwd=tmp, check=False)
            except FileNotFoundError:
                raise EngineError(f"the transcription program {self._argv[0]} is not installed") from None
            except subprocess.TimeoutExpired:
                raise EngineError("the transcription program took too long") from None
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise EngineError(f"the transcription program failed (exit {done.returncode}) {detail[0][:120]}".strip())
        return self._read(done.stdout.decode("utf-8", "replace").strip(), language_hint)

    def _read(self, out: str, language_hint: str | None) -> Transcript:
        if out.startswith("{"):
            try:
                data = json.loads(out)
            except ValueError:
                raise EngineError("the transcription program printed malformed JSON") from None
            text = str(data.get("text") or "").strip()
            language = data.get("language") or language_hint
            confidence = data.get("confidence")
            confidence = float(confidence) if isinstance(confidence, (int, float)) else None
            low = bool(data.get("low_confidence", confidence is not None and confidence < 0.5)) or not text
            return Transcript(" ".join(text.split()), language, confidence, low, self.name)
        return Transcript(" ".join(out.split()), language_hint, None, not out, self.name)


def load_engine(spec: str, command: str = "", threads: int = 1) -> TranscriptionEngine:
    """The engine PUENTE_VOICE_ENGINE names (see the module's docstring)."""
    if spec in ("", "faster-whisper"):
        return FasterWhisperEngine(threads=threads)
    if spec == "pocketsphinx":
        return PocketsphinxEngine()
    if spec == "command":
        return CommandEngine(command)
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(
            f"unknown transcription engine {spec!r}: faster-whisper, pocketsphinx, command or package.module:factory"
        )
    engine = getattr(importlib.import_module(module), attr)()
    if not isinstance(engine, TranscriptionEngine):
        raise TypeError(f"{spec} did not make a TranscriptionEngine")
    return engine

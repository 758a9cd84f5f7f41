"""`python -m hub.voice.transcribe FILE [--language es] [--engine pocketsphinx]`: transcribe an audio
file offline as the hub does (PyAV to 16 kHz mono, then the engine: faster-whisper by default) and
print JSON: text, language, confidence, low_confidence, segments, seconds of audio and of CPU.

It also follows the command engine's contract (hub/voice/engines.py), so it can stand in for
another program: PUENTE_VOICE_ENGINE=command PUENTE_VOICE_COMMAND='python -m hub.voice.transcribe {wav}'.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import msgspec

from hub.voice.audio import AudioProblem, decode
from hub.voice.engines import EngineError, load_engine
from hub.voice.reasons import reason_text


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.voice.transcribe", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--language", default=None, help="the speaker's language, if known (en, es)")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--engine", default="faster-whisper", help="faster-whisper (default) or pocketsphinx")
    args = parser.parse_args()
    started = time.process_time()
    try:
        decoded = decode(args.file, keep_s=args.max_seconds, measure_s=args.max_seconds)
    except AudioProblem as problem:
        print(json.dumps({"error": reason_text(problem.code, problem.params)}))
        return 2
    try:
        heard = load_engine(args.engine).transcribe(decoded.pcm, args.language)
    except EngineError as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    out = {
        "text": heard.text,
        "language": heard.language,
        "confidence": heard.confidence,
        "low_confidence": heard.low_confidence,
        "language_probability": heard.language_probability,
        "segments": [msgspec.structs.asdict(s) for s in heard.segments],
        "seconds": round(decoded.seconds, 3),
        "cpu_s": round(time.process_time() - started, 3),
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Voice notes: how well and how fast the default engine transcribes, per language and format.

    .venv/bin/python bench/voice.py [--threads 1] [--engine faster-whisper] [--no-hub]

espeak-ng speaks reference sentences (six in English with en-us, six in Spanish with es-419), PyAV
encodes them as patients' audio really arrives (48 kHz Opus/WebM from browsers, AMR-NB at 12.2 and
7.95 kbps from MMS, 8 kHz MP3 and WAV voicemail), and each file is transcribed by the hub's own
child process (hub/voice/pool.py, hub/voice/child.py), as the voice worker does it:

- word error rate against the reference: for notes of three sentences (about 11 s, the shape of a
  voice note), and for every sentence alone (about 3.5 s: harder, less context);
- how many transcripts the engine marks low confidence (the assistant hands those to a person);
- CPU seconds per second of audio (decode + recognise, the child's own process time, so the
  figure does not depend on what else the machine does), and the model's load, once per child;
- the child's peak memory (its maximum resident set, the model's load included);
- upload-to-transcript latency through a real hub (`python -m hub --demo`): each note uploaded as
  the widget does (POST /api/webchat/voice) until its transcript is stored; one at a time, the
  first one (which starts the child and loads the model) reported apart.

Targets (issue 13, this 2-core machine): WER <= 0.25 English and <= 0.30 Spanish on 12.2 kbps AMR
and on Opus; <= 1.0 s of CPU per second of audio; <= 600 MB per child. Needs espeak-ng
(`make system-deps`). Words are compared lower case without punctuation; accents count.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hubproc import Hub, proc_cpu_seconds  # noqa: E402
from hub.voice.pool import EnginePool  # noqa: E402

SENTENCES = {
    "en": [
        "I want to change my appointment to Friday morning",
        "I have chest pain and I cannot breathe",
        "Please call me back tomorrow about my test results",
        "I need a refill of my blood pressure medicine",
        "My daughter has a fever and a bad cough since yesterday",
        "Can you tell me if my insurance covers this visit",
    ],
    "es": [
        "Quiero cambiar mi cita para el viernes por la mañana",
        "Tengo dolor de pecho y no puedo respirar",
        "Por favor llámeme mañana sobre mis resultados",
        "Necesito una receta para la medicina de la presión",
        "Mi hija tiene fiebre y mucha tos desde ayer",
        "Quisiera saber si mi seguro cubre esta consulta",
    ],
}
VOICES = {"en": "en-us", "es": "es-419"}
SPEED = 140  # words a minute
PER_NOTE = 3  # sentences in one voice note
# name -> (container, codec, sample rate, bit rate or None, the type it is declared as)
FORMATS = {
    "opus-48k": ("webm", "libopus", 48000, None, "audio/webm"),
    "amr-12.2k": ("amr", "libopencore_amrnb", 8000, 12200, "audio/amr"),
    "amr-7.95k": ("amr", "libopencore_amrnb", 8000, 7950, "audio/amr"),
    "mp3-8k": ("mp3", "libmp3lame", 8000, 32000, "audio/mpeg"),
    "wav-8k": ("wav", "pcm_s16le", 8000, None, "audio/wav"),
}
TARGET_WER = {"en": 0.25, "es": 0.30}
TARGET_FORMATS = ("opus-48k", "amr-12.2k")
TARGET_CPU, TARGET_MB = 1.0, 600.0


def speak(text: str, voice: str) -> bytes:
    espeak = shutil.which("espeak-ng")
    if not espeak:
        sys.exit("espeak-ng is not installed (make system-deps)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", voice, "-s", str(SPEED), "-w", str(out), text], check=True)
        return out.read_bytes()


def encode(wav: bytes, container: str, codec: str, rate: int, bit_rate: int | None) -> bytes:
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


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def errors(reference: str, heard: str) -> tuple[int, int]:
    """(word edits, reference words): substitutions, deletions and insertions."""
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        prev, row = row, [i] + [0] * len(hyp)
        for j in range(1, len(hyp) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref[i - 1] != hyp[j - 1]))
    return row[-1], len(ref)


def notes(language: str) -> list[str]:
    s = SENTENCES[language]
    return [". ".join(s[i : i + PER_NOTE]) + "." for i in range(0, len(s), PER_NOTE)]


async def measure(args: argparse.Namespace, files: dict, tmp: Path) -> dict:
    """Transcribe every file in one of the hub's child processes."""
    pool = EnginePool(1, args.engine, "", str(tmp), args.threads)
    results: dict = {"rows": {}, "peak_mb": 0.0}
    try:
        warm = tmp / "warm.wav"
        warm.write_bytes(speak("Hello.", "en-us"))
        started = time.perf_counter()
        got = await pool.call("transcribe", {"path": str(warm), "max_s": 300.0, "language_hint": None}, 600)
        pid = pool._children[0].process.pid  # noqa: SLF001 - the bench reads the child's own CPU time
        results["load_wall_s"] = time.perf_counter() - started
        results["load_cpu_s"] = proc_cpu_seconds(pid) - got["decode_cpu_s"] - got["recognise_cpu_s"]
        for (language, fmt, kind), items in files.items():
            edits = total = 0
            cpu = seconds = 0.0
            detected, low = [], 0
            for i, (path, reference) in enumerate(items):
                got = await pool.call("transcribe", {"path": str(path), "max_s": 300.0, "language_hint": None}, 600)
                e, n = errors(reference, got["text"])
                edits, total = edits + e, total + n
                cpu += got["decode_cpu_s"] + got["recognise_cpu_s"]
                seconds += got["seconds"]
                detected.append(got["language"])
                low += bool(got["low_confidence"])
                results["peak_mb"] = max(results["peak_mb"], got.get("peak_rss_mb") or 0.0)
                if args.verbose:
                    print(f"  {language} {fmt} {kind} {i}: {got['text']!r} ({got['confidence']})", flush=True)
            results["rows"][(language, fmt, kind)] = {
                "wer": edits / total,
                "cpu_per_s": cpu / seconds,
                "seconds": seconds / len(items),
                "language_right": sum(d == language for d in detected),
                "low": low,
                "count": len(detected),
            }
    finally:
        await pool.stop()
    return results


def latency(args: argparse.Namespace, files: dict, tmp: Path) -> dict:
    """Upload each note to a real hub as the widget does; seconds until its transcript is stored."""
    hub = Hub(tmp / "hub-data", "bench-key", tmp / "hub.log")
    os.environ.update(
        PUENTE_VOICE_ENGINE=args.engine, PUENTE_VOICE_THREADS=str(args.threads), PUENTE_VOICE_UPLOADS_PER_HOUR="10000"
    )
    hub.start()
    out: dict = {}
    try:
        session = _post_json(f"{hub.base}/api/webchat/sessions", {"name": "Bench Patient"})
        token = session["token"]
        db = sqlite3.connect(f"file:{hub.db_path}?mode=ro", uri=True)

        def upload_and_wait(path: Path, declared: str) -> float:
            body = path.read_bytes()
            request = urllib.request.Request(
                f"{hub.base}/api/webchat/voice?id=m-{uuid.uuid4().hex}",
                data=body,
                method="POST",
                headers={"authorization": f"Bearer {token}", "content-type": declared},
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as r:
                media_id = json.loads(r.read())["media_id"]
            while True:
                row = db.execute("SELECT state FROM voice_notes WHERE media_id = ?", (media_id,)).fetchone()
                if row and row[0] in ("done", "failed"):
                    return time.perf_counter() - started
                if time.perf_counter() - started > 300:
                    raise RuntimeError(f"no transcript for media {media_id} in 300 s; see {tmp / 'hub.log'}")
                time.sleep(0.01)

        first_path = next(iter(files.values()))[0][0]
        out["cold"] = upload_and_wait(first_path, FORMATS[next(iter(files))[1]][4])
        for (language, fmt, kind), items in files.items():
            out[(language, fmt, kind)] = [upload_and_wait(path, FORMATS[fmt][4]) for path, _ in items]
        db.close()
    finally:
        hub.stop()
    return out


def _post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="faster-whisper", help="PUENTE_VOICE_ENGINE to measure")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per child (PUENTE_VOICE_THREADS)")
    parser.add_argument("--no-hub", action="store_true", help="skip the latency through a real hub")
    parser.add_argument("--verbose", action="store_true", help="print every transcript")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="puente-bench-voice-") as name:
        tmp = Path(name)
        files: dict = {}
        for language in ("en", "es"):
            spoken_notes = [(speak(text, VOICES[language]), text) for text in notes(language)]
            spoken_sentences = [(speak(text, VOICES[language]), text) for text in SENTENCES[language]]
            for fmt, (container, codec, rate, bit_rate, _) in FORMATS.items():
                if codec not in av.codecs_available:
                    print(f"(this PyAV build cannot write {codec}: {fmt} left out)")
                    continue
                for kind, spoken in (("note", spoken_notes), ("sentence", spoken_sentences)):
                    items = []
                    for i, (wav, text) in enumerate(spoken):
                        path = tmp / f"{language}-{fmt}-{kind}-{i}"
                        path.write_bytes(encode(wav, container, codec, rate, bit_rate))
                        items.append((path, text))
                    files[(language, fmt, kind)] = items
        print(f"engine {args.engine}, {args.threads} thread(s) per child; voices {VOICES}, {SPEED} words a minute\n")
        results = asyncio.run(measure(args, files, tmp))
        print(
            f"model load: {results['load_cpu_s']:.2f} s CPU, {results['load_wall_s']:.2f} s until the first "
            f"transcript (once per child process)"
        )
        print(f"peak memory of the child: {results['peak_mb']:.0f} MB (target <= {TARGET_MB:.0f})\n")
        lat = {} if args.no_hub else latency(args, files, tmp)
        head = f"{'language':<9}{'format':<11}{'notes':<10}{'audio s':>8}{'WER':>7}{'CPU s/s':>9}"
        head += f"{'language':>10}{'low':>6}"
        print(head + ("" if args.no_hub else f"{'latency p50':>13}{'max':>7}"))
        for (language, fmt, kind), row in results["rows"].items():
            line = (
                f"{language:<9}{fmt:<11}{kind:<10}{row['seconds']:>8.1f}{row['wer']:>7.3f}{row['cpu_per_s']:>9.3f}"
                f"{row['language_right']:>6}/{row['count']:<3}{row['low']:>4}/{row['count']:<2}"
            )
            if lat:
                times = lat[(language, fmt, kind)]
                line += f"{statistics.median(times):>12.2f}s{max(times):>6.2f}s"
            print(line)
        if lat:
            print(f"\nfirst note after the hub started (child start and model load included): {lat['cold']:.2f} s")
        all_cpu = [row["cpu_per_s"] for row in results["rows"].values()]
        print("\ntargets:")
        for language, target in TARGET_WER.items():
            for fmt in TARGET_FORMATS:
                wer = results["rows"][(language, fmt, "note")]["wer"]
                verdict = "met" if wer <= target else "MISSED"
                print(f"  WER {language} {fmt} (3-sentence notes) {wer:.3f} <= {target}: {verdict}")
        worst = max(all_cpu)
        verdict = "met" if worst <= TARGET_CPU else "MISSED"
        print(f"  CPU per second of audio, worst row {worst:.3f} <= {TARGET_CPU}: {verdict}")
        peak = results["peak_mb"]
        print(f"  peak memory per child {peak:.0f} MB <= {TARGET_MB:.0f}: {'met' if peak <= TARGET_MB else 'MISSED'}")


if __name__ == "__main__":
    main()

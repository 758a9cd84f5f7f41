"""Transcription speed: seconds of CPU per second of audio, as the hub's voice worker spends them.

    .venv/bin/python bench/voice.py [--repeat 3]

espeak-ng speaks a short paragraph (about 20 s), PyAV encodes it the ways patients' phones and
browsers send audio, and each file goes through what one child process does per note: the check
(decode all of it, measure it, make the AAC copy where one is needed) and the transcription
(decode to 16 kHz mono, then pocketsphinx). CPU time is the process's own (time.process_time),
so the figure does not depend on what else the machine is doing. Loading the model once per child
is reported apart. Needs espeak-ng (`make system-deps`).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.voice.audio import decode  # noqa: E402
from hub.voice.engines import PocketsphinxEngine  # noqa: E402

PARAGRAPH = (
    "Hello, this is Maria Lopez. I want to change my appointment to Friday morning. "
    "I also need a refill of my blood pressure medicine before the weekend. "
    "Please call me back tomorrow at the number on my file. Thank you very much."
)
FORMATS = {  # name -> (container, codec, rate, declared type)
    "wav": ("wav", "pcm_s16le", 16000, "audio/wav"),
    "ogg/opus": ("ogg", "libopus", 48000, "audio/ogg"),
    "webm/opus": ("webm", "libopus", 48000, "audio/webm"),
    "m4a/aac": ("ipod", "aac", 44100, "audio/mp4"),
    "mp3": ("mp3", "libmp3lame", 44100, "audio/mpeg"),
    "amr": ("amr", "libopencore_amrnb", 8000, "audio/amr"),
}


def speak(text: str) -> bytes:
    espeak = shutil.which("espeak-ng")
    if not espeak:
        sys.exit("espeak-ng is not installed (make system-deps)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", "en-us+f5", "-s", "140", "-w", str(out), text], check=True)
        return out.read_bytes()


def encode(wav: bytes, container: str, codec: str, rate: int) -> bytes:
    out = io.BytesIO()
    with av.open(io.BytesIO(wav)) as src, av.open(out, "w", format=container) as dst:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per format; the median is shown")
    args = parser.parse_args()
    wav = speak(PARAGRAPH)
    started = time.process_time()
    engine = PocketsphinxEngine()
    load_s = time.process_time() - started
    print(f"pocketsphinx model load: {load_s:.2f} s CPU (once per child process)\n")
    print(f"{'format':<10} {'audio s':>8} {'check':>8} {'decode':>8} {'recognise':>10} {'CPU s / audio s':>16}")
    total_audio = total_cpu = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (container, codec, rate, declared) in FORMATS.items():
            if codec not in av.codecs_available:
                print(f"{name:<10} (this PyAV build cannot write {codec})")
                continue
            path = Path(tmp) / name.replace("/", "-")
            path.write_bytes(encode(wav, container, codec, rate))
            runs = []
            for _ in range(args.repeat):
                t0 = time.process_time()
                checked = decode(path, keep_s=0, measure_s=1200, content_type=declared, copy=True)
                t1 = time.process_time()
                decoded = decode(path, keep_s=300, measure_s=300)
                t2 = time.process_time()
                heard = engine.transcribe(decoded.pcm, None)
                t3 = time.process_time()
                runs.append((t1 - t0, t2 - t1, t3 - t2))
            check, dec, rec = sorted(runs, key=sum)[len(runs) // 2]
            seconds = checked.seconds
            ratio = (dec + rec) / seconds
            total_audio += seconds
            total_cpu += dec + rec
            print(f"{name:<10} {seconds:>8.2f} {check:>8.3f} {dec:>8.3f} {rec:>10.3f} {ratio:>16.3f}")
        print(f"\nlast transcript: {heard.text!r} (confidence {heard.confidence})")
    print(
        f"\ndecode + recognise: {total_cpu / total_audio:.2f} s of CPU per second of audio "
        f"({total_audio:.0f} s of audio in {len(FORMATS)} formats)"
    )


if __name__ == "__main__":
    main()

"""The voice worker's child process: `python -m hub.voice.child ENGINE COMMAND STORE_ROOT THREADS`.

Started by hub/voice/pool.py as a program of its own (nothing inherited from the hub's threads or
its main module), it loads its engine once and answers requests one at a time: length-prefixed
msgpack frames, requests on stdin, answers on its original stdout. Anything a native library
prints goes to stderr (the hub's log), never into the answers. Whatever a decoder or an engine
does wrong stays here: a crash ends this process only, and the hub starts another. It runs at a
lower priority than the hub, so transcribing never slows down the inbox.
"""

from __future__ import annotations

import os
import resource
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from hub.media.storage import MediaStore
from hub.voice.audio import PLAYABLE_TYPE, AudioProblem, decode
from hub.voice.engines import EngineError, TranscriptionEngine, load_engine

NICENESS = 10
HEADER = struct.Struct(">I")
encode, decode_frame = msgspec.msgpack.encode, msgspec.msgpack.decode


def read_frame(stream: BinaryIO) -> Any:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return decode_frame(body)


def write_frame(stream: BinaryIO, value: Any) -> None:
    body = encode(value)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def serve(engine_spec: str, command: str, store_root: str, threads: str = "1") -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the hub stops us
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    answers = os.fdopen(os.dup(1), "wb")  # the pipe to the hub...
    os.dup2(2, 1)  # ...and whatever native code prints goes to stderr instead
    requests = sys.stdin.buffer
    store = MediaStore(Path(store_root))
    engine: TranscriptionEngine | None = None
    while True:
        try:
            op, args = read_frame(requests)
        except EOFError:
            return  # the hub went away, or asked us to stop
        try:
            if op == "check":
                reply: list[Any] = ["ok", check(store, **args)]
            elif op == "transcribe":
                if engine is None:
                    engine = load_engine(engine_spec, command, int(threads))
                reply = ["ok", transcribe(engine, **args)]
            else:
                reply = ["problem", "engine", {"detail": f"unknown request {op}"}]
        except AudioProblem as problem:
            reply = ["problem", problem.code, problem.params]
        except EngineError as exc:
            reply = ["problem", "engine", {"detail": str(exc)[:200]}]
        except Exception as exc:  # an engine's own bug: reported, and this process lives on
            reply = ["problem", "engine", {"detail": type(exc).__name__}]
        try:
            write_frame(answers, reply)
        except (TypeError, msgspec.EncodeError) as exc:  # an engine's answer that is not plain data
            write_frame(answers, ["problem", "engine", {"detail": f"unreadable answer ({type(exc).__name__})"}])


def check(store: MediaStore, path: str, content_type: str, measure_s: float) -> dict[str, Any]:
    """Duration from the samples, and a copy browsers everywhere play when the original is not one."""
    started = time.process_time()
    decoded = decode(Path(path), keep_s=0, measure_s=measure_s, content_type=content_type, copy=True)
    sha256 = size = None
    if decoded.playable:
        incoming = store.incoming()
        try:
            incoming.write(decoded.playable)
            sha256, size = incoming.keep(), incoming.size
        except BaseException:
            incoming.discard()
            raise
    return {
        "duration_s": decoded.seconds,
        "playable_sha256": sha256,
        "playable_size": size,
        "playable_type": PLAYABLE_TYPE if sha256 else None,
        "cpu_s": time.process_time() - started,
    }


def transcribe(engine: TranscriptionEngine, path: str, max_s: float, language_hint: str | None) -> dict[str, Any]:
    started = time.process_time()
    decoded = decode(Path(path), keep_s=max_s, measure_s=max_s)
    decoded_at = time.process_time()
    heard = engine.transcribe(decoded.pcm, language_hint)
    return {
        "text": heard.text,
        "language": heard.language,
        "confidence": heard.confidence,
        "low_confidence": heard.low_confidence,
        "engine": heard.engine,
        "seconds": decoded.seconds,
        "decode_cpu_s": decoded_at - started,
        "recognise_cpu_s": time.process_time() - decoded_at,
        "segments": [msgspec.structs.asdict(s) for s in heard.segments],
        "language_probability": heard.language_probability,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """The most memory this process has held at once (the model's load included), in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


if __name__ == "__main__":
    serve(*sys.argv[1:5])

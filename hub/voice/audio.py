"""Audio with PyAV (FFmpeg's libraries, bundled in its wheel): decode any container the hub
accepts to 16 kHz mono PCM, measure its duration from the samples themselves, and make a copy
browsers everywhere can play (AAC in MP4) of what some cannot (AMR, 3GPP, Ogg and WebM in
Safari). Blocking and CPU-bound: it runs in the voice worker's child processes, never on the
hub's event loop, so a decoder that crashes on a hostile file takes only its child down.

Damaged audio is decoded as far as it goes: undecodable packets are skipped, and only a file
with no decodable sound at all is refused.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import msgspec

from channels.base import PuenteError
from hub.voice.engines import RATE

MAX_BAD_PACKETS = 200  # more undecodable packets than this: the file is not audio worth reading
# Types every browser plays as they are (Chrome, Firefox, Safari); anything else gets a copy.
BROWSER_CODECS = {
    "audio/mpeg": {"mp3", "mp3float"},
    "audio/mp4": {"aac"},
    "audio/aac": {"aac"},
    "audio/wav": {"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
}
PLAYABLE_TYPE = "audio/mp4"  # the copy: AAC-LC in an M4A container, mono
PLAYABLE_RATE, PLAYABLE_BITRATE = 24000, 48000


class AudioProblem(PuenteError):
    """The file cannot be used: code is one of hub/voice/reasons.py's."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code, self.params = code, params


class Decoded(msgspec.Struct):
    pcm: bytes  # 16 kHz mono s16, at most `keep_s` seconds of it
    seconds: float  # the whole file's sound, up to `measure_s`
    codec: str
    playable: bytes | None = None  # an AAC/MP4 copy, when asked for and needed


def decode(path: Path, keep_s: float, measure_s: float, content_type: str = "", copy: bool = False) -> Decoded:
    """Decode the first audio stream: PCM for the engine (up to keep_s), its duration (decoding
    stops at measure_s), and with `copy` a browser-playable copy if the type needs one."""
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        raise AudioProblem("undecodable") from None
    with container:
        if not container.streams.audio:
            raise AudioProblem("no_audio")
        stream = container.streams.audio[0]
        codec = stream.codec_context.name if stream.codec_context else "unknown"
        needs_copy = copy and codec not in BROWSER_CODECS.get(content_type, set())
        to_pcm = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        copier = _Copier() if needs_copy else None
        pcm, samples, bad = bytearray(), 0, 0
        keep_bytes, measure_samples = int(keep_s * RATE) * 2, int(measure_s * RATE)
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except (av.FFmpegError, ValueError):
                    bad += 1
                    if bad > MAX_BAD_PACKETS:
                        break
                    continue
                for frame in frames:
                    if copier is not None:
                        copier.add(frame)
                    for out in to_pcm.resample(frame):
                        samples += _take(out, pcm, keep_bytes)
                if samples >= measure_samples:
                    break
            for out in to_pcm.resample(None):
                samples += _take(out, pcm, keep_bytes)
        except (av.FFmpegError, ValueError, MemoryError):
            bad += 1  # the demuxer gave up part-way: keep what was decoded
        if samples == 0:
            raise AudioProblem("undecodable" if bad else "no_audio")
        playable = copier.finish() if copier is not None else None
    return Decoded(bytes(pcm), samples / RATE, codec, playable)


def _take(frame: av.AudioFrame, pcm: bytearray, keep_bytes: int) -> int:
    if len(pcm) < keep_bytes:
        data = bytes(frame.planes[0])[: frame.samples * 2]  # planes may be padded
        pcm += data[: keep_bytes - len(pcm)]
    return frame.samples


class _Copier:
    """Re-encodes decoded frames as AAC in an M4A container, in memory."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.out = av.open(self.buf, mode="w", format="ipod")
        self.stream = self.out.add_stream("aac", rate=PLAYABLE_RATE, layout="mono")
        self.stream.bit_rate = PLAYABLE_BITRATE
        self.resampler = av.AudioResampler(format="fltp", layout="mono", rate=PLAYABLE_RATE)

    def add(self, frame: av.AudioFrame | None) -> None:
        if frame is not None:
            frame.pts = None  # timestamps are the encoder's: damaged input may jump
        for out in self.resampler.resample(frame):
            for packet in self.stream.encode(out):
                self.out.mux(packet)

    def finish(self) -> bytes:
        self.add(None)
        for packet in self.stream.encode(None):
            self.out.mux(packet)
        self.out.close()
        return self.buf.getvalue()

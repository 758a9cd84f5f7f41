"""Which kinds of file the hub keeps, and what a file's first bytes say it is. Pure functions.

A file is kept only when the type the provider declared, the type its server answered with and
the type its bytes sniff as are all allowed and name the same kind of file. Active content
(HTML, SVG, XML, scripts) is never allowed, whatever it claims to be.
"""

from __future__ import annotations

from channels.base import CONTENT_TYPE_ALIASES, canonical  # noqa: F401 - the hub names them here too
from hub.media.reasons import Failure

# type -> the family its bytes must sniff as
ALLOWED: dict[str, str] = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heif",
    "image/heif": "heif",
    "audio/ogg": "ogg",
    "audio/amr": "amr",
    "audio/mpeg": "mpeg",
    "audio/aac": "aac",
    "audio/mp4": "mp4",
    "audio/wav": "wav",
    "audio/webm": "webm",
    "audio/3gpp": "3gpp",
    "video/mp4": "mp4",
    "video/3gpp": "3gpp",
    "video/webm": "webm",
    "application/pdf": "pdf",
}
# Shown inline by browsers (an <img>, an <audio>, a <video>); anything else is a download.
INLINE = {t for t in ALLOWED if t.split("/")[0] in ("image", "audio", "video")} - {"image/heic", "image/heif"}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "audio/ogg": "ogg",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "audio/webm": "webm",
    "audio/3gpp": "3gp",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/webm": "webm",
    "application/pdf": "pdf",
}
SNIFF_BYTES = 64  # enough of the head to tell every allowed family apart

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def sniff(head: bytes) -> str | None:
    """The family a file's first bytes belong to, or None when it is none we keep."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return "amr"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM names its doctype near the start
        return "webm" if b"webm" in head[:SNIFF_BYTES] else None
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[4:8] == b"ftyp":  # ISO base media: the major brand says which
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "heif"
        if brand.startswith((b"3gp", b"3g2")):
            return "3gpp"
        if brand.startswith(b"qt"):
            return None  # QuickTime
        return "mp4"
    if head.startswith(b"ID3"):
        return "mpeg"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame
        layer = (head[1] >> 1) & 0b11
        if layer == 0:
            return "aac" if head[1] & 0xF6 == 0xF0 else None  # ADTS
        return "mpeg"
    return None


def check_declared(declared: str) -> str:
    """The provider's declared type, canonical, if we keep such files; refused before fetching."""
    kind = canonical(declared)
    if kind not in ALLOWED:
        raise Failure("type_not_allowed", type=_shown(declared))
    return kind


def check_served(declared: str, served: str | None) -> None:
    """The server's Content-Type must be allowed and of the declared type's family."""
    kind = canonical(served)
    if kind not in ALLOWED:
        raise Failure("type_not_allowed", type=_shown(served or "none"))
    if ALLOWED[kind] != ALLOWED[declared]:
        raise Failure("type_mismatch", type=declared)


def check_bytes(declared: str, head: bytes) -> str:
    """The content type to serve the file with: the declared type, once its bytes prove it."""
    if sniff(head) != ALLOWED[declared]:
        raise Failure("type_mismatch", type=declared)
    return declared


def _shown(content_type: str) -> str:
    """A provider's type string, safe to show: short, printable."""
    cleaned = "".join(c for c in content_type.split(";", 1)[0].strip() if c.isprintable())
    return cleaned[:60] or "none"

"""A message's original and its attachments into the hub's file storage (data_dir/media, by
sha256), before the message is committed: a committed message always has its files. Blocking
code, for a worker thread.

What /api/media serves an attachment as is decided here: a type the hub keeps for MMS only when
the file's bytes prove it (an image shown inline, a PDF), anything else as a download
(application/octet-stream) that no browser renders, whatever the sender declared.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from channels.email.mime import Part
from hub.media.sniff import ALLOWED, SNIFF_BYTES, canonical, sniff
from hub.media.storage import MediaStore

DOWNLOAD = "application/octet-stream"
# A file sent as "application/octet-stream" whose bytes are a PDF or a JPEG is served as one.
BY_FAMILY = {family: kind for kind, family in reversed(ALLOWED.items())}


class StoredFile(msgspec.Struct, frozen=True):
    sha256: str
    size: int
    declared_type: str
    served_type: str  # what /api/media/{id} answers with
    shown_type: str  # the attachment's type in the timeline
    name: str | None
    content_id: str | None
    inline: bool


class Stored(msgspec.Struct, frozen=True):
    raw_sha256: str
    raw_size: int
    files: tuple[StoredFile, ...]


def keep(store: MediaStore, data: bytes) -> str:
    incoming = store.incoming()
    try:
        incoming.write(data)
        return incoming.keep()
    except BaseException:
        incoming.discard()
        raise


def served_type(declared: str, data: bytes) -> str:
    kind = canonical(declared)
    family = sniff(data[:SNIFF_BYTES])
    if kind in ALLOWED and ALLOWED[kind] == family:
        return kind
    if family is not None and kind in ("", DOWNLOAD, "binary/octet-stream", "application/x-download"):
        return BY_FAMILY[family]
    return DOWNLOAD


def _shown_type(declared: str, served: str) -> str:
    kind = canonical(declared)[:100]
    if served != DOWNLOAD or not kind or kind.split("/")[0] in ("image", "audio", "video"):
        return served  # media the bytes did not prove is never offered inline
    return kind


def store_mail(store: MediaStore, raw: bytes, parts: Sequence[Part]) -> Stored:
    files = []
    for p in parts:
        served = served_type(p.content_type, p.data)
        files.append(
            StoredFile(
                sha256=keep(store, p.data),
                size=len(p.data),
                declared_type=(p.content_type or DOWNLOAD)[:200],
                served_type=served,
                shown_type=_shown_type(p.content_type, served),
                name=p.filename,
                content_id=p.content_id,
                inline=p.inline,
            )
        )
    return Stored(keep(store, raw), len(raw), tuple(files))

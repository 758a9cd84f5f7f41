"""Content-addressed files under data_dir/media: a file's name is its sha256.

A file is received into a temporary file, hashed as it comes, then fsynced and renamed into
place (and its directory fsynced) before any row says it is stored. The same content twice is
one file. Blocking code: callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from pathlib import Path

from hub.media.sniff import SNIFF_BYTES

TEMP_MAX_AGE_S = 3600  # a temporary file older than this belongs to no fetch still running


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp = root / "tmp"

    def prepare(self) -> None:
        """Make the directories; clear temporary files left by a hub that stopped mid-fetch."""
        self.temp.mkdir(parents=True, exist_ok=True, mode=0o700)
        cutoff = time.time() - TEMP_MAX_AGE_S
        for leftover in self.temp.glob("*.part"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except FileNotFoundError:
                pass

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256

    def incoming(self) -> Incoming:
        return Incoming(self)


class Incoming:
    """One file being received."""

    def __init__(self, store: MediaStore) -> None:
        self._store = store
        self._lock = threading.Lock()  # a cancelled caller may discard while a write still runs
        store.temp.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = store.temp / f"{uuid.uuid4().hex}.part"
        self._file = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if self._file.closed:
                return
            self._file.write(chunk)
            self._hash.update(chunk)
            self.size += len(chunk)
            if len(self.head) < SNIFF_BYTES:
                self.head = (self.head + chunk)[:SNIFF_BYTES]

    def keep(self) -> str:
        """Durably in place under its sha256; returns the sha256."""
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            sha256 = self._hash.hexdigest()
            dest = self._store.path_of(sha256)
            new_dir = not dest.parent.exists()
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if dest.exists():  # the same content, kept before
                self.path.unlink(missing_ok=True)
            else:
                os.replace(self.path, dest)
            _fsync_dir(dest.parent)
            if new_dir:
                _fsync_dir(self._store.root)
            return sha256

    def discard(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()
            self.path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""Sliding-window counters: how many things a key did in the last `window_s` seconds.

In memory, per hub process: with several processes each enforces its own share, which still
bounds abuse; a shared store is not worth a round trip on every public request.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque


class Window:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._calls = 0

    def _recent(self, key: str, now: float) -> deque[float] | None:
        q = self._hits.get(key)
        if q is None:
            return None
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._hits[key]  # keep the table small: only keys with live hits
            return None
        return q

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may act again; 0 when it may act now."""
        now = time.monotonic()
        q = self._recent(key, now)
        if q is None or len(q) < self.limit:
            return 0
        return int(q[0] + self.window_s - now) + 1

    def add(self, key: str) -> None:
        now = time.monotonic()
        self._hits[key].append(now)
        self._calls += 1
        if self._calls % 1024 == 0:  # now and then, forget keys that went quiet
            for stale in [k for k, q in self._hits.items() if q[-1] <= now - self.window_s]:
                del self._hits[stale]

    def hit(self, key: str) -> int:
        """Count one action by `key` if allowed: 0, else the seconds to wait (not counted)."""
        wait = self.retry_after(key)
        if not wait:
            self.add(key)
        return wait

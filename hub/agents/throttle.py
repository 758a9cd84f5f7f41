"""Failed sign-ins slow an attacker down: after too many failures from one address, or
against one login, further attempts are refused for a while (429), right or wrong."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class LoginThrottle:
    def __init__(self, max_failures: int = 10, window_s: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]  # keep the table small: only keys with live failures
            return deque()
        return q

    def retry_after(self, ip: str | None, login: str) -> int:
        """Seconds until an attempt is allowed again; 0 when it is allowed now."""
        now = time.monotonic()
        waits = [
            int(q[0] + self.window_s - now) + 1
            for key in (f"ip:{ip}", f"login:{login.lower()}")
            if len(q := self._recent(key, now)) >= self.max_failures
        ]
        return max(waits, default=0)

    def failed(self, ip: str | None, login: str) -> None:
        now = time.monotonic()
        for key in (f"ip:{ip}", f"login:{login.lower()}"):
            self._failures[key].append(now)

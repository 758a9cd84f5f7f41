"""Failed sign-ins slow an attacker down: after too many failures from one address, or
against one login, further attempts are refused for a while (429), right or wrong."""

from __future__ import annotations

from hub.ratelimit import Window


class LoginThrottle:
    def __init__(self, max_failures: int = 10, window_s: float = 300.0) -> None:
        self._failures = Window(max_failures, window_s)

    @staticmethod
    def _keys(ip: str | None, login: str) -> tuple[str, str]:
        return f"ip:{ip}", f"login:{login.lower()}"

    def retry_after(self, ip: str | None, login: str) -> int:
        """Seconds until an attempt is allowed again; 0 when it is allowed now."""
        return max(self._failures.retry_after(k) for k in self._keys(ip, login))

    def failed(self, ip: str | None, login: str) -> None:
        for key in self._keys(ip, login):
            self._failures.add(key)

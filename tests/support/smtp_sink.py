"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives and refuses on demand."""

from __future__ import annotations

import email
import threading
import time
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_replies: list[str] = []  # answers to give RCPT TO before accepting again
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
                with sink._lock:
                    if sink.rcpt_replies:
                        return sink.rcpt_replies.pop(0)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                msg = email.message_from_bytes(envelope.original_content, policy=default)
                with sink._lock:
                    sink.messages.append(msg)  # type: ignore[arg-type]
                    sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def refuse_next(self, *replies: str) -> None:
        """E.g. "450 4.2.1 Mailbox busy" (retried) or "550 5.1.1 No such user" (final)."""
        with self._lock:
            self.rcpt_replies.extend(replies)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

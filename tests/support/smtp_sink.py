"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives and refuses on demand."""

from __future__ import annotations

import email
import ssl
import threading
import time
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.server import free_port


class SmtpSink:
    """port: a fixed port (say, one a relay that is down will come back on); cert: (certificate,
    key) files for STARTTLS, or for TLS from the first byte with implicit_tls; login: the only
    (username, password) AUTH accepts, required before MAIL when given."""

    def __init__(
        self,
        port: int | None = None,
        *,
        cert: tuple[str, str] | None = None,
        implicit_tls: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # the bytes of each message as received
        self.envelopes: list[tuple[str, list[str]]] = []
        self.sessions: list[dict[str, Any]] = []  # per message: {"tls": bool, "login": str | None}
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
                    sink.raw.append(envelope.original_content)
                    sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                    tls = server.transport.get_extra_info("ssl_object") is not None
                    sink.sessions.append({"tls": tls, "login": session.auth_data})
                return "250 Message accepted for delivery"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and login is not None
            ok = ok and (auth_data.login.decode(), auth_data.password.decode()) == login
            return AuthResult(success=ok, handled=False, auth_data=login[0] if ok and login else None)

        options: dict[str, Any] = {}
        context = None
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*cert)
            if not implicit_tls:
                options.update(tls_context=context, require_starttls=True)
        if login is not None:
            # aiosmtpd counts only STARTTLS as TLS: over implicit TLS it must be told AUTH is safe.
            options.update(
                authenticator=authenticator, auth_required=True, auth_require_tls=cert is not None and not implicit_tls
            )
        self.port = port or free_port()
        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=context if implicit_tls else None,
            server_hostname="localhost" if implicit_tls else None,
            **options,
        )

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

"""The hub's SMTP listener (aiosmtpd), run on the hub's own event loop so it can await the writer:
a message is answered 250 only once it is committed.

RCPT for a domain the clinic does not receive mail for: 550 (no open relay). A message over the
size limit: 552 (announced in EHLO as SIZE, checked again on DATA). A message with no sender at
all: 550 5.1.7; one the hub cannot take for another reason: 550 5.6.0 with the reason; a failure
to store it: 451 (the sending server tries again later, and the Message-ID makes it land once).
A repeated Message-ID is answered 250 again and stored once. With a certificate configured it
offers STARTTLS, and may require it (530 until the sender starts TLS). Lines longer than the 998
octets RFC 5321 allows are taken as they come (the size limit bounds them).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import weakref
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from hub.email.receive import MailDesk, Refusal, receive_mail

log = logging.getLogger(__name__)
# aiosmtpd logs every sender and recipient address at INFO: patients' addresses stay out of logs.
logging.getLogger("mail.log").setLevel(logging.WARNING)

MAX_RECIPIENTS = 100
IDLE_TIMEOUT_S = 120
STOP_GRACE_S = 10.0  # a message being stored when the hub stops gets this long to finish


def _line(text: str) -> str:
    """An SMTP reply's text: one line of printable ASCII."""
    return " ".join(text.encode("ascii", "replace").decode().split())[:400]


class _SMTP(SMTP):
    """aiosmtpd answers a line over RFC 5321's 998 octets `500 Line too long` and drops the message
    (its `line_length_limit`, also the limit of its stream reader). A relay folds such lines; a
    direct sender may not, and the patient's message would be refused for good. So a line may be
    as long as the whole message may be: the size limit alone bounds what a sender can make us
    hold (a longer line is over it, and refused). Command lines keep their own limit (512)."""

    def __init__(self, handler: _Handler, *, line_limit: int, **kwargs: Any) -> None:
        self.line_length_limit = line_limit  # read by SMTP.__init__ for its reader
        super().__init__(handler, **kwargs)


class _Handler:
    def __init__(self, listener: SmtpListener) -> None:
        self._listener = listener

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].strip().strip(">").lower()
        if domain not in self._listener.domains:
            return "550 5.7.1 Relaying denied: this server takes mail only for the clinic's own addresses"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        return await self._listener.deliver(envelope)

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session failed: %s", type(error).__name__)
        return "451 4.3.0 Temporary failure; please try again later"


class SmtpListener:
    def __init__(
        self,
        hub: MailDesk,
        host: str,
        port: int,
        domains: frozenset[str],
        max_bytes: int,
        tls: ssl.SSLContext | None = None,
        require_tls: bool = False,
    ) -> None:
        self._hub = hub
        self._tls, self._require_tls = tls, require_tls
        self.host, self.port = host, port
        self.domains = domains
        self._max_bytes = max_bytes
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()  # open connections
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(self)
        hostname = next(iter(sorted(self.domains)), "localhost")

        def session() -> SMTP:
            smtp = _SMTP(
                handler,
                line_limit=(self._max_bytes or 25 * 1024 * 1024) + 2,  # 0: no size limit
                data_size_limit=self._max_bytes,
                enable_SMTPUTF8=True,
                hostname=hostname,
                ident="Puente",
                timeout=IDLE_TIMEOUT_S,
                loop=loop,
                tls_context=self._tls,  # offered as STARTTLS
                require_starttls=self._require_tls,
            )
            self._sessions.add(smtp)
            return smtp

        self._server = await loop.create_server(session, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if not self.domains:
            log.warning("the SMTP listener has no domains to accept mail for: every recipient is refused")
        log.info("SMTP listener on %s:%d%s", self.host, self.port, " with STARTTLS" if self._tls else "")

    async def deliver(self, envelope: Envelope) -> str:
        self._inflight += 1
        self._idle.clear()
        try:
            return await self._deliver(envelope)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def _deliver(self, envelope: Envelope) -> str:
        mail_from = (envelope.mail_from or "").strip()
        sender = "" if mail_from in ("<>", "") else mail_from
        try:
            received = await receive_mail(
                self._hub, envelope.original_content or b"", sender, list(envelope.rcpt_tos), "smtp"
            )
        except Refusal as exc:
            return _line(f"550 {exc.status} Message refused: {exc.message}")
        except Exception as exc:  # noqa: BLE001 - the database or the disk failed: the sender retries
            log.error("could not store an inbound email: %s", type(exc).__name__)
            return "451 4.3.0 The message could not be stored just now; please try again later"
        if received.duplicate:
            return "250 2.0.0 OK: already received"
        return "250 2.0.0 OK: stored"

    async def stop(self) -> None:
        """Take no new connections; let messages being stored finish; close the rest."""
        if self._server is None:
            return
        self._server.close()
        try:
            await asyncio.wait_for(self._idle.wait(), STOP_GRACE_S)
        except TimeoutError:
            log.warning("stopping with %d inbound email(s) not yet stored; their senders will retry", self._inflight)
        for smtp in list(self._sessions):
            transport: Any = smtp.transport
            if transport is not None:
                transport.close()
        self._sessions.clear()
        await self._server.wait_closed()
        self._server = None

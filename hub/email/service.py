"""The hub's email parts that live as long as it does: the SMTP listener, who replies come
from, and the webhooks' rate limit and replay memory."""

from __future__ import annotations

import ssl
import time

from hub.email.listener import SmtpListener
from hub.email.outbound import MailIdentity, accepted_domains, mail_identity
from hub.email.receive import MailDesk
from hub.ratelimit import Window
from hub.settings import EmailSettings, Settings


class SeenTokens:
    """Mailgun tokens already accepted, kept as long as their timestamps would still pass: a
    signed post replayed within that time is refused too."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._until: dict[str, float] = {}

    def seen(self, token: str) -> bool:
        now = time.monotonic()
        if len(self._until) > 1024:
            self._until = {t: u for t, u in self._until.items() if u > now}
        return self._until.get(token, 0) > now

    def remember(self, token: str) -> None:
        self._until[token] = time.monotonic() + self._ttl_s


class EmailService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.identity: MailIdentity | None = mail_identity(settings)
        self.domains = accepted_domains(settings)
        self.webhooks = Window(settings.email.webhooks_per_minute, 60)  # per IP address
        self.mailgun_tokens = SeenTokens(settings.email.mailgun_max_age_s * 2 + 60)
        self.listener: SmtpListener | None = None

    async def start(self, hub: MailDesk) -> None:
        e = self.settings.email
        if e.listen_port:
            self.listener = SmtpListener(
                hub, e.listen_host, e.listen_port, self.domains, e.max_bytes, listener_tls(e), e.require_tls
            )
            await self.listener.start()

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None


def listener_tls(e: EmailSettings) -> ssl.SSLContext | None:
    """The listener's STARTTLS context, or None when no certificate is configured. A certificate
    that cannot be loaded stops the hub at start: mail must not quietly go unencrypted."""
    if not e.tls_cert_file and not e.tls_key_file:
        if e.require_tls:
            raise ValueError("PUENTE_EMAIL_REQUIRE_TLS needs PUENTE_EMAIL_TLS_CERT and PUENTE_EMAIL_TLS_KEY")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(e.tls_cert_file, e.tls_key_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"the SMTP listener's certificate or key cannot be loaded: {exc}") from exc
    return context

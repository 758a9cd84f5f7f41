"""One path for every way mail arrives (the SMTP listener, SendGrid, Mailgun): parse, keep the
original and the attachments, then commit through the writer. The caller answers the sender
only once this returns, so a message acknowledged is a message stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

import anyio
import msgspec

from channels.base import InvalidPayload, PuenteError
from channels.email.adapter import EmailAdapter, to_inbound
from channels.email.mime import NoSender
from channels.registry import ALL
from hub.db.writer import Writer
from hub.email.ingest import EmailIn, Received, ingest_email
from hub.email.store import store_mail
from hub.media.storage import MediaStore
from hub.patients.contacts import InvalidContact
from hub.settings import Settings
from hub.timeline.door import Door


class _HasStore(Protocol):
    store: MediaStore


class MailDesk(Protocol):
    """What taking mail needs of the hub (the Hub is one)."""

    settings: Settings
    writer: Writer
    door: Door
    media: _HasStore


ADAPTER: EmailAdapter = ALL["email"]  # type: ignore[assignment]


class Refusal(PuenteError):
    """Mail the hub will not take; `message` says why, in words a mail administrator reads, and
    `status` is the enhanced SMTP status code (RFC 3463) for it."""

    def __init__(self, message: str, status: str = "5.6.0") -> None:
        super().__init__(message)
        self.message, self.status = message, status


async def receive_mail(
    hub: MailDesk,
    raw: bytes,
    envelope_from: str | None,
    envelope_to: Sequence[str],
    source: str,
) -> Received:
    """Raises Refusal for mail that cannot be taken (no sender at all, a sender address that is
    no address); the writer's own errors propagate (the caller answers "try again later")."""
    settings = hub.settings
    try:
        parsed = await anyio.to_thread.run_sync(ADAPTER.parse, raw, envelope_from, tuple(envelope_to))
    except NoSender as exc:
        raise Refusal(str(exc), "5.1.7") from None  # RFC 3463: bad sender's mailbox address
    except InvalidPayload as exc:
        raise Refusal(str(exc)) from None
    checked = None
    if parsed.bounce is None:
        try:
            msg = to_inbound(parsed)
            checked = hub.door.check(msg)
        except (InvalidPayload, InvalidContact) as exc:
            raise Refusal(f"the sender's address cannot be used: {exc}", "5.1.7") from None
    stored = await anyio.to_thread.run_sync(store_mail, hub.media.store, raw, parsed.attachments)
    item = EmailIn(
        parsed=msgspec.structs.replace(parsed, attachments=()),
        stored=stored,
        checked=checked,
        source=source,
        reopen_within=timedelta(days=settings.email.reopen_days),
    )
    return await hub.writer.submit(ingest_email, item)

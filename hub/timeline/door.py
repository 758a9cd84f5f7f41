"""The one door into the timeline: every normalised inbound message (SMS, email, web chat, voice
notes and voicemail, the API channel, the demo) is checked here and stored by `admit`, exactly once
by channel and provider message id, and answered only after commit.

    adapter (channels/, pure) -> Door.check -> Door.receive (the writer) -> admit -> the timeline

A caller that must store something with the message in the same transaction (a consent keyword's
reply, an email's thread, a voice upload's file) checks at the door, then calls `admit` inside its
own writer batch function.
"""

from __future__ import annotations

from channels.base import InboundMessage
from hub.db.writer import Writer
from hub.timeline.ingest import CheckedInbound, IngestResult, check_inbound, ingest_batch

admit = ingest_batch  # the batch function that stores checked messages (hub.timeline.ingest)


class Door:
    def __init__(self, writer: Writer, default_region: str, first_handler: str) -> None:
        """default_region: how phone numbers without a country code are read; first_handler: who
        answers a conversation a message opens ("bot" with the assistant on, else "agent")."""
        self._writer = writer
        self._region = default_region
        self._first_handler = first_handler

    def check(self, msg: InboundMessage, first_handler: str | None = None) -> CheckedInbound:
        """The message with its sender's address normalised; InvalidContact says what is wrong."""
        return check_inbound(msg, self._region, first_handler or self._first_handler)

    async def receive(self, msg: InboundMessage | CheckedInbound) -> IngestResult:
        """Check (unless checked already) and store the message; returns once it is committed."""
        checked = msg if isinstance(msg, CheckedInbound) else self.check(msg)
        return await self._writer.submit(admit, checked)

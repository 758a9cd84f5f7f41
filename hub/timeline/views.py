"""Rows to the wire structs of hub.events."""

from __future__ import annotations

from typing import Any

import msgspec

from hub.bot.identity import still_verified
from hub.db.models import Conversation, TimelineEvent
from hub.db.types import utcnow
from hub.events import (
    Attachment,
    AuthorType,
    Circle,
    ConversationOut,
    ConversationStatus,
    EventFrame,
    EventKind,
    Reach,
    TimelineEventOut,
)

# The columns event_out reads, for Core selects (search_text is for search alone).
SHOWN_COLUMNS = [c for c in TimelineEvent.__table__.c if c.key != "search_text"]


def event_out(e: TimelineEvent | Any, author_name: str | None = None) -> TimelineEventOut:
    return TimelineEventOut(
        seq=e.seq,
        kind=EventKind(e.kind),
        conversation_id=e.conversation_id,
        patient_id=e.patient_id,
        channel=e.channel,
        author_type=AuthorType(e.author_type),
        author_id=e.author_id,
        author_name=author_name,
        text=e.text,
        attachments=msgspec.convert(e.attachments or [], list[Attachment]),
        provider_message_id=e.provider_message_id,
        data=e.data or {},
        created_at=e.created_at,
    )


def conversation_out(c: Conversation, patient_name: str, assignee_name: str | None) -> ConversationOut:
    return ConversationOut(
        id=c.id,
        patient_id=c.patient_id,
        patient_name=patient_name,
        status=ConversationStatus(c.status),
        handler=c.handler,
        assignee_id=c.assignee_id,
        assignee_name=assignee_name,
        team_id=c.team_id,
        priority=c.priority,
        channel=c.channel,
        opened_at=c.opened_at,
        first_response_at=c.first_response_at,
        resolved_at=c.resolved_at,
        last_event_seq=c.last_event_seq,
        last_message_at=c.last_message_at,
        last_inbound_channel=c.last_inbound_channel,
        preview=c.preview,
        queued_at=c.queued_at,
        language=c.language,
        # An old check is shown as none: it no longer holds (hub.bot.identity.VERIFIED_FOR).
        verified_at=c.verified_at if still_verified(c.verified_at, utcnow()) else None,
        urgent_since=c.urgent_since,
        escalation=Circle(c.escalation or 0),
        snoozed_until=c.snoozed_until,
        last_inbound_at=c.last_inbound_at,
    )


def stream_frame(event: TimelineEventOut, conversation: ConversationOut, was: Reach | None = None) -> EventFrame:
    """The one way a stream frame is made: live after commit (append, ingest) or read back (a
    reconnect's backfill, a gap filled)."""
    return EventFrame(seq=event.seq, event=event, conversation=conversation, was=was)


def preview(text: str | None, attachments: list[Any]) -> str | None:
    if text:
        flat = " ".join(text.split())
        return flat if len(flat) <= 157 else flat[:157] + "..."
    if attachments:
        return f"[{len(attachments)} attachment(s)]"
    return None

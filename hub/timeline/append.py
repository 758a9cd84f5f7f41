"""Append one event to a conversation's timeline inside the writer's transaction, and schedule
its frame for after commit. Agents' actions, consent changes and system messages all use it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from hub.db.models import Conversation, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, EventFrame, EventKind, Published, TimelineEventOut
from hub.timeline.reads import conversation_summary
from hub.timeline.views import event_out


def append_event(
    tx: Tx,
    conv: Conversation,
    kind: EventKind,
    *,
    author_type: AuthorType,
    author_id: int | None = None,
    author_name: str | None = None,
    text: str | None = None,
    channel: str | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEventOut:
    (seq,) = tx.allocate_seqs(1)
    row = dict(
        seq=seq,
        conversation_id=conv.id,
        patient_id=conv.patient_id,
        kind=kind,
        channel=channel,
        author_type=author_type,
        author_id=author_id,
        text=text,
        attachments=[],
        provider_message_id=None,
        data=data or {},
        created_at=utcnow(),
    )
    tx.session.execute(insert(TimelineEvent), [row])
    conv.last_event_seq = seq
    tx.session.flush()
    event = event_out(TimelineEvent(**row), author_name)
    frame = EventFrame(seq=seq, event=event, conversation=conversation_summary(tx.session, conv))
    tx.publish_after_commit(Published(frame=frame, team_id=conv.team_id, assignee_id=conv.assignee_id))
    return event

"""Append one event to a conversation's timeline inside the writer's transaction, and schedule
its frame for after commit. Agents' actions, consent changes and system messages all use it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, event, insert, select
from sqlalchemy.orm import Session

from channels.base import Channel
from hub.db.models import Conversation, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, Circle, EventKind, Published, Reach, TimelineEventOut, checked_data
from hub.search.fold import searchable
from hub.timeline.reads import conversation_summary
from hub.timeline.views import event_out, stream_frame


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
        search_text=searchable(text),
        attachments=[],
        provider_message_id=None,
        data=checked_data(kind, data or {}),
        created_at=utcnow(),
    )
    if kind == EventKind.MESSAGE_OUT and channel == Channel.WEBCHAT and "to" not in row["data"]:
        # Web chat answers one visitor, as SMS answers one number: another browser that proved the
        # same phone is a different chat and does not see it.
        row["data"] = {**row["data"], "to": webchat_recipient(tx.session, conv.id, conv.patient_id)}
    tx.session.execute(insert(TimelineEvent), [row])
    conv.last_event_seq = seq
    tx.session.flush()
    event = event_out(TimelineEvent(**row), author_name)
    reach, before = reach_of(conv), getattr(conv, _SHOWN_REACH, None)
    setattr(conv, _SHOWN_REACH, reach)
    frame = stream_frame(event, conversation_summary(tx.session, conv), before if before != reach else None)
    tx.publish_after_commit(Published(frame=frame, team_id=conv.team_id, assignee_id=conv.assignee_id))
    return event


# The reach a conversation had when this transaction read it, then as of its latest frame: a frame
# whose event moved it carries the reach before (EventFrame.was), whatever code made the move.
_SHOWN_REACH = "_puente_shown_reach"


def reach_of(conv: Conversation) -> Reach:
    return Reach(conv.team_id, conv.assignee_id, Circle(conv.escalation or 0))


@event.listens_for(Conversation, "load")
def _remember_reach(conv: Conversation, _context: Any) -> None:
    setattr(conv, _SHOWN_REACH, reach_of(conv))


@event.listens_for(Conversation, "refresh")
def _remember_refreshed_reach(conv: Conversation, _context: Any, _attrs: Any) -> None:
    setattr(conv, _SHOWN_REACH, reach_of(conv))


def last_via(session: Session, conversation_id: int, channel: str, before_seq: int | None = None) -> int | None:
    """The contact point the patient last wrote from on `channel` in this conversation (before
    `before_seq`): where the conversation's replies on that channel go back to."""
    return _last_via(session, TimelineEvent.conversation_id == conversation_id, channel, before_seq)


def webchat_recipient(
    session: Session, conversation_id: int, patient_id: int, before_seq: int | None = None
) -> int | None:
    """The web-chat visitor (their contact point) a reply in this conversation goes to: the one
    who last wrote in it, else the one who last wrote to the patient at all (as of `before_seq`,
    when given). None: no visitor ever wrote; only a portal user, whom the clinic's login vouched
    for, sees such a reply."""
    to = last_via(session, conversation_id, Channel.WEBCHAT, before_seq)
    if to is None:
        to = _last_via(session, TimelineEvent.patient_id == patient_id, Channel.WEBCHAT, before_seq)
    return to


def _last_via(session: Session, where: ColumnElement[bool], channel: str, before_seq: int | None) -> int | None:
    data = session.execute(
        select(TimelineEvent.data)
        .where(
            where,
            TimelineEvent.kind == EventKind.MESSAGE_IN,
            TimelineEvent.channel == channel,
            *([TimelineEvent.seq < before_seq] if before_seq is not None else []),
        )
        .order_by(TimelineEvent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    via = (data or {}).get("via")
    return via if isinstance(via, int) else None

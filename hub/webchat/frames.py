"""What a web-chat visitor sees of the timeline: their own messages and the replies to them, as the
widget's frames (the SQL side of the same rule is hub.webchat.receipts)."""

from __future__ import annotations

from channels.base import Channel
from hub.events import AuthorType, EventKind, TimelineEventOut, VisitorAuthor, VisitorMessageFrame

# Who wrote it, as the visitor is told.
AUTHORS: dict[AuthorType, VisitorAuthor] = {
    AuthorType.PATIENT: "you",
    AuthorType.AGENT: "agent",
    AuthorType.BOT: "bot",
    AuthorType.SYSTEM: "clinic",
}
SHOWN = {EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT}


def visitor_frame(event: TimelineEventOut, point_id: int | None = None) -> VisitorMessageFrame | None:
    """What a visitor sees of a timeline event: their web-chat messages and the replies to
    them, nothing else (no notes, no other channels, no staff details but a first name).

    `point_id`: an anonymous visitor's contact point; they see what they wrote from it and the
    replies addressed to it, not the patient's other web chats. None: a portal user, whom the
    clinic's own login vouched for as the patient, sees all of the patient's web chat."""
    if event.kind not in SHOWN or event.channel != Channel.WEBCHAT:
        return None
    if point_id is not None and not _addressed(event, point_id):
        return None
    author = AUTHORS[event.author_type]
    own_id = None
    if author == "you" and event.provider_message_id and "/" in event.provider_message_id:
        own_id = event.provider_message_id.rsplit("/", 1)[1]
    name = event.author_name.split()[0] if author == "agent" and event.author_name else None
    survey = event.kind == EventKind.MESSAGE_OUT and (event.data or {}).get("template") == "csat_ask"
    return VisitorMessageFrame(
        seq=event.seq, id=own_id, author=author, name=name, text=event.text, created_at=event.created_at, survey=survey
    )


def _addressed(event: TimelineEventOut, point_id: int) -> bool:
    data = event.data or {}
    if event.kind == EventKind.MESSAGE_IN:
        return data.get("via") == point_id
    return data.get("to") == point_id

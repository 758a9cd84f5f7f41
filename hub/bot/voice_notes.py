"""Voice notes as the assistant sees them: one whose words are still coming (its transcript), one
nobody can rely on, one whose audio never arrived."""

from __future__ import annotations

from typing import Any

from hub.db.models import TimelineEvent
from hub.events import EventKind
from hub.i18n import supported
from hub.voice.queue import is_voice


def awaits_transcript(event: TimelineEvent) -> bool:
    """Audio only, on a channel whose audio becomes a voice note, none of it failed to arrive: a
    transcript (or a "transcription failed") will follow. Anything else needs a person now."""
    return _voice_only(event) and not any(a.get("state") == "failed" for a in event.attachments)


def voice_unclear(event: TimelineEvent) -> str | None:
    """Why a transcript cannot be answered as the patient's words ("failed", "empty", "language":
    a language the clinic does not serve, "low_confidence"), or None for one that can."""
    if event.kind != EventKind.TRANSCRIPT:
        return None
    data = event.data or {}
    if data.get("state") != "done":
        return "failed"
    if not (event.text or "").strip():
        return "empty"
    if supported(data.get("language")) is None:
        return "language"
    if data.get("low_confidence"):
        return "low_confidence"
    return None


def _voice_only(message: TimelineEvent) -> bool:
    """Nothing but audio that becomes a voice note on its channel."""
    attachments = message.attachments or []
    channel = message.channel or ""
    return bool(attachments) and all(is_voice(channel, str(a.get("content_type", ""))) for a in attachments)


def lost_voice_note(s: Any, event: TimelineEvent) -> bool:
    """A media_status saying the audio of a voice note the bot waits for never arrived (so no
    transcript will come): the message was audio only, and now some of it failed."""
    data = event.data or {}
    if data.get("state") != "failed" or not isinstance(data.get("message_seq"), int):
        return False
    message = s.get(TimelineEvent, data["message_seq"])
    if message is None or message.kind != EventKind.MESSAGE_IN or (message.text or "").strip():
        return False
    return _voice_only(message)

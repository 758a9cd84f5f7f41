"""Voice notes, database side: queued with the audio they are made of, claimed, settled. All of
it runs in the writer's transactions.

A note is queued in the transaction that stores its audio (a fetched MMS or voicemail, a web-chat
upload), so stored audio never misses its transcript. The worker claims due notes (`working`,
with its process and the time, refreshed while it works), and settles each step here: checked
(duration and a playable copy: a VOICE_NOTE event), then done or failed (a TRANSCRIPT event),
or back to pending with backoff when a child process crashed or timed out. The message's
attachment carries the note's state for display, as media do. Transcribing twice is harmless,
so an interrupted claim simply goes back to pending.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select

from hub.db.models import Conversation, Media, Patient, TimelineEvent, VoiceNote
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, EventKind
from hub.jobs import Claim, JobOutcome, Sweep, due_rows, hand_back, interrupt, next_due, retry_or_fail, take
from hub.jobs import requeue_stale as stale_jobs
from hub.timeline.append import append_event
from hub.timeline.views import preview
from hub.voice.reasons import VoiceFailure

VOICE_CHANNELS = frozenset({"sms", "voice", "webchat"})  # whose audio becomes a voice note
FINAL = ("done", "failed")


def is_voice(channel: str, content_type: str | None) -> bool:
    return channel in VOICE_CHANNELS and (content_type or "").startswith("audio/")


def playable_url(media_id: int) -> str:
    return f"/api/media/{media_id}/playable"


def queue_voice_note(tx: Tx, media: Media, attachment: dict[str, Any]) -> None:
    """Inside the transaction that stored `media`: audio becomes a voice note waiting for the
    worker, and its attachment (a dict the caller writes back) says so."""
    if not is_voice(media.channel, media.content_type):
        return
    now = utcnow()
    tx.session.add(
        VoiceNote(
            media_id=media.id,
            message_seq=media.message_seq,
            patient_id=media.patient_id,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            error_params={},
            created_at=now,
        )
    )
    attachment["voice"] = {"state": "pending"}


class Due(msgspec.Struct, frozen=True):
    note_id: int
    media_id: int
    sha256: str
    content_type: str
    size: int
    duration_s: float | None  # None: not checked yet
    language_hint: str | None  # the patient's language, when the record says
    attempt: int
    claimed_by: str


class Claimed(msgspec.Struct, frozen=True):
    due: list[Due]
    next_at: datetime | None  # when the earliest note still pending falls due


def claim_due(tx: Tx, items: list[Claim]) -> list[Claimed]:
    out: list[Claimed] = []
    for claim in items:
        now = utcnow()
        due = []
        for row in due_rows(tx, VoiceNote, claim.limit, now):
            media = tx.session.get(Media, row.media_id)
            patient = tx.session.get(Patient, row.patient_id)
            if media is None or not media.sha256:  # its audio is gone: nothing to work on, ever
                failure = VoiceFailure("missing")
                row.state, row.error_code, row.error, row.error_params = "failed", failure.code, failure.text(), {}
                _finish(tx, row)
                continue
            take(row, "working", claim.claimant, now)
            hint = (patient.preferred_language if patient else None) or None
            due.append(
                Due(
                    row.id,
                    media.id,
                    media.sha256,
                    media.content_type or "",
                    media.size or 0,
                    row.duration_s,
                    hint,
                    row.attempts,
                    claim.claimant,
                )
            )
        out.append(Claimed(due, next_due(tx, VoiceNote)))
    return out


class Checked(msgspec.Struct, frozen=True):
    """The audio decoded: how long it is, and a copy to play where the original cannot be."""

    due: Due
    duration_s: float
    playable_sha256: str | None = None
    playable_size: int | None = None


def settle_checked(tx: Tx, items: list[Checked]) -> list[bool]:
    """Record each check (the claim stays ours: transcription follows); False when the claim
    was lost meanwhile (requeued as stale), and the caller should stop."""
    out = []
    for checked in items:
        row = _ours(tx, checked.due)
        if row is None:
            out.append(False)
            continue
        row.duration_s = round(checked.duration_s, 3)
        row.playable_sha256, row.playable_size = checked.playable_sha256, checked.playable_size
        row.claimed_at = utcnow()
        url = playable_url(row.media_id) if row.playable_sha256 else None
        _show(tx, row, {"state": "transcribing", "duration_s": row.duration_s, "playable_url": url})
        data = {"duration_s": row.duration_s, "playable_url": url}
        _event(tx, row, EventKind.VOICE_NOTE, None, data)
        out.append(True)
    return out


class Heard(msgspec.Struct, frozen=True):
    text: str
    language: str | None
    confidence: float | None
    low_confidence: bool
    engine: str
    segments: list[dict[str, Any]] = []  # {start, end, text, confidence} as the engine heard them
    language_probability: float | None = None


class Outcome(JobOutcome, frozen=True, kw_only=True):
    """What one attempt came to: its result, or a failure (hub.jobs.JobOutcome)."""

    due: Due
    heard: Heard | None = None


def settle(tx: Tx, items: list[Outcome]) -> list[None]:
    """Record each attempt's outcome, for claims still ours."""
    for outcome in items:
        row = _ours(tx, outcome.due)
        if row is None:
            continue  # requeued as stale meanwhile: someone transcribes it again
        row.claimed_by = row.claimed_at = None
        if outcome.heard is not None:
            h = outcome.heard
            row.state, row.text, row.language = "done", h.text, h.language
            row.confidence, row.low_confidence, row.engine = h.confidence, h.low_confidence, h.engine[:60]
            row.error_code = row.error = None
            row.error_params = {}
            _finish(tx, row, {"segments": h.segments, "language_probability": h.language_probability})
            continue
        if retry_or_fail(row, outcome, outcome.due.attempt):
            _finish(tx, row)
    return [None] * len(items)


def release(tx: Tx, claimants: list[str]) -> list[int]:
    """A stopping hub hands back what it was working on."""
    return [hand_back(tx, VoiceNote, "working", claimant) for claimant in claimants]


def keep_claims(tx: Tx, claimants: list[str]) -> list[int]:
    """A live worker says it is still at it: its claims' time moves on, so they never look stale."""
    out = []
    for claimant in claimants:
        rows = (
            tx.session.execute(select(VoiceNote).where(VoiceNote.state == "working", VoiceNote.claimed_by == claimant))
            .scalars()
            .all()
        )
        now = utcnow()
        for row in rows:
            row.claimed_at = now
        out.append(len(rows))
    return out


def requeue_stale(tx: Tx, items: list[Sweep]) -> list[int]:
    """Claims nobody kept up (a hub that died mid-transcription): worked on again, or failed."""
    return [stale_jobs(tx, VoiceNote, "working", sweep, lambda row: _interrupted(tx, row)) for sweep in items]


def _interrupted(tx: Tx, row: VoiceNote) -> None:
    interrupt(row, VoiceFailure("interrupted"))
    _finish(tx, row)


def _ours(tx: Tx, due: Due) -> VoiceNote | None:
    row = tx.session.get(VoiceNote, due.note_id, with_for_update=True)
    if row is None or row.state != "working" or row.claimed_by != due.claimed_by:
        return None
    return row


def _finish(tx: Tx, row: VoiceNote, heard: dict[str, Any] | None = None) -> None:
    """A final state: shown on the message's attachment, recorded as a transcript event (with what
    the engine says of its segments and of the language, when it says)."""
    row.settled_at = utcnow()
    url = playable_url(row.media_id) if row.playable_sha256 else None
    if row.state == "done":
        shown: dict[str, Any] = {
            "state": "done",
            "text": row.text,
            "language": row.language,
            "confidence": row.confidence,
            "low_confidence": row.low_confidence,
        }
        data: dict[str, Any] = {
            "state": "done",
            "language": row.language,
            "confidence": row.confidence,
            "low_confidence": row.low_confidence,
            "engine": row.engine,
            **{k: v for k, v in (heard or {}).items() if v not in (None, [])},
        }
    else:
        shown = {"state": "failed", "error_code": row.error_code, "error": row.error}
        data = {
            "state": "failed",
            "reason_code": row.error_code,
            "reason": row.error,
            "reason_params": row.error_params or {},
        }
    shown.update(duration_s=row.duration_s, playable_url=url)
    data["duration_s"] = row.duration_s
    _show(tx, row, shown)
    _event(tx, row, EventKind.TRANSCRIPT, row.text if row.state == "done" else None, data)


def _show(tx: Tx, row: VoiceNote, voice: dict[str, Any]) -> None:
    """The note's state on its attachment, for display (the record is the events)."""
    message = tx.session.get(TimelineEvent, row.message_seq, with_for_update=True)
    if message is None:
        return
    attachments = [dict(a) for a in message.attachments or []]
    for a in attachments:
        if a.get("media_id") == row.media_id:
            a["voice"] = {k: v for k, v in voice.items() if v is not None and v is not False}
    message.attachments = attachments


def _event(tx: Tx, row: VoiceNote, kind: EventKind, text: str | None, data: dict[str, Any]) -> None:
    message = tx.session.get(TimelineEvent, row.message_seq)
    if message is None:
        return
    conv = tx.session.get(Conversation, message.conversation_id, with_for_update=True)
    if conv is None:
        return
    if kind == EventKind.TRANSCRIPT and text and not message.text:
        latest = tx.session.execute(
            select(func.max(TimelineEvent.seq)).where(
                TimelineEvent.conversation_id == conv.id,
                TimelineEvent.kind.in_((EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT)),
            )
        ).scalar()
        if latest == row.message_seq:  # the list shows what was said rather than "[1 attachment(s)]"
            conv.preview = preview(text, [])
    media = tx.session.get(Media, row.media_id)
    head = {"message_seq": row.message_seq, "media_id": row.media_id, "position": media.position if media else 0}
    append_event(tx, conv, kind, author_type=AuthorType.SYSTEM, channel=message.channel, text=text, data=head | data)

"""Media, database side: rows made with their message, claims, outcomes. All of it runs in the
writer's transactions.

A message's media become rows in the same transaction as the message, so a committed message
never loses its attachments. The worker claims due rows (marked `fetching` with the claiming
process and time), fetches outside any transaction, and settles the outcome here: stored,
retried later with backoff, or failed. A stored or failed item updates its attachment in the
message (for display) and appends a media_status event (the record, pushed to agents).
Fetching twice is harmless, so an interrupted claim simply goes back to pending.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, insert, update

from hub.db.models import Conversation, Media, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import AuthorType, EventKind
from hub.jobs import Claim, JobOutcome, Sweep, due_rows, hand_back, interrupt, next_due, retry_or_fail, take
from hub.jobs import requeue_stale as stale_jobs
from hub.media.reasons import Failure
from hub.media.sniff import canonical
from hub.timeline.append import append_event
from hub.voice.queue import queue_voice_note

# Channels whose attachments the hub fetches and keeps itself (the provider's URLs need its
# credentials and do not last). Other channels' attachments stay links as sent.
FETCHED_CHANNELS = frozenset({"sms", "voice"})  # voice: voicemail recordings (hub/sms/webhooks.py)
HUB_FIELDS = ("media_id", "state", "error", "voice")  # set by the hub only, never taken from a sender

MEDIA, EVENTS = Media.__table__, TimelineEvent.__table__
_SET_ATTACHMENTS = update(EVENTS).where(EVENTS.c.seq == bindparam("b_seq")).values(attachments=bindparam("b_atts"))


def attach_media(tx: Tx, events: list[dict[str, Any]]) -> None:
    """Inside ingest, once its events are inserted: a pending row per attachment of a channel the
    hub fetches from, each attachment then pointing at the hub (/api/media/{id}) instead of the
    provider. The event dicts are updated in place, so the frames published after commit match."""
    rows: list[dict[str, Any]] = []
    owners: list[tuple[dict[str, Any], int]] = []
    changed: list[dict[str, Any]] = []
    now = utcnow()
    for e in events:
        attachments = e["attachments"]
        if not attachments:
            continue
        if e["channel"] not in FETCHED_CHANNELS:
            if any(field in a for a in attachments for field in HUB_FIELDS):  # an integration sent them
                e["attachments"] = [{k: v for k, v in a.items() if k not in HUB_FIELDS} for a in attachments]
                changed.append(e)
            continue
        for position, a in enumerate(attachments):
            rows.append(
                {
                    "message_seq": e["seq"],
                    "position": position,
                    "patient_id": e["patient_id"],
                    "channel": e["channel"],
                    "source_url": a.get("url") or "",
                    "declared_type": (a.get("content_type") or "")[:200],
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "error_params": {},
                    "created_at": now,
                }
            )
            owners.append((e, position))
    if rows:
        ids = (
            tx.session.execute(insert(MEDIA).returning(MEDIA.c.id, sort_by_parameter_order=True), rows).scalars().all()
        )
        for (e, position), media_id, row in zip(owners, ids, rows, strict=True):
            e["attachments"][position] = {
                "content_type": canonical(row["declared_type"])[:100] or "application/octet-stream",
                "url": f"/api/media/{media_id}",
                "media_id": media_id,
                "state": "pending",
            }
        changed.extend({id(e): e for e, _ in owners}.values())
    if changed:
        tx.session.execute(_SET_ATTACHMENTS, [{"b_seq": e["seq"], "b_atts": e["attachments"]} for e in changed])


class Due(msgspec.Struct, frozen=True):
    media_id: int
    source_url: str
    declared_type: str
    attempt: int
    claimed_by: str


class Fetched(msgspec.Struct, frozen=True):
    sha256: str
    size: int
    content_type: str


class Claimed(msgspec.Struct, frozen=True):
    due: list[Due]
    next_at: datetime | None  # when the earliest item still pending falls due


def claim_due(tx: Tx, items: list[Claim]) -> list[Claimed]:
    out: list[Claimed] = []
    for claim in items:
        now = utcnow()
        due = []
        for row in due_rows(tx, Media, claim.limit, now):
            take(row, "fetching", claim.claimant, now)
            due.append(Due(row.id, row.source_url, row.declared_type, row.attempts, claim.claimant))
        out.append(Claimed(due, next_due(tx, Media)))
    return out


class Outcome(JobOutcome, frozen=True, kw_only=True):
    """What one attempt came to: its result, or a failure (hub.jobs.JobOutcome)."""

    due: Due
    fetched: Fetched | None = None


def settle(tx: Tx, items: list[Outcome]) -> list[None]:
    """Record each attempt's outcome, for claims still ours."""
    for outcome in items:
        due = outcome.due
        row = tx.session.get(Media, due.media_id, with_for_update=True)
        if row is None or row.state != "fetching" or row.claimed_by != due.claimed_by:
            continue  # requeued as stale meanwhile: someone fetches it again
        row.claimed_by = row.claimed_at = None
        if outcome.fetched is not None:
            f = outcome.fetched
            row.state, row.sha256, row.size, row.content_type = "stored", f.sha256, f.size, f.content_type
            row.error_code = row.error = None
            row.error_params = {}
            _finish(tx, row)
            continue
        if retry_or_fail(row, outcome, due.attempt):
            _finish(tx, row)
    return [None] * len(items)


def release(tx: Tx, claimants: list[str]) -> list[int]:
    """A stopping hub hands back what it was fetching."""
    return [hand_back(tx, Media, "fetching", claimant) for claimant in claimants]


def requeue_stale(tx: Tx, items: list[Sweep]) -> list[int]:
    """Claims nobody settled in time (a hub that died mid-fetch): fetched again, or failed."""
    return [stale_jobs(tx, Media, "fetching", sweep, lambda row: _interrupted(tx, row)) for sweep in items]


def _interrupted(tx: Tx, row: Media) -> None:
    interrupt(row, Failure("interrupted"))
    _finish(tx, row)


def _finish(tx: Tx, row: Media) -> None:
    """A final state: shown in the message's attachment, recorded as a media_status event."""
    row.settled_at = utcnow()
    message = tx.session.get(TimelineEvent, row.message_seq, with_for_update=True)
    if message is None:
        return
    attachments = [dict(a) for a in message.attachments or []]
    if row.position < len(attachments) and attachments[row.position].get("media_id") == row.id:
        a = attachments[row.position]
        a["state"] = row.state
        if row.state == "stored":
            a["content_type"], a["size"] = row.content_type, row.size
            a.pop("error", None)
            queue_voice_note(tx, row, a)  # stored audio becomes a voice note (hub/voice/)
        else:
            a["error"] = row.error
        message.attachments = attachments
    conv = tx.session.get(Conversation, message.conversation_id, with_for_update=True)
    if conv is None:
        return
    data = {
        "message_seq": row.message_seq,
        "media_id": row.id,
        "position": row.position,
        "state": row.state,
        "content_type": row.content_type,
        "size": row.size,
        "error_code": row.error_code,
        "error": row.error,
    }
    append_event(tx, conv, EventKind.MEDIA_STATUS, author_type=AuthorType.SYSTEM, channel=message.channel, data=data)

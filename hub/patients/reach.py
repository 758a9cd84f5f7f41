"""Which channels a reply to a patient can go out on, and why not when it cannot."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import ContactPoint, Conversation

# Reply channel -> the contact point kinds it can reach. The API channel answers whichever
# integration spoke for the patient, so it needs none; web chat reaches visitors and portal users.
NEEDS: dict[str, tuple[str, ...] | None] = {
    "sms": ("phone",),
    "email": ("email",),
    "webchat": ("webchat", "portal"),
    "api": None,
}


class ReplyChannel(msgspec.Struct):
    channel: str
    reachable: bool
    reason: str | None = None  # why not, when not reachable


def reply_channels(s: Session, patient_id: int) -> list[ReplyChannel]:
    rows = (
        s.execute(select(ContactPoint.kind, ContactPoint.opted_out_at).where(ContactPoint.patient_id == patient_id))
    ).all()
    out = []
    for channel, kinds in NEEDS.items():
        if kinds is None:
            out.append(ReplyChannel(channel, True))
            continue
        points = [opted_out for k, opted_out in rows if k in kinds]
        if not points:
            continue  # not a channel this patient has: not offered at all
        if all(p is not None for p in points):
            out.append(ReplyChannel(channel, False, "opted out"))
        else:
            out.append(ReplyChannel(channel, True))
    return out


# A web-chat reply is out the moment it is stored: the visitor's widget fetches it, then
# reports it delivered and read. Elsewhere a reply waits in the outbox (SMS) or for a pull (API).
INITIAL_STATUS = {"webchat": "sent"}


def default_reply_channel(conv: Conversation, reach: dict[str, Any]) -> str:
    """The channel the patient last wrote on, if a reply can go out there (a voice note is
    answered by SMS); else the first channel that can reach them."""
    last = conv.last_inbound_channel or conv.channel
    preferred = "sms" if last == "voice" else last
    if preferred in reach and reach[preferred].reachable:
        return preferred
    return next((c for c, r in reach.items() if r.reachable and c != "api"), preferred)

"""Delivery status of outbound messages: it only ever moves forward.

Providers report out of order (a late "sent" after "delivered"), so each status has a rank
and a report is applied only if it ranks above the current one. Each applied report is a
delivery_status event in the timeline (the record), and the message's own data.status is
kept as the latest, for display.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import select

from channels.base import DeliveryReport, DeliveryState, PuenteError  # noqa: F401 - the report channels parse
from hub.db.models import Conversation, TimelineEvent
from hub.db.writer import Tx
from hub.events import AuthorType, EventKind, checked_data
from hub.timeline.append import append_event

RANK: dict[str, int] = {"queued": 0, "sending": 1, "sent": 2, "undelivered": 3, "failed": 3, "delivered": 4, "read": 5}


class DeliveryResult(msgspec.Struct):
    message_seq: int
    status: str  # the message's status after the report
    applied: bool  # False: a stale or repeated report, recorded nowhere


class UnknownMessage(PuenteError, LookupError):
    pass


class ProviderIdTaken(PuenteError, ValueError):
    pass


def moves_forward(current: str | None, new: str) -> bool:
    return RANK[new] > RANK.get(current or "queued", 0)


def record_delivery_batch(tx: Tx, items: list[tuple[str, DeliveryReport]]) -> list[DeliveryResult | Exception]:
    out: list[DeliveryResult | Exception] = []
    for channel, report in items:
        q = select(TimelineEvent).where(TimelineEvent.kind == EventKind.MESSAGE_OUT, TimelineEvent.channel == channel)
        if report.message_seq is not None:
            q = q.where(TimelineEvent.seq == report.message_seq)
        else:
            q = q.where(TimelineEvent.provider_message_id == report.provider_message_id)
        message = (tx.session.execute(q.with_for_update())).scalar_one_or_none()
        if message is None:
            out.append(
                UnknownMessage(f"no outbound {channel} message {report.message_seq or report.provider_message_id}")
            )
            continue
        if report.provider_message_id and message.provider_message_id is None:
            taken = tx.session.execute(
                select(TimelineEvent.seq).where(
                    TimelineEvent.channel == channel,
                    TimelineEvent.kind == EventKind.MESSAGE_OUT,
                    TimelineEvent.provider_message_id == report.provider_message_id,
                )
            ).first()
            if taken:
                out.append(ProviderIdTaken(f"provider id {report.provider_message_id!r} names message {taken[0]}"))
                continue
            message.provider_message_id = report.provider_message_id
        current = (message.data or {}).get("status")
        if not moves_forward(current, report.status):
            out.append(DeliveryResult(message.seq, current or "queued", False))
            continue
        data = {**(message.data or {}), "status": report.status}
        if report.error_code or report.error:
            data["error_code"], data["error"] = report.error_code, report.error
        message.data = checked_data(EventKind.MESSAGE_OUT, data)
        conv = tx.session.get(Conversation, message.conversation_id, with_for_update=True)
        assert conv is not None
        data = {
            "message_seq": message.seq,
            "status": report.status,
            "error_code": report.error_code,
            "error": report.error,
        }
        append_event(tx, conv, EventKind.DELIVERY_STATUS, author_type=AuthorType.SYSTEM, channel=channel, data=data)
        out.append(DeliveryResult(message.seq, report.status, True))
    return out

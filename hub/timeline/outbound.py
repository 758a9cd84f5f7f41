"""The API channel's way out: integrations pull queued replies and report their delivery.

GET  /api/channels/api/outbox?after=N  replies on the API channel after seq N, oldest first
POST /api/channels/api/status          {"message_seq" | "provider_message_id", "status", ...}

Pulling keeps the hub free of outbound calls to systems it cannot reach; a reply is stored
(queued) before anyone can pull it, and a report can only move its status forward.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Response, get, post
from litestar.exceptions import ClientException, NotFoundException, ValidationException
from litestar.params import JSONBody, QueryParameter
from sqlalchemy import select

from channels.base import Channel
from hub.bounds import AfterQuery
from hub.db.models import ContactPoint, TimelineEvent
from hub.deps import HubDep
from hub.events import EventKind
from hub.timeline.delivery import (
    DeliveryReport,
    DeliveryResult,
    ProviderIdTaken,
    UnknownMessage,
    record_delivery_batch,
)
from hub.timeline.keys import integration_key_guard
from hub.timeline.reads import last_seq


class Recipient(msgspec.Struct):
    kind: str
    address: str


class OutboundMessage(msgspec.Struct):
    seq: int
    conversation_id: int
    patient_id: int
    to: list[Recipient]  # the patient's reachable contact points, for the integration to route by
    text: str | None
    status: str
    created_at: datetime


class Outbox(msgspec.Struct):
    messages: list[OutboundMessage]
    next_after: int  # pass as ?after= on the next poll


@get("/api/channels/api/outbox", exclude_from_auth=True, skip_session=True, guards=[integration_key_guard])
async def outbox(
    hub: HubDep,
    after: AfterQuery = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
) -> Outbox:
    async with hub.read_sessions() as s:
        upto = await last_seq(s)  # read first: nothing at or below it can still appear
        rows = (
            (
                await s.execute(
                    select(TimelineEvent)
                    .where(
                        TimelineEvent.kind == EventKind.MESSAGE_OUT,
                        TimelineEvent.channel == Channel.API,
                        TimelineEvent.seq > after,
                    )
                    .order_by(TimelineEvent.seq)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        contacts: dict[int, list[Recipient]] = {}
        for cp in (
            await s.execute(
                select(ContactPoint)
                .where(ContactPoint.patient_id.in_({r.patient_id for r in rows}), ContactPoint.opted_out_at.is_(None))
                .order_by(ContactPoint.id)
            )
        ).scalars():
            contacts.setdefault(cp.patient_id, []).append(Recipient(cp.kind, cp.address))
    messages = [
        OutboundMessage(
            r.seq,
            r.conversation_id,
            r.patient_id,
            contacts.get(r.patient_id, []),
            r.text,
            (r.data or {}).get("status", "queued"),
            r.created_at,
        )
        for r in rows
    ]
    if len(messages) == limit:  # there may be more: continue after the last one
        return Outbox(messages, messages[-1].seq)
    return Outbox(messages, max(after, upto, messages[-1].seq if messages else 0))


@post(
    "/api/channels/api/status",
    exclude_from_auth=True,
    exclude_from_csrf=True,
    skip_session=True,
    guards=[integration_key_guard],
)
async def delivery_status(data: JSONBody[DeliveryReport], hub: HubDep) -> Response[DeliveryResult]:
    if data.message_seq is None and data.provider_message_id is None:
        raise ValidationException("say which message: message_seq, provider_message_id, or both")
    try:
        result = await hub.writer.submit(record_delivery_batch, (Channel.API, data))
    except UnknownMessage as exc:
        raise NotFoundException(str(exc)) from None
    except ProviderIdTaken as exc:
        raise ClientException(str(exc), status_code=409) from None
    return Response(result, status_code=201 if result.applied else 200)

"""A patient's profile and whole timeline. Every read is audited before it is answered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import QueryParameter

from hub.agents.breakglass import reach
from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdPath, SeqQuery
from hub.db.models import Patient
from hub.deps import HubDep
from hub.events import TimelineEventOut
from hub.i18n import _
from hub.patients.reach import ReplyChannel, reply_channels
from hub.refusals import Refused
from hub.timeline.reads import patient_timeline


class ContactPointOut(msgspec.Struct):
    kind: str
    address: str
    verified: bool
    opted_out_at: datetime | None


class ConsentOut(msgspec.Struct):
    channel: str
    granted: bool
    source: str
    changed_at: datetime


class PatientOut(msgspec.Struct):
    id: int
    name: str | None
    date_of_birth: date | None
    preferred_language: str | None
    preferred_channel: str | None
    time_zone: str | None
    contact_points: list[ContactPointOut]
    consents: list[ConsentOut]
    reply_channels: list[ReplyChannel]


class Timeline(msgspec.Struct):
    patient_id: int
    events: list[TimelineEventOut]
    has_more: bool


class PatientController(Controller):
    path = "/api/patients"
    guards = [requires(Role.AGENT)]

    @get("/{patient_id:int}")
    async def show(self, request: Request[Principal, Any, Any], patient_id: IdPath, hub: HubDep) -> PatientOut:
        async with hub.read_sessions() as s:
            seen = await reach(s, request.user, patient_id)
            if seen is None:
                raise Refused(404, _("No patient {id} that you can see."), id=patient_id)
            p = await s.get(Patient, patient_id)
            assert p is not None
            out = PatientOut(
                p.id,
                p.name,
                p.date_of_birth,
                p.preferred_language,
                p.preferred_channel,
                p.time_zone,
                [ContactPointOut(c.kind, c.address, c.verified, c.opted_out_at) for c in p.contact_points],
                [ConsentOut(c.channel, c.granted, c.source, c.changed_at) for c in p.consents],
                await s.run_sync(reply_channels, patient_id),
            )
        detail = {"break_glass": seen[1]} if seen[1] else {}
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(AuditAction.PATIENT_READ, request.user.id, Origin.of(request), patient_id, detail=detail),
        )
        return out

    @get("/{patient_id:int}/timeline")
    async def timeline(
        self,
        request: Request[Principal, Any, Any],
        patient_id: IdPath,
        hub: HubDep,
        before: SeqQuery = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> Timeline:
        async with hub.read_sessions() as s:
            seen = await reach(s, request.user, patient_id)  # a break-glass grant reads the whole record
            if seen is None:
                raise Refused(404, _("No patient {id} that you can see."), id=patient_id)
            events = await patient_timeline(s, seen[0], patient_id, before, limit + 1)
        has_more = len(events) > limit
        events = events[-limit:]
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(
                AuditAction.TIMELINE_READ,
                request.user.id,
                Origin.of(request),
                patient_id,
                detail={"before": before, "count": len(events), **({"break_glass": seen[1]} if seen[1] else {})},
            ),
        )
        return Timeline(patient_id, events, has_more)

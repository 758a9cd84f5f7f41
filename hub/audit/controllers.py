"""Admins read the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter
from sqlalchemy import select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdQuery, SeqQuery
from hub.db.models import AuditEntry
from hub.deps import HubDep


class AuditOut(msgspec.Struct):
    id: int
    at: datetime
    agent_id: int | None
    action: str
    patient_id: int | None
    conversation_id: int | None
    detail: dict[str, Any]
    ip: str | None
    user_agent: str | None


class AuditController(Controller):
    path = "/api/audit"
    guards = [requires(Role.ADMIN)]

    @get("/")
    async def index(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        patient_id: IdQuery = None,
        agent_id: IdQuery = None,
        action: FromQuery[str | None] = None,
        before_id: SeqQuery = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> list[AuditOut]:
        q = select(AuditEntry)
        if patient_id is not None:
            q = q.where(AuditEntry.patient_id == patient_id)
        if agent_id is not None:
            q = q.where(AuditEntry.agent_id == agent_id)
        if action is not None:
            q = q.where(AuditEntry.action == action)
        if before_id is not None:
            q = q.where(AuditEntry.id < before_id)
        async with hub.read_sessions() as s:
            rows = (await s.execute(q.order_by(AuditEntry.id.desc()).limit(limit))).scalars().all()
        # Reading the audit trail is itself audited.
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(
                AuditAction.AUDIT_READ,
                request.user.id,
                Origin.of(request),
                patient_id,
                detail={"agent_id": agent_id, "action": action},
            ),
        )
        return [
            AuditOut(r.id, r.at, r.agent_id, r.action, r.patient_id, r.conversation_id, r.detail, r.ip, r.user_agent)
            for r in rows
        ]

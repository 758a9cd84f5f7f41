"""Break-glass: an agent opens a patient outside their reach (another team's, say a patient on the
phone in distress) by stating why. Read-only, for a limited time (PUENTE_SECURITY_BREAK_GLASS_MINUTES),
audited with the reason, and supervisors are alerted live. The patient is named by an exact phone
number, email address or record number, never searched for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bounds import Id, text
from hub.db.models import BreakGlass, ContactPoint, Patient
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.events import BreakGlassFrame, BreakGlassSignal
from hub.i18n import _
from hub.patients.contacts import InvalidContact, normalise_email, normalise_phone
from hub.refusals import Refused, one_by_one
from hub.timeline.reads import may_see_patient

MIN_REASON = 10


class BreakGlassBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^[^\x00]*$")]
    patient_id: Id | None = None
    address: text(320, 3) | None = None  # type: ignore[valid-type]  # a phone number or an email address


class Grant(msgspec.Struct):
    id: int
    patient_id: int
    patient_name: str
    reason: str
    granted_at: datetime
    expires_at: datetime


def _patient_name(p: Patient) -> str:
    first = min(p.contact_points, key=lambda c: c.id, default=None)
    return p.name or (first.address if first else f"Patient {p.id}")


def _grant(tx: Tx, item: tuple[Principal, int, str, int, Origin]) -> Grant:
    who, patient_id, reason, minutes, origin = item
    patient = tx.session.get(Patient, patient_id)
    if patient is None:
        raise Refused(404, _("There is no patient with that number, phone or email."))
    now = utcnow()
    expires_at = now + timedelta(minutes=minutes)
    row = BreakGlass(agent_id=who.id, patient_id=patient_id, reason=reason, granted_at=now, expires_at=expires_at)
    tx.session.add(row)
    tx.session.flush()
    detail = {"reason": reason, "grant_id": row.id, "minutes": minutes}
    add_audit(tx, AuditRecord(AuditAction.BREAK_GLASS, who.id, origin, patient_id, detail=detail))
    return Grant(row.id, patient_id, _patient_name(patient), reason, row.granted_at, row.expires_at)


grant = one_by_one(_grant)


async def granted(s: AsyncSession, principal: Principal, patient_id: int) -> int | None:
    """The id of an unexpired break-glass grant of this patient to this person."""
    return (
        await s.execute(
            select(BreakGlass.id)
            .where(
                BreakGlass.agent_id == principal.id,
                BreakGlass.patient_id == patient_id,
                BreakGlass.expires_at > utcnow(),
            )
            .order_by(BreakGlass.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def reach(s: AsyncSession, principal: Principal, patient_id: int) -> tuple[Principal, int | None] | None:
    """Who reads the patient's record: the person as they are, or, under a break-glass grant, as one
    who sees all of that patient's conversations (and the grant's id, for the audit); None: neither."""
    if await may_see_patient(s, principal, patient_id):
        return principal, None
    grant_id = await granted(s, principal, patient_id)
    if grant_id is None:
        return None
    return msgspec.structs.replace(principal, role=Role.SUPERVISOR), grant_id


class BreakGlassController(Controller):
    path = "/api/break-glass"
    guards = [requires(Role.AGENT)]

    @post("/")
    async def open(self, request: Request[Principal, Any, Any], data: JSONBody[BreakGlassBody], hub: HubDep) -> Grant:
        """Open a patient outside one's reach, saying why: granted for a limited time, audited with the
        reason, supervisors alerted."""
        who = request.user
        if len(data.reason.strip()) < MIN_REASON:
            raise Refused(400, _("Say why you need this record, in at least {n} characters."), n=MIN_REASON)
        if (data.patient_id is None) == (data.address is None):
            raise Refused(400, _("Name the patient by record number, or by phone number or email, not both."))
        async with hub.read_sessions() as s:
            patient_id = data.patient_id
            if data.address is not None:
                patient_id = await self._by_address(s, data.address, hub.settings.clinic.default_region)
            if patient_id is None or await s.get(Patient, patient_id) is None:
                raise Refused(404, _("There is no patient with that number, phone or email."))
            if await may_see_patient(s, who, patient_id):
                raise Refused(409, _("You can already open this patient's record: no break-glass is needed."))
        minutes = hub.settings.security.break_glass_minutes
        out = await hub.writer.submit(grant, (who, patient_id, data.reason.strip(), minutes, Origin.of(request)))
        frame = BreakGlassFrame(who.id, who.display_name, out.patient_id, out.patient_name, out.reason, out.expires_at)
        hub.fanout.signal(BreakGlassSignal(frame))
        return out

    @staticmethod
    async def _by_address(s: AsyncSession, address: str, region: str) -> int | None:
        kinds = []
        if "@" in address:
            try:
                kinds.append(("email", normalise_email(address)))
            except InvalidContact:
                pass
        else:
            try:
                kinds.append(("phone", normalise_phone(address, region)))
            except InvalidContact:
                pass
        if not kinds:
            raise Refused(400, _("That is not a phone number or an email address."))
        kind, normal = kinds[0]
        row = (
            await s.execute(
                select(ContactPoint.patient_id, Patient.merged_into_id)
                .join(Patient, Patient.id == ContactPoint.patient_id)
                .where(ContactPoint.kind == kind, ContactPoint.address == normal)
            )
        ).first()
        if row is None:
            return None
        return row.merged_into_id or row.patient_id

    @get("/")
    async def mine(self, request: Request[Principal, Any, Any], hub: HubDep) -> list[Grant]:
        """One's own unexpired grants."""
        async with hub.read_sessions() as s:
            rows = (
                await s.execute(
                    select(BreakGlass, Patient)
                    .join(Patient, Patient.id == BreakGlass.patient_id)
                    .where(BreakGlass.agent_id == request.user.id, BreakGlass.expires_at > utcnow())
                    .order_by(BreakGlass.id.desc())
                )
            ).all()
            return [Grant(g.id, g.patient_id, _patient_name(p), g.reason, g.granted_at, g.expires_at) for g, p in rows]

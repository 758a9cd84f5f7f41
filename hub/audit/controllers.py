"""Admins read the audit log: filtered by person, patient, action and time, newest first, a page at a
time by keyset (before_id: the last id of the page before), quick on millions of rows (indexes on
(patient_id, id), (agent_id, id), (action, id) and at); and export it as CSV. Reading and exporting
are themselves audited."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream
from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdQuery, SeqQuery
from hub.db.models import Agent, AuditEntry
from hub.deps import HubDep
from hub.i18n import _
from hub.refusals import Refused

ActionQuery = Annotated[str | None, QueryParameter(max_length=40, pattern=r"^[a-z_.]+$")]
EXPORT_CHUNK = 2000


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
    agent_name: str | None = None


class Filters(msgspec.Struct, frozen=True):
    patient_id: int | None
    agent_id: int | None
    action: str | None  # an action, or a family ending in "." ("auth.": every sign-in action)
    since: datetime | None
    until: datetime | None

    def shown(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in msgspec.structs.asdict(self).items()}


def _actions(action: str) -> list[str]:
    if action.endswith("."):
        family = [a.value for a in AuditAction if a.value.startswith(action)]
        if not family:
            raise Refused(400, _("There is no audited action {action}."), action=action)
        return family
    return [action]


async def _query(s: AsyncSession, f: Filters, before_id: int | None, limit: int) -> Any:
    """The filtered rows, newest first, at most `limit`. Time bounds become id bounds through the index
    on `at` (ids grow with time), and a family of actions is read action by action (each from its own
    index, newest first) before the page is taken, so a page far back in time is as quick as the first."""
    where: list[Any] = []
    if f.patient_id is not None:
        where.append(AuditEntry.patient_id == f.patient_id)
    if f.agent_id is not None:
        where.append(AuditEntry.agent_id == f.agent_id)
    if f.since is not None:
        first = (
            await s.execute(select(AuditEntry.id).where(AuditEntry.at >= f.since).order_by(AuditEntry.at).limit(1))
        ).scalar_one_or_none()
        where += [AuditEntry.id >= (first if first is not None else 2**62), AuditEntry.at >= f.since]
    if f.until is not None:
        last = (
            await s.execute(
                select(AuditEntry.id).where(AuditEntry.at < f.until).order_by(AuditEntry.at.desc()).limit(1)
            )
        ).scalar_one_or_none()
        where += [AuditEntry.id <= (last if last is not None else 0), AuditEntry.at < f.until]
    if before_id is not None:
        where.append(AuditEntry.id < before_id)
    if f.action is not None:
        actions = _actions(f.action)
        if len(actions) == 1:
            where.append(AuditEntry.action == actions[0])
        else:
            newest = [
                select(AuditEntry.id)
                .where(*where, AuditEntry.action == action)
                .order_by(AuditEntry.id.desc())
                .limit(limit)
                .subquery()
                for action in actions
            ]
            ids = union_all(*(select(n.c.id) for n in newest)).subquery()
            where.append(AuditEntry.id.in_(select(ids.c.id)))
    q = select(AuditEntry, Agent.display_name).outerjoin(Agent, Agent.id == AuditEntry.agent_id).where(*where)
    return q.order_by(AuditEntry.id.desc()).limit(limit)


def _out(r: AuditEntry, name: str | None) -> AuditOut:
    return AuditOut(
        r.id, r.at, r.agent_id, r.action, r.patient_id, r.conversation_id, r.detail, r.ip, r.user_agent, name
    )


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: a leading = + - @ is quoted away."""
    text = "" if value is None else value if isinstance(value, str) else msgspec.json.encode(value).decode()
    if isinstance(value, datetime):
        text = value.isoformat()
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


COLUMNS = "id at agent_id agent_name action patient_id conversation_id ip user_agent detail".split()


def _filters(
    patient_id: int | None, agent_id: int | None, action: str | None, since: datetime | None, until: datetime | None
) -> Filters:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise Refused(400, _("Give times with their time zone, e.g. 2026-12-01T08:00:00Z."))
    if since is not None and until is not None and since >= until:
        raise Refused(400, _("'since' must come before 'until'."))
    if action is not None:
        _actions(action)
    return Filters(patient_id, agent_id, action, since, until)


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
        action: ActionQuery = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        before_id: SeqQuery = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> list[AuditOut]:
        """Newest first; the next page: before_id = the last id shown."""
        f = _filters(patient_id, agent_id, action, since, until)
        async with hub.read_sessions() as s:
            rows = (await s.execute(await _query(s, f, before_id, limit))).all()
        # Reading the audit trail is itself audited.
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(
                AuditAction.AUDIT_READ,
                request.user.id,
                Origin.of(request),
                patient_id,
                detail={**f.shown(), "before_id": before_id},
            ),
        )
        return [_out(r, name) for r, name in rows]

    @get("/export.csv")
    async def export(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        patient_id: IdQuery = None,
        agent_id: IdQuery = None,
        action: ActionQuery = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> Response[Any]:
        """Every row the filters match, newest first, as CSV (UTF-8). The export is audited first."""
        f = _filters(patient_id, agent_id, action, since, until)
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(AuditAction.AUDIT_EXPORT, request.user.id, Origin.of(request), patient_id, detail=f.shown()),
        )

        async def rows() -> AsyncIterator[str]:
            buffer = io.StringIO()
            out = csv.writer(buffer)
            out.writerow(COLUMNS)
            before: int | None = None
            while True:
                async with hub.read_sessions() as s:
                    page = (await s.execute(await _query(s, f, before, EXPORT_CHUNK))).all()
                for r, name in page:
                    out.writerow(
                        _cell(v)
                        for v in (
                            r.id, r.at, r.agent_id, name, r.action, r.patient_id, r.conversation_id, r.ip,
                            r.user_agent, r.detail,
                        )
                    )  # fmt: skip
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                if len(page) < EXPORT_CHUNK:
                    return
                before = page[-1][0].id

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return Stream(
            rows(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="puente-audit-{stamp}.csv"',
                "Cache-Control": "private, no-store",
            },
        )

"""The EHR link's admin API: its status, imports started and resumed, their progress and problems.
Admins only; starting and resuming are audited, and so is reading the imports (their problems name
EHR resource ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED
from sqlalchemy import select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdPath
from hub.db.models import ImportRun
from hub.deps import HubDep
from hub.i18n import _
from hub.patients.fhir.runs import COUNTERS, Resume, resume_run
from hub.refusals import Refused


class ImportProblem(msgspec.Struct):
    resource: str
    reason: str


class ImportRunOut(msgspec.Struct):
    id: int
    status: str  # queued, running, done, failed
    phase: str | None  # Patient, Appointment, done
    full: bool
    counts: dict[str, int]
    totals: dict[str, int]  # what the EHR said each search would return, when it said
    problems: list[ImportProblem]  # the first ones, with the resource's id
    error: str | None
    started_by: int | None
    created_at: datetime
    updated_at: datetime | None
    finished_at: datetime | None


class LinkOut(msgspec.Struct):
    configured: bool
    problem: str | None  # why it cannot run, in English (a setting to fix)
    server: str | None  # the EHR's host, not its credentials
    auth: str | None  # smart, bearer
    sync_interval_s: int
    last_sync: datetime | None  # when the last import that finished did
    active: ImportRunOut | None


class ImportRuns(msgspec.Struct):
    runs: list[ImportRunOut]


class StartImport(msgspec.Struct, forbid_unknown_fields=True):
    full: bool = False  # read everything, not only what changed since the last import


class Started(msgspec.Struct):
    run: ImportRunOut
    started: bool  # False: one was already under way (this is it)


def run_out(run: ImportRun) -> ImportRunOut:
    state = run.state or {}
    return ImportRunOut(
        id=run.id,
        status=run.status,
        phase=state.get("phase"),
        full=bool(state.get("full")),
        counts={k: int((run.counts or {}).get(k, 0)) for k in COUNTERS},
        totals={k: int(v) for k, v in (state.get("total") or {}).items()},
        problems=[ImportProblem(p["resource"], p["reason"]) for p in (state.get("errors") or [])[:50]],
        error=run.error,
        started_by=run.started_by,
        created_at=run.created_at,
        updated_at=run.updated_at,
        finished_at=run.finished_at,
    )


async def _run(hub: Any, run_id: int) -> ImportRunOut:
    async with hub.read_sessions() as s:
        run = await s.get(ImportRun, run_id)
        assert run is not None
        return run_out(run)


class FhirController(Controller):
    path = "/api/fhir"
    guards = [requires(Role.ADMIN)]

    @get("/link")
    async def link(self, hub: HubDep) -> LinkOut:
        settings, problem = hub.settings.fhir, hub.fhir.problem
        async with hub.read_sessions() as s:
            last = (
                await s.execute(
                    select(ImportRun.finished_at)
                    .where(ImportRun.kind == "fhir", ImportRun.status == "done")
                    .order_by(ImportRun.id.desc())
                    .limit(1)
                )
            ).scalar()
            active = (
                await s.execute(
                    select(ImportRun)
                    .where(ImportRun.kind == "fhir", ImportRun.status.in_(("queued", "running")))
                    .order_by(ImportRun.id)
                    .limit(1)
                )
            ).scalar()
            active_out = run_out(active) if active else None
        return LinkOut(
            configured=problem is None,
            problem=problem,
            server=urlsplit(settings.base_url).netloc or None,
            auth=None if problem else ("bearer" if settings.bearer_token else "smart"),
            sync_interval_s=settings.sync_interval_s,
            last_sync=last,
            active=active_out,
        )

    @get("/imports")
    async def runs(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> ImportRuns:
        async with hub.read_sessions() as s:
            rows = (
                await s.execute(
                    select(ImportRun).where(ImportRun.kind == "fhir").order_by(ImportRun.id.desc()).limit(limit)
                )
            ).scalars()
            out = [run_out(r) for r in rows]
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(AuditAction.FHIR_RUNS_READ, request.user.id, Origin.of(request), detail={"runs": len(out)}),
        )
        return ImportRuns(out)

    @post("/imports", status_code=HTTP_202_ACCEPTED)
    async def start(self, request: Request[Principal, Any, Any], hub: HubDep, data: JSONBody[StartImport]) -> Started:
        if hub.fhir.problem is not None:
            raise Refused(409, _("The EHR link is not set up: {problem}."), problem=hub.fhir.problem)
        run_id, started = await hub.fhir.start_import(request.user.id, data.full, Origin.of(request))
        return Started(await _run(hub, run_id), started)

    @post("/imports/{run_id:int}/resume", status_code=HTTP_202_ACCEPTED)
    async def resume(self, request: Request[Principal, Any, Any], hub: HubDep, run_id: IdPath) -> ImportRunOut:
        if hub.fhir.problem is not None:
            raise Refused(409, _("The EHR link is not set up: {problem}."), problem=hub.fhir.problem)
        async with hub.read_sessions() as s:
            run = await s.get(ImportRun, run_id)
            if run is None or run.kind != "fhir":
                raise Refused(404, _("No import {id}."), id=run_id)
        resumed = await hub.writer.submit(resume_run, Resume(run_id, request.user.id, Origin.of(request)))
        if resumed is None:
            raise Refused(409, _("Only a failed import can be resumed, and only while no other is under way."))
        hub.fhir.wake()
        return await _run(hub, run_id)

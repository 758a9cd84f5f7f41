"""GET /api/patients?q=&cursor=: the patient directory (hub/patients/directory.py says how a query
is read and what each role sees). Agents and up; every search is audited with its query, which is
itself patient data: it goes to the audit trail and nowhere else (no log line carries it)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.deps import HubDep
from hub.i18n import _
from hub.patients.directory import MAX_QUERY, BadQuery, DirectoryPage, read_query, search_directory
from hub.refusals import Refused

BAD_CURSOR = _("That page marker is not one this search gave: search again from the first page.")


class DirectoryController(Controller):
    path = "/api/patients"
    guards = [requires(Role.AGENT)]

    @get("/")
    async def directory(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        q: Annotated[str, QueryParameter(max_length=MAX_QUERY)] = "",
        cursor: Annotated[str | None, QueryParameter(max_length=400)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 25,
    ) -> DirectoryPage:
        """Patients found by name words, phone (any format, or its start), email, record number or
        date of birth; without a query, the newest records. `next_cursor` gives the next page."""
        try:
            reading = read_query(q, hub.settings.clinic.default_region)
        except BadQuery:
            raise Refused(400, _("The search has a character that cannot be searched for (NUL).")) from None
        async with hub.read_sessions() as s:
            try:
                page = await search_directory(s, request.user, reading, cursor, limit)
            except BadQuery:
                raise Refused(400, BAD_CURSOR) from None
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(
                AuditAction.PATIENT_SEARCH,
                request.user.id,
                Origin.of(request),
                detail={
                    "query": q,
                    "lanes": page.lanes,
                    "page": bool(cursor),
                    "count": len(page.patients),
                    "patient_ids": [p.id for p in page.patients],
                },
            ),
        )
        return page

"""The reports' routes (supervisors and admins): KPIs by period and filter, the conversations
behind a figure (an audited read of patient data), and every table as CSV (an audited export)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter
from sqlalchemy import func, select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdQuery
from hub.db.models import ReportConversation as R
from hub.deps import HubDep
from hub.i18n import _
from hub.refusals import Refused
from hub.reports.kpis import PERIODS, Filters, kpi_where, report

LONGEST = timedelta(days=400)
DRILL_LIMIT = 1000
Word = Annotated[str | None, QueryParameter(max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
DateText = Annotated[str | None, QueryParameter(max_length=10)]
Name = Annotated[str, QueryParameter(max_length=40, pattern=r"^[a-z_]+$")]
TABLES = ("rows", "by_channel", "by_language", "by_intent", "by_team", "by_agent", "heatmap", "handoff_reasons",
          "first_response_percentiles", "conversations")  # fmt: skip
DRILL_COLUMNS = (
    "conversation_id", "opened_at", "channel", "language", "intent", "team_id", "agent_id", "handoff_reason",
    "first_response_s", "first_response_business_s", "wait_s", "handle_s", "resolution_s", "csat_score",
)  # fmt: skip


def _day(text: str | None, default: date, name: str) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(400, _("{name} must be a date such as 2026-12-01."), name=name) from None


def filters(
    tz: str, now: datetime, since: str | None, until: str | None, team_id: int | None, channel: str | None,
    language: str | None, agent_id: int | None, intent: str | None,
) -> Filters:  # fmt: skip
    today = now.astimezone(ZoneInfo(tz)).date()
    last = _day(until, today, "until")
    first = _day(since, max(last, date.min + timedelta(days=29)) - timedelta(days=29), "since")
    if first > last:
        raise Refused(400, _("The first day comes after the last."))
    if last - first > LONGEST:
        raise Refused(400, _("A report covers at most {days} days."), days=LONGEST.days)
    return Filters(first, last, team_id, channel, language, agent_id, intent)


def _period(period: str) -> str:
    if period not in PERIODS:
        raise Refused(400, _("period is day, week or month."))
    return period


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime | date) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(columns)
    for r in rows:
        out.writerow(_cell(r.get(c)) for c in columns)
    return buffer.getvalue()


class ReportsController(Controller):
    path = "/api/reports"
    guards = [requires(Role.SUPERVISOR)]

    @get("/kpis")
    async def kpis(
        self,
        hub: HubDep,
        since: DateText = None,
        until: DateText = None,
        period: Name = "day",
        team_id: IdQuery = None,
        channel: Word = None,
        language: Word = None,
        agent_id: IdQuery = None,
        intent: Word = None,
    ) -> dict[str, Any]:
        """Every KPI over the days since..until (the clinic's, inclusive; the last 30 by default):
        totals (the cards), rows by day, week or month, breakdowns, the heat map, the first-response
        percentiles. Aggregates only: no patient's data. Definitions: docs/kpis.md."""
        now = hub.reports.clock()
        f = filters(hub.settings.clinic.timezone, now, since, until, team_id, channel, language, agent_id, intent)
        out = await report(hub.read_sessions, f, _period(period), now)
        return {"since": f.since.isoformat(), "until": f.until.isoformat(), "period": period,
                "timezone": hub.settings.clinic.timezone, **out}  # fmt: skip

    @get("/conversations")
    async def conversations(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        kpi: Name = "conversations",
        since: DateText = None,
        until: DateText = None,
        team_id: IdQuery = None,
        channel: Word = None,
        language: Word = None,
        agent_id: IdQuery = None,
        intent: Word = None,
    ) -> dict[str, Any]:
        """The conversations a counted KPI counts (the first 1000, newest first), with their facts.
        A read of patient data: audited with the conversation ids."""
        now = hub.reports.clock()
        f = filters(hub.settings.clinic.timezone, now, since, until, team_id, channel, language, agent_id, intent)
        rows, total = await self._drill(hub, f, kpi, now)
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(
                AuditAction.REPORT_CONVERSATIONS, request.user.id, Origin.of(request),
                detail={"kpi": kpi, "since": f.since.isoformat(), "until": f.until.isoformat(),
                        "conversation_ids": [r["conversation_id"] for r in rows]},
            ),
        )  # fmt: skip
        return {"kpi": kpi, "total": total, "conversations": rows}

    async def _drill(self, hub: Any, f: Filters, kpi: str, now: datetime) -> tuple[list[dict[str, Any]], int]:
        where = kpi_where(now)
        if kpi not in where:
            raise Refused(400, _("There is no counted figure {kpi}."), kpi=kpi)
        cols = [getattr(R, c) for c in DRILL_COLUMNS]
        async with hub.read_sessions() as s:
            q = select(*cols).where(*f.where(), where[kpi])
            rows = [
                dict(r) for r in (await s.execute(q.order_by(R.conversation_id.desc()).limit(DRILL_LIMIT))).mappings()
            ]
            total = len(rows)
            if total == DRILL_LIMIT:
                total = (await s.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
        return rows, total

    @get("/export.csv")
    async def export(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        table: Name = "rows",
        kpi: Name = "conversations",
        since: DateText = None,
        until: DateText = None,
        period: Name = "day",
        team_id: IdQuery = None,
        channel: Word = None,
        language: Word = None,
        agent_id: IdQuery = None,
        intent: Word = None,
    ) -> Response[str]:
        """One of the report's tables as CSV (UTF-8); `conversations`: those behind `kpi`. Audited."""
        if table not in TABLES:
            raise Refused(400, _("There is no report table {table}."), table=table)
        now = hub.reports.clock()
        f = filters(hub.settings.clinic.timezone, now, since, until, team_id, channel, language, agent_id, intent)
        detail: dict[str, Any] = {"table": table, "since": f.since.isoformat(), "until": f.until.isoformat()}
        if table == "conversations":
            rows, _total = await self._drill(hub, f, kpi, now)
            columns = list(DRILL_COLUMNS)
            detail |= {"kpi": kpi, "conversation_ids": [r["conversation_id"] for r in rows]}
        else:
            breakdowns = table not in ("rows", "first_response_percentiles")
            out = await report(hub.read_sessions, f, _period(period), now, breakdowns=breakdowns)
            rows = out[table]
            if table == "rows":
                rows = [*rows, {**out["totals"], "period": "total"}]
            columns = list(rows[0].keys()) if rows else ["period"]
            if table == "rows":
                columns = ["period", *[c for c in columns if c != "period" and not c.endswith("_median")]]
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(AuditAction.REPORT_EXPORT, request.user.id, Origin.of(request), detail=detail),
        )
        name = f"puente-{table}-{f.since.isoformat()}-{f.until.isoformat()}.csv"
        return Response(
            _csv(rows, columns),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

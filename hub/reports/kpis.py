"""KPIs: aggregates of the report facts (report_conversations), by period and filter.

Every figure is one SQL expression over the facts rows (`FIGURES`), used alike for the summary
cards (the whole range), the table's rows (each day, week or month) and the breakdowns, so a card
and its table can never disagree; a figure's conversations (`KPI_WHERE`) are the rows it counts.
Times are medians and percentiles by nearest rank over the rows that have them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement

from hub.db.models import ReportConversation as R

PERIODS = {"day": R.day, "week": R.week, "month": R.month}
PERCENTILES = (50, 75, 90, 95)


@dataclass(frozen=True)
class Filters:
    since: date  # first day (the clinic's), inclusive
    until: date  # last day, inclusive
    team_id: int | None = None
    channel: str | None = None
    language: str | None = None
    agent_id: int | None = None
    intent: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        w: list[ColumnElement[bool]] = [R.day >= self.since, R.day <= self.until]
        for col, value in (
            (R.team_id, self.team_id),
            (R.channel, self.channel),
            (R.language, self.language),
            (R.agent_id, self.agent_id),
            (R.intent, self.intent),
        ):
            if value is not None:
                w.append(col == value)
        return w


def _n(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _abandoned(now: datetime) -> ColumnElement[bool]:
    """Handed to people, and no staff reply before the patient is taken to have left."""
    return and_(
        R.to_people_at.is_not(None),
        R.abandon_at <= func.coalesce(R.first_response_at, now),
    )


def kpi_where(now: datetime) -> dict[str, ColumnElement[bool]]:
    """Each counted KPI: which conversations it counts (the drill-down reads the same)."""
    return {
        "conversations": R.conversation_id.is_not(None),
        "assistant": R.assistant.is_(True),
        "bot_resolved": R.bot_resolved.is_(True),
        "handed_off": R.handed_off.is_(True),
        "with_people": R.to_people_at.is_not(None),
        "first_responses": R.first_response_s.is_not(None),
        "resolved": R.resolved_at.is_not(None),
        "reopened": R.reopened.is_(True),
        "abandoned": _abandoned(now),
        "transferred": and_(R.to_people_at.is_not(None), R.transferred.is_(True)),
        "opted_out": R.opt_outs > 0,
        "red_flags": R.red_flag.is_(True),
        "csat_asked": R.csat_asked.is_(True),
        "csat_answered": R.csat_score.is_not(None),
        "csat_satisfied": R.csat_score >= 4,
    }


def figures(now: datetime) -> list[Any]:
    """The aggregate columns every summary, row and breakdown carries."""
    counted = [_n(cond).label(name) for name, cond in kpi_where(now).items()]
    return [
        *counted,
        func.coalesce(func.sum(R.messages_in), 0).label("messages_in"),
        func.coalesce(func.sum(R.messages_out), 0).label("messages_out"),
        func.coalesce(func.sum(R.bot_messages), 0).label("bot_messages"),
        func.coalesce(func.sum(R.opt_outs), 0).label("opt_outs"),
        func.avg(R.first_response_s).label("first_response_avg_s"),
        func.avg(R.first_response_business_s).label("first_response_business_avg_s"),
        func.avg(R.csat_score).label("csat_avg"),
    ]


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    def rate(a: str, b: str) -> float | None:
        return round(row[a] / row[b], 4) if row.get(b) else None

    out = {
        k: (int(v) if isinstance(v, int | float) and not k.endswith(("avg_s", "avg")) else v) for k, v in row.items()
    }
    for k in ("first_response_avg_s", "first_response_business_avg_s"):
        out[k] = None if row.get(k) is None else round(float(row[k]), 1)
    out["csat_avg"] = None if row.get("csat_avg") is None else round(float(row["csat_avg"]), 2)
    out["bot_resolved_rate"] = rate("bot_resolved", "assistant")
    out["handoff_rate"] = rate("handed_off", "assistant")
    out["abandonment_rate"] = rate("abandoned", "with_people")
    out["transfer_rate"] = rate("transferred", "with_people")
    out["csat_score"] = rate("csat_satisfied", "csat_answered")
    out["csat_response_rate"] = rate("csat_answered", "csat_asked")
    return out


MEDIANS = {
    "first_response_s": R.first_response_s,
    "first_response_business_s": R.first_response_business_s,
    "bot_s": R.bot_s,
    "wait_s": R.wait_s,
    "handle_s": R.handle_s,
    "resolution_s": R.resolution_s,
    "red_flag_s": R.red_flag_s,
}


async def percentiles(
    s: AsyncSession, f: Filters, cols: dict[str, Any], ps: tuple[int, ...]
) -> dict[str, dict[int, int]]:
    """Nearest-rank percentiles of each column over the filtered rows that have it: one sort per
    column, every percentile read from it, all columns in one round trip."""
    parts = []
    for name, col in cols.items():
        inner = (
            select(col.label("v"), func.row_number().over(order_by=col).label("rn"), func.count().over().label("n"))
            .where(*f.where(), col.is_not(None))
            .subquery()
        )
        # rank k = ceil(n * p / 100): the one rn with n*p <= 100*rn < n*p + 100
        hit = [and_(inner.c.n * p <= inner.c.rn * 100, inner.c.rn * 100 < inner.c.n * p + 100) for p in ps]
        parts.append(
            select(literal_column(f"'{name}'").label("col"), inner.c.rn, inner.c.n, inner.c.v).where(or_(*hit))
        )
    out: dict[str, dict[int, int]] = {name: {} for name in cols}
    for name, rn, n, v in (await s.execute(union_all(*parts))).all():
        for p in ps:
            if n * p <= rn * 100 < n * p + 100:
                out[name][p] = int(v)
    return out


async def report(
    sessions: async_sessionmaker[AsyncSession], f: Filters, period: str, now: datetime, breakdowns: bool = True
) -> dict[str, Any]:
    """The cards, the table by period, the breakdowns and the distributions of one filter: each
    query on its own connection, all at once (SQLite runs them in threads, in parallel)."""
    figs = figures(now)
    per = PERIODS[period]

    async def rows_of(q: Any) -> list[dict[str, Any]]:
        async with sessions() as s:
            return [dict(r) for r in (await s.execute(q)).mappings()]

    async def dist() -> dict[str, dict[int, int]]:
        async with sessions() as s:
            return await percentiles(s, f, MEDIANS, PERCENTILES)  # medians and the first response's distribution

    queries: dict[str, Any] = {
        "totals": rows_of(select(*figs).where(*f.where())),
        "rows": rows_of(select(per.label("period"), *figs).where(*f.where()).group_by(per).order_by(per)),
    }
    if breakdowns:
        for name, col in (
            ("channel", R.channel),
            ("language", R.language),
            ("intent", R.intent),
            ("team", R.team_id),
            ("agent", R.agent_id),
        ):
            queries[f"by_{name}"] = rows_of(
                select(col.label("key"), *figs).where(*f.where()).group_by(col).order_by(col)
            )
        queries["heatmap"] = rows_of(
            select(R.weekday, R.hour, func.count().label("conversations"), func.sum(R.messages_in).label("messages_in"))
            .where(*f.where())
            .group_by(R.weekday, R.hour)
        )
        queries["handoff_reasons"] = rows_of(
            select(R.handoff_reason.label("reason"), func.count().label("conversations"))
            .where(*f.where(), R.handed_off.is_(True))
            .group_by(R.handoff_reason)
            .order_by(func.count().desc())
        )
    names = list(queries)
    results = await asyncio.gather(dist(), *queries.values())
    frt, got = results[0], dict(zip(names, results[1:], strict=True))
    (totals,) = got.pop("totals")
    out: dict[str, Any] = {
        "totals": {**_rates(totals), **{f"{k}_median": v.get(50) for k, v in frt.items()}},
        "rows": [
            {**_rates({k: v for k, v in r.items() if k != "period"}), "period": r["period"].isoformat()}
            for r in got.pop("rows")
        ],  # fmt: skip
        "first_response_percentiles": [
            {
                "p": p,
                "calendar_s": frt["first_response_s"].get(p),
                "business_s": frt["first_response_business_s"].get(p),
            }
            for p in PERCENTILES
        ],
    }
    for name in ("by_channel", "by_language", "by_intent", "by_team", "by_agent"):
        if name in got:
            out[name] = [{**_rates({k: v for k, v in r.items() if k != "key"}), "key": r["key"]} for r in got.pop(name)]
    out.update(got)  # the heat map and the reasons, as read
    return out

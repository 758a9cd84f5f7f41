"""Teams' opening hours and the clinic's holidays: admins set them; the bot reads them to tell a
patient when a person will answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody
from sqlalchemy import select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bounds import Id, IdPath, text
from hub.db.models import Holiday, Team
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.i18n import _
from hub.refusals import Refused, one_by_one
from hub.routing.hours import DEFAULT_HOURS, BadHours, check_hours, is_open, next_opening

Span = Annotated[list[Annotated[str, msgspec.Meta(pattern=r"^\d{2}:\d{2}$")]], msgspec.Meta(min_length=2, max_length=2)]
HoursBody = dict[str, Annotated[list[Span], msgspec.Meta(max_length=6)]]


class TeamHours(msgspec.Struct):
    team_id: int
    name: str
    hours: dict[str, Any]
    open_now: bool
    next_opening: datetime | None
    holidays: list[date]


class HolidayBody(msgspec.Struct, forbid_unknown_fields=True):
    day: date
    name: text(120, 1)  # type: ignore[valid-type]
    team_id: Id | None = None  # none: the whole clinic


class HolidayOut(msgspec.Struct):
    id: int
    day: date
    name: str
    team_id: int | None


def _set_hours(tx: Tx, item: tuple[int, dict[str, Any], Principal, Origin]) -> None:
    team_id, hours, by, origin = item
    team = tx.session.get(Team, team_id)
    if team is None:
        raise Refused(404, _("Unknown team."))
    team.hours = hours
    add_audit(tx, AuditRecord(AuditAction.TEAM_HOURS, by.id, origin, detail={"team_id": team_id, "hours": hours}))


def _add_holiday(tx: Tx, item: tuple[HolidayBody, Principal, Origin]) -> HolidayOut:
    body, by, origin = item
    if body.team_id is not None and tx.session.get(Team, body.team_id) is None:
        raise Refused(404, _("Unknown team."))
    same_team = Holiday.team_id.is_(None) if body.team_id is None else Holiday.team_id == body.team_id
    taken = tx.session.execute(select(Holiday.id).where(Holiday.day == body.day, same_team)).first()
    if taken:
        raise Refused(409, _("That day is already a holiday."))
    holiday = Holiday(team_id=body.team_id, day=body.day, name=body.name)
    tx.session.add(holiday)
    tx.session.flush()
    add_audit(
        tx,
        AuditRecord(AuditAction.TEAM_HOURS, by.id, origin, detail={"holiday": str(body.day), "team_id": body.team_id}),
    )
    return HolidayOut(holiday.id, holiday.day, holiday.name, holiday.team_id)


def _remove_holiday(tx: Tx, item: tuple[int, Principal, Origin]) -> None:
    holiday_id, by, origin = item
    holiday = tx.session.get(Holiday, holiday_id)
    if holiday is None:
        raise Refused(404, _("There is no holiday {id}."), id=holiday_id)
    add_audit(tx, AuditRecord(AuditAction.TEAM_HOURS, by.id, origin, detail={"holiday_removed": str(holiday.day)}))
    tx.session.delete(holiday)


set_hours, add_holiday, remove_holiday = one_by_one(_set_hours), one_by_one(_add_holiday), one_by_one(_remove_holiday)


class ScheduleController(Controller):
    path = "/api"

    @get("/teams/hours", guards=[requires(Role.AGENT)])
    async def hours(self, hub: HubDep) -> list[TeamHours]:
        """Each team's week, whether it is open now, and when it opens next (the clinic's zone)."""
        now, tz = utcnow(), hub.settings.clinic.timezone
        async with hub.read_sessions() as s:
            teams = (await s.execute(select(Team).order_by(Team.id))).scalars().all()
            # From today in the clinic's zone: past UTC midnight, the clinic's today is still a UTC yesterday.
            today = now.astimezone(ZoneInfo(tz)).date()
            holidays = (await s.execute(select(Holiday).where(Holiday.day >= today))).scalars().all()
        out = []
        for team in teams:
            days = [h.day for h in holidays if h.team_id in (None, team.id)]
            hours = team.hours or DEFAULT_HOURS
            out.append(
                TeamHours(
                    team.id,
                    team.name,
                    hours,
                    is_open(hours, days, now, tz),
                    next_opening(hours, days, now, tz),
                    sorted(days),
                )
            )
        return out

    @put("/teams/{team_id:int}/hours", guards=[requires(Role.ADMIN)])
    async def set_team_hours(
        self, request: Request[Principal, Any, Any], team_id: IdPath, data: JSONBody[HoursBody], hub: HubDep
    ) -> dict[str, Any]:
        try:
            hours = check_hours(data)  # type: ignore[arg-type]
        except BadHours as exc:
            raise Refused(400, _("These hours cannot be used: {detail}"), detail=str(exc)) from None
        await hub.writer.submit(set_hours, (team_id, hours, request.user, Origin.of(request)))
        return {"team_id": team_id, "hours": hours}

    @get("/holidays", guards=[requires(Role.AGENT)])
    async def holidays(self, hub: HubDep) -> list[HolidayOut]:
        async with hub.read_sessions() as s:
            rows = (await s.execute(select(Holiday).order_by(Holiday.day))).scalars().all()
        return [HolidayOut(h.id, h.day, h.name, h.team_id) for h in rows]

    @post("/holidays", status_code=201, guards=[requires(Role.ADMIN)])
    async def add(self, request: Request[Principal, Any, Any], data: JSONBody[HolidayBody], hub: HubDep) -> HolidayOut:
        return await hub.writer.submit(add_holiday, (data, request.user, Origin.of(request)))

    @delete("/holidays/{holiday_id:int}", status_code=200, guards=[requires(Role.ADMIN)])
    async def remove(self, request: Request[Principal, Any, Any], holiday_id: IdPath, hub: HubDep) -> dict[str, int]:
        await hub.writer.submit(remove_holiday, (holiday_id, request.user, Origin.of(request)))
        return {"removed": holiday_id}

"""Teams: admins create and rename them (with a Spanish name); everyone lists them, with who is in
each and available, to transfer a conversation. Hours and holidays are in hub/routing/schedule.py."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import JSONBody
from sqlalchemy import select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bounds import IdPath, text
from hub.db.models import Agent, Team
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.i18n import _
from hub.refusals import Refused, one_by_one
from hub.routing.queues import PRESENCE


class TeamMember(msgspec.Struct):
    id: int
    display_name: str
    available: bool  # said so, and their inbox is open: routing may give them conversations
    languages: list[str]


class TeamOut(msgspec.Struct):
    id: int
    key: str
    name: str
    members: list[TeamMember] = msgspec.field(default_factory=list)  # for transfers: who is in it
    name_es: str | None = None


class NewTeam(msgspec.Struct, forbid_unknown_fields=True):
    name: text(120, 1)  # type: ignore[valid-type]
    name_es: text(120, 1) | None = None  # type: ignore[valid-type]
    key: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{2,40}$")] | None = None  # none: made from the name


class TeamChanges(msgspec.Struct, forbid_unknown_fields=True):
    name: text(120, 1) | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    name_es: text(120, 1) | None | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]


def _slug(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:40] or "team"


def _team_out(t: Team) -> TeamOut:
    return TeamOut(t.id, t.key, t.name, name_es=t.name_es)


def _create_team(tx: Tx, item: tuple[NewTeam, Principal, Origin]) -> TeamOut:
    data, by, origin = item
    key = data.key or _slug(data.name)
    if len(key) < 2:
        key = f"team_{key}"
    if tx.session.execute(select(Team.id).where(Team.key == key)).first():
        if data.key:
            raise Refused(409, _("There is already a team {key}."), key=key)
        n = 2
        while tx.session.execute(select(Team.id).where(Team.key == f"{key[:36]}_{n}")).first():
            n += 1
        key = f"{key[:36]}_{n}"
    team = Team(key=key, name=data.name, name_es=data.name_es, hours={})
    tx.session.add(team)
    tx.session.flush()
    detail = {"team_id": team.id, "key": key, "name": data.name, "name_es": data.name_es}
    add_audit(tx, AuditRecord(AuditAction.TEAM_CREATE, by.id, origin, detail=detail))
    return _team_out(team)


def _change_team(tx: Tx, item: tuple[int, TeamChanges, Principal, Origin]) -> TeamOut:
    team_id, changes, by, origin = item
    team = tx.session.get(Team, team_id)
    if team is None:
        raise Refused(404, _("Unknown team."))
    changed: dict[str, Any] = {}
    for name in ("name", "name_es"):
        value = getattr(changes, name)
        if value is not msgspec.UNSET and value != getattr(team, name):
            changed[name] = {"from": getattr(team, name), "to": value}
            setattr(team, name, value)
    if changed:
        add_audit(tx, AuditRecord(AuditAction.TEAM_UPDATE, by.id, origin, detail={"team_id": team.id, **changed}))
    return _team_out(team)


create_team, change_team = one_by_one(_create_team), one_by_one(_change_team)


class TeamController(Controller):
    path = "/api"

    @get("/teams", guards=[requires(Role.AGENT)])
    async def list_teams(self, hub: HubDep) -> list[TeamOut]:
        """Teams and their active members, for transferring a conversation to a team or a colleague."""
        now = utcnow()
        async with hub.read_sessions() as s:
            teams = {t.id: _team_out(t) for t in (await s.execute(select(Team).order_by(Team.id))).scalars()}
            agents = (
                await s.execute(select(Agent).where(Agent.active.is_(True)).order_by(Agent.display_name))
            ).scalars()
            for a in agents:
                online = a.available and a.last_seen_at is not None and a.last_seen_at >= now - PRESENCE
                for team in a.teams:
                    teams[team.id].members.append(TeamMember(a.id, a.display_name, online, list(a.languages or [])))
        return list(teams.values())

    @post("/teams", guards=[requires(Role.ADMIN)])
    async def create_team(self, request: Request[Principal, Any, Any], data: JSONBody[NewTeam], hub: HubDep) -> TeamOut:
        return await hub.writer.submit(create_team, (data, request.user, Origin.of(request)))

    @patch("/teams/{team_id:int}", guards=[requires(Role.ADMIN)])
    async def change_team(
        self, request: Request[Principal, Any, Any], team_id: IdPath, data: JSONBody[TeamChanges], hub: HubDep
    ) -> TeamOut:
        return await hub.writer.submit(change_team, (team_id, data, request.user, Origin.of(request)))

"""Sign in and out; staff accounts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.agents.passwords import hash_password, verify_password
from hub.agents.roles import Principal, Role, requires
from hub.agents.sessions import ROTATE, new_sid, principal_of, revoke
from hub.audit.record import (
    AuditAction,
    AuditRecord,
    Origin,
    add_audit,
    write_audit_batch,
)
from hub.db.models import Agent, Team
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.i18n import _
from hub.refusals import Refused
from hub.routing.queues import PRESENCE


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    login: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class MeChanges(msgspec.Struct, forbid_unknown_fields=True):
    """What staff may change about themselves; a field left out stays as it is."""

    ui_language: Literal["en", "es"] | None | msgspec.UnsetType = msgspec.UNSET  # None: the browser's


def _change_me(tx: Tx, items: list[tuple[Principal, MeChanges, Origin]]) -> list[Principal | Exception]:
    out: list[Principal | Exception] = []
    for who, changes, origin in items:
        agent = tx.session.get(Agent, who.id)
        if agent is None or not agent.active:
            out.append(Refused(401, _("Sign in first.")))
            continue
        if changes.ui_language is not msgspec.UNSET:
            detail = {"ui_language": {"from": agent.ui_language, "to": changes.ui_language}}
            add_audit(tx, AuditRecord(AuditAction.AGENT_PREFERENCES, who.id, origin, detail=detail))
            agent.ui_language = changes.ui_language
        out.append(principal_of(agent))
    return out


class AuthController(Controller):
    path = "/api/auth"

    @post("/login", status_code=HTTP_200_OK, exclude_from_auth=True)
    async def login(self, request: Request[Any, Any, Any], data: JSONBody[LoginBody], hub: HubDep) -> Principal:
        origin = Origin.of(request)
        if wait := hub.login_throttle.retry_after(origin.ip, data.login):
            raise Refused(429, _("Too many failed sign-ins. Try again in {seconds} seconds."), seconds=wait)
        async with hub.read_sessions() as s:
            agent = (await s.execute(select(Agent).where(Agent.login == data.login))).scalar_one_or_none()
        # argon2 takes ~0.1 s of CPU by design: off the event loop, so sign-ins never stall
        # everyone else's requests and sockets.
        ok = await anyio.to_thread.run_sync(verify_password, agent.password_hash if agent else None, data.password)
        principal = principal_of(agent) if agent is not None and ok and agent.active else None
        if principal is None:
            hub.login_throttle.failed(origin.ip, data.login)
            await hub.writer.submit(
                write_audit_batch,
                AuditRecord(
                    AuditAction.LOGIN_FAILED, agent.id if agent else None, origin, detail={"login": data.login[:80]}
                ),
            )
            raise Refused(401, _("Wrong login or password."))
        await hub.writer.submit(write_audit_batch, AuditRecord(AuditAction.LOGIN, principal.id, origin))
        request.scope[ROTATE] = True  # type: ignore[typeddict-unknown-key]
        request.set_session({"agent_id": principal.id, "sid": new_sid()})
        return principal

    @post("/logout", status_code=HTTP_200_OK, guards=[requires(Role.AGENT)])
    async def logout(self, request: Request[Principal, Any, Any], hub: HubDep) -> dict[str, bool]:
        await hub.writer.submit(write_audit_batch, AuditRecord(AuditAction.LOGOUT, request.user.id, Origin.of(request)))
        await revoke(request, request.session, hub.settings.security.idle_timeout_s)
        request.clear_session()
        return {"signed_out": True}

    @get("/me", guards=[requires(Role.AGENT)])
    async def whoami(self, request: Request[Principal, Any, Any]) -> Principal:
        return request.user

    @patch("/me", guards=[requires(Role.AGENT)])
    async def change_me(
        self, request: Request[Principal, Any, Any], data: JSONBody[MeChanges], hub: HubDep
    ) -> Principal:
        """Their own preferences (the inbox's language); answers the updated principal."""
        principal = await hub.writer.submit(_change_me, (request.user, data, Origin.of(request)))
        hub.principals.forget(request.user.id)
        return principal


class AgentOut(msgspec.Struct):
    id: int
    login: str
    display_name: str
    role: Role
    languages: list[str]
    team_ids: list[int]
    active: bool


class NewAgent(msgspec.Struct, forbid_unknown_fields=True):
    login: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9._-]{2,80}$")]
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    password: Annotated[str, msgspec.Meta(min_length=12, max_length=200)]
    role: Role = Role.AGENT
    languages: list[Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]] = msgspec.field(
        default_factory=lambda: ["en"]
    )
    team_ids: list[int] = msgspec.field(default_factory=list)


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


def _agent_out(a: Agent) -> AgentOut:
    return AgentOut(
        a.id, a.login, a.display_name, Role(a.role), list(a.languages or []), sorted(t.id for t in a.teams), a.active
    )


def _create_agent(tx: Tx, items: list[tuple[NewAgent, str, Principal, Origin]]) -> list[AgentOut | Exception]:
    out: list[AgentOut | Exception] = []
    for data, password_hash, by, origin in items:
        teams = (tx.session.execute(select(Team).where(Team.id.in_(data.team_ids)))).scalars().all()
        if len(teams) != len(set(data.team_ids)):
            out.append(Refused(400, _("Unknown team.")))
            continue
        if (tx.session.execute(select(Agent.id).where(Agent.login == data.login))).first():
            out.append(Refused(400, _("The login {login} is taken."), login=data.login))
            continue
        agent = Agent(
            login=data.login,
            display_name=data.display_name,
            password_hash=password_hash,
            role=data.role,
            languages=data.languages,
            teams=list(teams),
            active=True,
        )
        tx.session.add(agent)
        tx.session.flush()
        add_audit(tx, AuditRecord(AuditAction.AGENT_CREATE, by.id, origin, detail={"agent_id": agent.id}))
        out.append(_agent_out(agent))
    return out


class StaffController(Controller):
    path = "/api"

    @get("/agents", guards=[requires(Role.SUPERVISOR)])
    async def list_agents(self, hub: HubDep) -> list[AgentOut]:
        async with hub.read_sessions() as s:
            agents = (await s.execute(select(Agent).order_by(Agent.id))).scalars().all()
            return [_agent_out(a) for a in agents]

    @post("/agents", guards=[requires(Role.ADMIN)])
    async def create_agent(
        self, request: Request[Principal, Any, Any], data: JSONBody[NewAgent], hub: HubDep
    ) -> AgentOut:
        try:
            password_hash = await anyio.to_thread.run_sync(hash_password, data.password)
            return await hub.writer.submit(_create_agent, (data, password_hash, request.user, Origin.of(request)))
        except IntegrityError:
            raise Refused(400, _("The login {login} is taken."), login=data.login) from None

    @get("/teams", guards=[requires(Role.AGENT)])
    async def list_teams(self, hub: HubDep) -> list[TeamOut]:
        """Teams and their active members, for transferring a conversation to a team or a colleague."""
        now = utcnow()
        async with hub.read_sessions() as s:
            teams = {
                t.id: TeamOut(t.id, t.key, t.name) for t in (await s.execute(select(Team).order_by(Team.id))).scalars()
            }
            agents = (
                await s.execute(select(Agent).where(Agent.active.is_(True)).order_by(Agent.display_name))
            ).scalars()
            for a in agents:
                online = a.available and a.last_seen_at is not None and a.last_seen_at >= now - PRESENCE
                for team in a.teams:
                    teams[team.id].members.append(TeamMember(a.id, a.display_name, online, list(a.languages or [])))
        return list(teams.values())

"""Admins manage staff: create, edit, deactivate (their sockets close, their sessions end, their open
conversations go back to the queue), one-time password-reset codes, taking away someone's MFA, which
roles need MFA; every change audited in its own transaction. Teams are in hub/agents/teams.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import func, select

from hub.agents import mfa
from hub.agents.controllers import _checked_password
from hub.agents.credentials import mfa_required
from hub.agents.roles import Principal, Role, requires
from hub.agents.tickets import code_hash
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bounds import Id, IdPath, text
from hub.db.models import Agent, Conversation, RolePolicy, Team
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import Hub, HubDep
from hub.events import AuthorType, ConversationStatus, EventKind, StaffChangedSignal
from hub.i18n import _
from hub.refusals import Refused, one_by_one
from hub.routing.queues import assign_waiting
from hub.timeline.append import append_event

Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
Capacity = Annotated[int, msgspec.Meta(ge=0, le=100)]


class AgentOut(msgspec.Struct):
    id: int
    login: str
    display_name: str
    role: Role
    languages: list[str]
    team_ids: list[int]
    active: bool
    capacity: int = 5
    mfa_enrolled: bool = False
    created_at: datetime | None = None
    deactivated_at: datetime | None = None


class NewAgent(msgspec.Struct, forbid_unknown_fields=True):
    login: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9._-]{2,80}$")]
    display_name: text(120, 1)  # type: ignore[valid-type]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: Role = Role.AGENT
    languages: Annotated[list[Language], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=lambda: ["en"])
    team_ids: Annotated[list[Id], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    capacity: Capacity = 5


class AgentChanges(msgspec.Struct, forbid_unknown_fields=True):
    """A field left out stays as it is. active false: deactivate; true: reactivate."""

    display_name: text(120, 1) | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    role: Role | msgspec.UnsetType = msgspec.UNSET
    languages: Annotated[list[Language], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    team_ids: Annotated[list[Id], msgspec.Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class ResetCode(msgspec.Struct):
    """Shown once: give it to the person, who sets a new password with it on the sign-in page."""

    login: str
    code: str
    expires_at: datetime


class RolePolicyOut(msgspec.Struct):
    mfa_required: dict[str, bool]


class RolePolicyBody(msgspec.Struct, forbid_unknown_fields=True):
    mfa_required: dict[Role, bool]


def agent_out(a: Agent) -> AgentOut:
    return AgentOut(
        a.id,
        a.login,
        a.display_name,
        Role(a.role),
        list(a.languages or []),
        sorted(t.id for t in a.teams),
        a.active,
        a.capacity,
        a.totp_secret is not None,
        a.created_at,
        a.deactivated_at,
    )


def _teams(tx: Tx, team_ids: list[int]) -> list[Team]:
    teams = list(tx.session.execute(select(Team).where(Team.id.in_(team_ids))).scalars())
    if len(teams) != len(set(team_ids)):
        raise Refused(400, _("Unknown team."))
    return teams


def _other_active_admins(tx: Tx, agent_id: int) -> int:
    return tx.session.execute(
        select(func.count()).where(Agent.role == Role.ADMIN, Agent.active.is_(True), Agent.id != agent_id)
    ).scalar_one()


def _create_agent(tx: Tx, item: tuple[NewAgent, str, Principal, Origin]) -> AgentOut:
    data, password_hash, by, origin = item
    teams = _teams(tx, data.team_ids)
    if tx.session.execute(select(Agent.id).where(Agent.login == data.login)).first():
        raise Refused(400, _("The login {login} is taken."), login=data.login)
    agent = Agent(
        login=data.login,
        display_name=data.display_name,
        password_hash=password_hash,
        role=data.role,
        languages=data.languages,
        teams=teams,
        capacity=data.capacity,
        active=True,
        password_changed_at=utcnow(),
    )
    tx.session.add(agent)
    tx.session.flush()
    detail = {"agent_id": agent.id, "login": agent.login, "role": data.role, "team_ids": sorted(data.team_ids)}
    add_audit(tx, AuditRecord(AuditAction.AGENT_CREATE, by.id, origin, detail=detail))
    return agent_out(agent)


def _release_conversations(tx: Tx, agent: Agent, by: Principal) -> int:
    """The agent's open conversations go back to their teams' queues (routing hands them on)."""
    convs = tx.session.execute(
        select(Conversation)
        .where(Conversation.assignee_id == agent.id, Conversation.status != ConversationStatus.RESOLVED)
        .with_for_update()
    ).scalars()
    released = 0
    for conv in convs:
        conv.assignee_id = None
        if conv.handler == "agent":
            conv.queued_at = utcnow()
        append_event(
            tx,
            conv,
            EventKind.ASSIGNMENT,
            author_type=AuthorType.AGENT,
            author_id=by.id,
            author_name=by.display_name,
            data={"assignee_id": None, "assignee_name": None, "previous_assignee_id": agent.id},
        )
        released += 1
    return released


def _change_agent(tx: Tx, item: tuple[int, AgentChanges, Principal, Origin]) -> AgentOut:
    agent_id, changes, by, origin = item
    agent = tx.session.get(Agent, agent_id, with_for_update=True)
    if agent is None:
        raise Refused(404, _("There is no staff member {id}."), id=agent_id)
    changed: dict[str, Any] = {}
    losing_admin = (changes.role is not msgspec.UNSET and changes.role != Role.ADMIN) or changes.active is False
    if agent.role == Role.ADMIN and agent.active and losing_admin and not _other_active_admins(tx, agent.id):
        raise Refused(409, _("This is the last active administrator: make another one first."))
    if agent.id == by.id and changes.active is False:
        raise Refused(409, _("You cannot deactivate yourself."))
    for name in ("display_name", "role", "languages", "capacity"):
        value = getattr(changes, name)
        if value is not msgspec.UNSET and value != getattr(agent, name):
            changed[name] = {"from": getattr(agent, name), "to": value}
            setattr(agent, name, value)
    if changes.team_ids is not msgspec.UNSET:
        before = sorted(t.id for t in agent.teams)
        if sorted(set(changes.team_ids)) != before:
            agent.teams = _teams(tx, changes.team_ids)
            changed["team_ids"] = {"from": before, "to": sorted(set(changes.team_ids))}
    if changed:
        add_audit(tx, AuditRecord(AuditAction.AGENT_UPDATE, by.id, origin, detail={"agent_id": agent.id, **changed}))
    if changes.active is False and agent.active:
        agent.active, agent.available, agent.deactivated_at = False, False, utcnow()
        agent.session_epoch += 1  # every session of theirs ends
        released = _release_conversations(tx, agent, by)
        add_audit(
            tx,
            AuditRecord(
                AuditAction.AGENT_DEACTIVATE, by.id, origin, detail={"agent_id": agent.id, "released": released}
            ),
        )
    elif changes.active is True and not agent.active:
        agent.active, agent.deactivated_at = True, None
        add_audit(tx, AuditRecord(AuditAction.AGENT_REACTIVATE, by.id, origin, detail={"agent_id": agent.id}))
    tx.session.flush()
    return agent_out(agent)


def _issue_reset(tx: Tx, item: tuple[int, str, datetime, Principal, Origin]) -> str:
    agent_id, digest, expires_at, by, origin = item
    agent = tx.session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise Refused(404, _("There is no active staff member {id}."), id=agent_id)
    agent.reset_code_hash, agent.reset_expires_at = digest, expires_at
    add_audit(tx, AuditRecord(AuditAction.PASSWORD_RESET_ISSUED, by.id, origin, detail={"agent_id": agent.id}))
    return agent.login


def _reset_mfa(tx: Tx, item: tuple[int, Principal, Origin]) -> AgentOut:
    agent_id, by, origin = item
    agent = tx.session.get(Agent, agent_id)
    if agent is None:
        raise Refused(404, _("There is no staff member {id}."), id=agent_id)
    if agent.totp_secret is None:
        raise Refused(409, _("{name} has no MFA to reset."), name=agent.display_name)
    agent.totp_secret = agent.totp_last_step = agent.mfa_enrolled_at = None
    agent.recovery_codes = []
    agent.session_epoch += 1  # signed out everywhere: they sign in again and enrol anew
    add_audit(tx, AuditRecord(AuditAction.MFA_RESET, by.id, origin, detail={"agent_id": agent.id}))
    return agent_out(agent)


def _set_policy(tx: Tx, item: tuple[dict[Role, bool], Principal, Origin]) -> dict[str, bool]:
    wanted, by, origin = item
    changed = {}
    for role, required in wanted.items():
        policy = tx.session.get(RolePolicy, role.value)
        if policy is None:
            policy = RolePolicy(role=role.value, mfa_required=False)
            tx.session.add(policy)
        if policy.mfa_required != required:
            changed[role.value] = required
            policy.mfa_required, policy.updated_by, policy.updated_at = required, by.id, utcnow()
    if changed:
        add_audit(tx, AuditRecord(AuditAction.ROLE_POLICY, by.id, origin, detail={"mfa_required": changed}))
    return {r.value: mfa_required(tx.session, r.value) for r in Role}


create_agent, change_agent, issue_reset = one_by_one(_create_agent), one_by_one(_change_agent), one_by_one(_issue_reset)
reset_mfa, set_policy = one_by_one(_reset_mfa), one_by_one(_set_policy)


def _changed(hub: Hub, agent_id: int) -> None:
    """After commit: every process forgets the account, and its sockets close if it lost access."""
    hub.principals.forget(agent_id)
    hub.fanout.signal(StaffChangedSignal(agent_id))


class StaffController(Controller):
    path = "/api"

    @get("/agents", guards=[requires(Role.SUPERVISOR)])
    async def list_agents(self, hub: HubDep) -> list[AgentOut]:
        async with hub.read_sessions() as s:
            agents = (await s.execute(select(Agent).order_by(Agent.id))).scalars().all()
            return [agent_out(a) for a in agents]

    @post("/agents", guards=[requires(Role.ADMIN)])
    async def create_agent(
        self, request: Request[Principal, Any, Any], data: JSONBody[NewAgent], hub: HubDep
    ) -> AgentOut:
        password_hash = await _checked_password(hub, data.password, data.login, data.display_name)
        return await hub.writer.submit(create_agent, (data, password_hash, request.user, Origin.of(request)))

    @patch("/agents/{agent_id:int}", guards=[requires(Role.ADMIN)])
    async def change_agent(
        self, request: Request[Principal, Any, Any], agent_id: IdPath, data: JSONBody[AgentChanges], hub: HubDep
    ) -> AgentOut:
        """Edit, deactivate (active: false) or reactivate a staff member."""
        out = await hub.writer.submit(change_agent, (agent_id, data, request.user, Origin.of(request)))
        _changed(hub, agent_id)
        if data.active is False:
            await hub.writer.submit(assign_waiting, None)  # their conversations to whoever is free
        return out

    @post("/agents/{agent_id:int}/password-reset", status_code=HTTP_200_OK, guards=[requires(Role.ADMIN)])
    async def password_reset(self, request: Request[Principal, Any, Any], agent_id: IdPath, hub: HubDep) -> ResetCode:
        """A one-time code (shown this once, kept only as its HMAC) to set a new password with."""
        code = mfa.new_code(3)
        digest = code_hash(hub.settings.security.secret, "reset", mfa.normalised(code))
        expires_at = utcnow() + timedelta(seconds=hub.settings.security.reset_code_ttl_s)
        login = await hub.writer.submit(issue_reset, (agent_id, digest, expires_at, request.user, Origin.of(request)))
        return ResetCode(login, code, expires_at)

    @post("/agents/{agent_id:int}/mfa-reset", status_code=HTTP_200_OK, guards=[requires(Role.ADMIN)])
    async def mfa_reset(self, request: Request[Principal, Any, Any], agent_id: IdPath, hub: HubDep) -> AgentOut:
        """Take away someone's authenticator (a lost phone): they are signed out and enrol again."""
        out = await hub.writer.submit(reset_mfa, (agent_id, request.user, Origin.of(request)))
        _changed(hub, agent_id)
        return out

    @get("/security/policy", guards=[requires(Role.ADMIN)])
    async def policy(self, hub: HubDep) -> RolePolicyOut:
        async with hub.read_sessions() as s:
            required = await s.run_sync(lambda sync: {r.value: mfa_required(sync, r.value) for r in Role})
        return RolePolicyOut(required)

    @put("/security/policy", guards=[requires(Role.ADMIN)])
    async def set_policy(
        self, request: Request[Principal, Any, Any], data: JSONBody[RolePolicyBody], hub: HubDep
    ) -> RolePolicyOut:
        """Which roles must sign in with MFA; someone without it enrols at their next sign-in."""
        return RolePolicyOut(await hub.writer.submit(set_policy, (data.mfa_required, request.user, Origin.of(request))))


__all__ = ["StaffController", "anyio"]

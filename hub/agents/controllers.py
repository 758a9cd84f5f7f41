"""Sign in (password, then TOTP or a recovery code when the account has MFA or its role needs it) and
out; one's own password, preferences and MFA; a reset code an admin gave."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import func, select

from hub.agents import mfa
from hub.agents.credentials import (
    MeChanges,
    apply_my_changes,
    change_password,
    enrol,
    mfa_required,
    pass_totp,
    redeem_reset,
)
from hub.agents.passwords import hash_password, password_problem, verify_password
from hub.agents.roles import Principal, Role, requires
from hub.agents.sessions import principal_of, revoke, start_session
from hub.agents.tickets import code_hash
from hub.agents.tickets import read as read_ticket
from hub.agents.tickets import sign as sign_ticket
from hub.audit.record import (
    AuditAction,
    AuditRecord,
    Origin,
    write_audit_batch,
)
from hub.db.models import Agent
from hub.deps import Hub, HubDep
from hub.events import StaffChangedSignal
from hub.i18n import _
from hub.refusals import Refused

TICKET_TTL_S = 300  # between the password and the second step
ENROL_TTL_S = 900  # to scan the code and type the first one
Ticket = Annotated[str, msgspec.Meta(min_length=10, max_length=2000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    login: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    password: Password


class LoginStep(msgspec.Struct):
    """The password was right; the sign-in needs a second step: `totp` (a code from the app, or a
    recovery code) or `enrol` (the role needs MFA and the account has none yet: set it up now)."""

    step: Literal["totp", "enrol"]
    ticket: str


class CodeBody(msgspec.Struct, forbid_unknown_fields=True):
    ticket: Ticket
    code: Code


class TicketBody(msgspec.Struct, forbid_unknown_fields=True):
    ticket: Ticket


class Enrolment(msgspec.Struct):
    """A TOTP secret to add to an authenticator app: scan `qr` or type `secret`; then confirm with a code."""

    secret: str
    uri: str
    qr: str  # an SVG QR code as a data: URL
    enrolment: str  # hand back with the first code


class ConfirmBody(msgspec.Struct, forbid_unknown_fields=True):
    enrolment: Ticket
    code: Code


class Enrolled(msgspec.Struct):
    """MFA is on. The recovery codes are shown this once: each signs in once without the app."""

    recovery_codes: list[str]
    me: Principal | None = None  # signed in by it (the enrolment at sign-in)


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current: Password
    new: Password


class ResetBody(msgspec.Struct, forbid_unknown_fields=True):
    login: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    code: Code
    password: Password


class MfaState(msgspec.Struct):
    enrolled: bool
    required: bool  # the role needs it
    recovery_codes_left: int


class SetupState(msgspec.Struct):
    """Whether the hub has an administrator yet; without one nobody can sign in (run `puente create-admin`)."""

    has_admin: bool


async def _checked_password(hub: Hub, password: str, *context: str) -> str:
    """The argon2 hash of an acceptable new password, else a 400 saying why not."""
    problem = password_problem(password, hub.settings.security.password_min_length, *context)
    if problem:
        raise Refused(400, problem[0], **problem[1])
    return await anyio.to_thread.run_sync(hash_password, password)


def _throttled(hub: Hub, origin: Origin, login: str) -> None:
    if wait := hub.login_throttle.retry_after(origin.ip, login):
        raise Refused(429, _("Too many failed sign-ins. Try again in {seconds} seconds."), seconds=wait)


class AuthController(Controller):
    path = "/api/auth"

    @get("/setup", exclude_from_auth=True)
    async def setup(self, hub: HubDep) -> SetupState:
        """Public: the sign-in page says how to make the first administrator when there is none."""
        async with hub.read_sessions() as s:
            admins = (
                await s.execute(select(func.count()).where(Agent.role == Role.ADMIN, Agent.active.is_(True)))
            ).scalar_one()
        return SetupState(has_admin=admins > 0)

    @post("/login", status_code=HTTP_200_OK, exclude_from_auth=True)
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginBody], hub: HubDep
    ) -> Principal | LoginStep:
        """The password. Signed in at once (the principal), or told the second step (LoginStep)."""
        origin = Origin.of(request)
        _throttled(hub, origin, data.login)
        async with hub.read_sessions() as s:
            agent = (await s.execute(select(Agent).where(Agent.login == data.login))).scalar_one_or_none()
            required = agent is not None and await s.run_sync(lambda sync: mfa_required(sync, agent.role))
        # argon2 takes ~0.1 s of CPU by design: off the event loop, so sign-ins never stall
        # everyone else's requests and sockets.
        ok = await anyio.to_thread.run_sync(verify_password, agent.password_hash if agent else None, data.password)
        principal = principal_of(agent) if agent is not None and ok and agent.active else None
        if principal is None or agent is None:
            hub.login_throttle.failed(origin.ip, data.login)
            await hub.writer.submit(
                write_audit_batch,
                AuditRecord(
                    AuditAction.LOGIN_FAILED, agent.id if agent else None, origin, detail={"login": data.login[:80]}
                ),
            )
            raise Refused(401, _("Wrong login or password."))
        if agent.totp_secret or required:
            step: Literal["totp", "enrol"] = "totp" if agent.totp_secret else "enrol"
            payload = {"agent_id": agent.id, "epoch": agent.session_epoch}
            return LoginStep(step, sign_ticket(hub.settings.security.secret, step, payload, TICKET_TTL_S))
        await hub.writer.submit(write_audit_batch, AuditRecord(AuditAction.LOGIN, principal.id, origin))
        start_session(request, principal.id, agent.session_epoch)
        return principal

    def _ticket(self, hub: Hub, purpose: str, token: str) -> dict[str, Any]:
        payload = read_ticket(hub.settings.security.secret, purpose, token)
        if payload is None:
            raise Refused(401, _("This sign-in has expired: start again."))
        return payload

    @post("/login/totp", status_code=HTTP_200_OK, exclude_from_auth=True)
    async def login_totp(self, request: Request[Any, Any, Any], data: JSONBody[CodeBody], hub: HubDep) -> Principal:
        """The second step: a code from the authenticator app, or one of the recovery codes."""
        origin = Origin.of(request)
        ticket = self._ticket(hub, "totp", data.ticket)
        key = f"mfa:{ticket['agent_id']}"
        _throttled(hub, origin, key)
        try:
            principal, epoch, _left = await hub.writer.submit(
                pass_totp, (ticket["agent_id"], ticket["epoch"], data.code, hub.settings.security.secret, origin)
            )
        except Refused:
            hub.login_throttle.failed(origin.ip, key)
            raise
        start_session(request, principal.id, epoch)
        return principal

    @post("/login/enrol", status_code=HTTP_200_OK, exclude_from_auth=True)
    async def login_enrol(self, data: JSONBody[TicketBody], hub: HubDep) -> Enrolment:
        """The role needs MFA and the account has none: a new secret to scan (nothing stored yet)."""
        ticket = self._ticket(hub, "enrol", data.ticket)
        async with hub.read_sessions() as s:
            agent = await s.get(Agent, ticket["agent_id"])
        if agent is None or not agent.active or agent.session_epoch != ticket["epoch"]:
            raise Refused(401, _("This sign-in has expired: start again."))
        return self._enrolment(hub, agent)

    @post("/login/enrol/confirm", status_code=HTTP_200_OK, exclude_from_auth=True)
    async def login_enrol_confirm(
        self, request: Request[Any, Any, Any], data: JSONBody[ConfirmBody], hub: HubDep
    ) -> Enrolled:
        principal, epoch, codes = await self._confirm(request, data, hub)
        start_session(request, principal.id, epoch)
        return Enrolled(codes, principal)

    def _enrolment(self, hub: Hub, agent: Agent) -> Enrolment:
        secret = mfa.new_secret()
        uri = mfa.provisioning_uri(secret, agent.login, hub.settings.clinic.name)
        token = sign_ticket(
            hub.settings.security.secret,
            "confirm",
            {"agent_id": agent.id, "epoch": agent.session_epoch, "secret": secret},
            ENROL_TTL_S,
        )
        return Enrolment(secret, uri, mfa.qr_data_uri(uri, "QR"), token)

    async def _confirm(
        self, request: Request[Any, Any, Any], data: ConfirmBody, hub: HubDep
    ) -> tuple[Principal, int, list[str]]:
        origin = Origin.of(request)
        ticket = self._ticket(hub, "confirm", data.enrolment)
        key = f"mfa:{ticket['agent_id']}"
        _throttled(hub, origin, key)
        try:
            out = await hub.writer.submit(
                enrol,
                (
                    ticket["agent_id"],
                    ticket["epoch"],
                    ticket["secret"],
                    data.code,
                    hub.settings.security.secret,
                    origin,
                ),
            )
        except Refused:
            hub.login_throttle.failed(origin.ip, key)
            raise
        hub.principals.forget(ticket["agent_id"])
        hub.fanout.signal(StaffChangedSignal(ticket["agent_id"]))
        return out

    @get("/mfa", guards=[requires(Role.AGENT)])
    async def mfa_state(self, request: Request[Principal, Any, Any], hub: HubDep) -> MfaState:
        async with hub.read_sessions() as s:
            agent = await s.get(Agent, request.user.id)
            assert agent is not None
            required = await s.run_sync(lambda sync: mfa_required(sync, agent.role))
        return MfaState(agent.totp_secret is not None, required, len(agent.recovery_codes or []))

    @post("/mfa/enrol", status_code=HTTP_200_OK, guards=[requires(Role.AGENT)])
    async def mfa_enrol(self, request: Request[Principal, Any, Any], hub: HubDep) -> Enrolment:
        """Set up (or replace) one's own authenticator app: nothing changes until it is confirmed."""
        async with hub.read_sessions() as s:
            agent = await s.get(Agent, request.user.id)
        assert agent is not None
        return self._enrolment(hub, agent)

    @post("/mfa/confirm", status_code=HTTP_200_OK, guards=[requires(Role.AGENT)])
    async def mfa_confirm(
        self, request: Request[Principal, Any, Any], data: JSONBody[ConfirmBody], hub: HubDep
    ) -> Enrolled:
        ticket = read_ticket(hub.settings.security.secret, "confirm", data.enrolment)
        if ticket is None or ticket["agent_id"] != request.user.id:
            raise Refused(400, _("This set-up has expired or is not yours: start it again."))
        principal, epoch, codes = await self._confirm(request, data, hub)
        start_session(request, principal.id, epoch)  # other sessions ended; this one goes on
        return Enrolled(codes)

    @post("/password", status_code=HTTP_200_OK, guards=[requires(Role.AGENT)])
    async def password(
        self, request: Request[Principal, Any, Any], data: JSONBody[PasswordChange], hub: HubDep
    ) -> dict[str, bool]:
        """Change one's own password: the current one first; every other session of theirs ends."""
        origin, who = Origin.of(request), request.user
        _throttled(hub, origin, who.login)
        async with hub.read_sessions() as s:
            agent = await s.get(Agent, who.id)
        assert agent is not None
        if not await anyio.to_thread.run_sync(verify_password, agent.password_hash, data.current):
            hub.login_throttle.failed(origin.ip, who.login)
            await hub.writer.submit(write_audit_batch, AuditRecord(AuditAction.PASSWORD_CHANGE_FAILED, who.id, origin))
            raise Refused(400, _("The current password is wrong."))
        if data.new == data.current:
            raise Refused(400, _("The new password must differ from the current one."))
        password_hash = await _checked_password(hub, data.new, who.login, who.display_name)
        epoch = await hub.writer.submit(change_password, (who.id, password_hash, origin))
        hub.principals.forget(who.id)
        start_session(request, who.id, epoch)
        return {"changed": True}

    @post("/reset", status_code=HTTP_200_OK, exclude_from_auth=True)
    async def reset(self, request: Request[Any, Any, Any], data: JSONBody[ResetBody], hub: HubDep) -> dict[str, bool]:
        """A new password with the one-time code an administrator made; then sign in with it."""
        origin = Origin.of(request)
        _throttled(hub, origin, data.login)
        password_hash = await _checked_password(hub, data.password, data.login)
        digest = code_hash(hub.settings.security.secret, "reset", mfa.normalised(data.code))
        try:
            result = await hub.writer.submit(redeem_reset, (data.login, digest, password_hash, origin))
        except Refused:
            hub.login_throttle.failed(origin.ip, data.login)
            raise
        hub.principals.forget(result)
        hub.fanout.signal(StaffChangedSignal(result))
        return {"changed": True}

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
        principal = await hub.writer.submit(apply_my_changes, (request.user, data, Origin.of(request)))
        hub.principals.forget(request.user.id)
        return principal

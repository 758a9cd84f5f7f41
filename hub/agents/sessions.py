"""Server-side sessions with an idle timeout, and the signed-in principal."""

from __future__ import annotations

import secrets
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.security.session_auth import SessionAuth
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.agents.roles import Principal, Role
from hub.db.models import Agent

ROTATE = "puente.rotate_session"


class _RotatingBackend(ServerSideSessionBackend):
    """Signing in gets a fresh session id, so a planted cookie cannot become a session."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if connection.scope.get(ROTATE):
            sid = connection.scope.get("puente.new_session_id")
            if sid is None:
                sid = connection.scope["puente.new_session_id"] = self.generate_session_id()  # type: ignore[typeddict-unknown-key]
            return sid
        return super().get_session_id(connection)

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection) -> None:
        """Only a signed-in session is kept. A request that signs nobody in (a page, widget.js, a
        webhook, a failed sign-in) stores nothing and sets no session cookie: anonymous traffic costs
        the store nothing. A cookie whose session has ended is cleared."""
        if scope_session is Empty or not scope_session:
            if connection.cookies.get(self.config.key, "null") == "null":
                return  # nothing to keep, and nothing kept before
            scope_session = Empty  # clear the cookie of a session that has ended
        await super().store_in_message(scope_session, message, connection)


SESSION_COOKIE = "puente_session"


class SessionConfig(ServerSideSessionConfig):
    _backend_class = _RotatingBackend

    @staticmethod
    def store_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Store:
        return connection.app.stores.get("sessions")


class PrincipalCache:
    """Staff records change rarely; a short cache saves a query on every request while a
    deactivated login still stops working within seconds (at once in this process and, through the
    staff-changed signal, in the others)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_s: float = 5.0) -> None:
        self._sessions = sessions
        self._ttl = ttl_s
        self._cache: dict[int, tuple[float, Principal | None, int]] = {}

    async def current(self, agent_id: int) -> tuple[Principal | None, int]:
        """The active staff member and their session epoch (sessions made in an older one have ended)."""
        hit = self._cache.get(agent_id)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1], hit[2]
        async with self._sessions() as s:
            agent = await s.get(Agent, agent_id)
            principal = principal_of(agent) if agent is not None and agent.active else None
            epoch = agent.session_epoch if agent is not None else -1
        self._cache[agent_id] = (now + self._ttl, principal, epoch)
        return principal, epoch

    async def get(self, agent_id: int) -> Principal | None:
        return (await self.current(agent_id))[0]

    def forget(self, agent_id: int) -> None:
        """The agent's record changed here: read it afresh on their next request."""
        self._cache.pop(agent_id, None)


def principal_of(agent: Agent) -> Principal:
    return Principal(
        id=agent.id,
        login=agent.login,
        display_name=agent.display_name,
        role=Role(agent.role),
        team_ids=tuple(sorted(t.id for t in agent.teams)),
        languages=tuple(agent.languages or ()),
        ui_language=agent.ui_language,
    )


# A sign-out is kept on record, by the session's own id (`sid`, set at sign-in), longer than any
# session lives unused: a request still in flight when the agent signed out writes its copy of the
# session back to the store as it ends, and that copy must not sign them in again.
REVOKED_FOR_S = 7 * 24 * 3600  # at least; twice the idle timeout when that is longer


def new_sid() -> str:
    return secrets.token_urlsafe(18)


def start_session(connection: ASGIConnection[Any, Any, Any, Any], agent_id: int, epoch: int) -> None:
    """Sign in: a fresh session id (a planted cookie never becomes a session) in the account's epoch."""
    connection.scope[ROTATE] = True  # type: ignore[typeddict-unknown-key]
    connection.set_session({"agent_id": agent_id, "sid": new_sid(), "epoch": epoch})


async def revoke(connection: ASGIConnection[Any, Any, Any, Any], session: dict[str, Any], idle_timeout_s: int) -> None:
    sid = session.get("sid")
    if isinstance(sid, str):
        keep = max(REVOKED_FOR_S, 2 * idle_timeout_s)
        await SessionConfig.store_of(connection).set(f"revoked:{sid}", b"1", expires_in=keep)


async def revoked(connection: ASGIConnection[Any, Any, Any, Any], session: dict[str, Any]) -> bool:
    sid = session.get("sid")
    return not isinstance(sid, str) or await SessionConfig.store_of(connection).exists(f"revoked:{sid}")


async def still_signed_in(connection: ASGIConnection[Any, Any, Any, Any], cache: PrincipalCache) -> bool:
    """For a long-lived connection (the stream): is the session it opened with still good?
    Reads without renewing: watching is not activity."""
    store = SessionConfig.store_of(connection)
    if await store.get(connection.cookies.get(SESSION_COOKIE, "")) is None:
        return False  # idle-logged-off, or signed out
    if await revoked(connection, connection.session):
        return False
    _, epoch = await cache.current(connection.session.get("agent_id", -1))
    return connection.session.get("epoch", 0) == epoch


def make_session_auth(cache: PrincipalCache, idle_timeout_s: int, secure: bool, exclude: list[str]) -> SessionAuth:
    async def retrieve(session: dict[str, Any], connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
        agent_id, sid = session.get("agent_id"), session.get("sid")
        if not isinstance(agent_id, int) or not isinstance(sid, str):
            return None
        if await revoked(connection, session):
            return None  # signed out; this copy came back with a request that was in flight
        principal, epoch = await cache.current(agent_id)
        if session.get("epoch", 0) != epoch:
            return None  # the password, MFA or account changed since this session began
        return principal

    return SessionAuth[Principal, Any](
        retrieve_user_handler=retrieve,
        session_backend_config=SessionConfig(
            key=SESSION_COOKIE,
            max_age=idle_timeout_s,
            renew_on_access=True,
            httponly=True,
            secure=secure,
            samesite="strict",
        ),
        exclude=exclude,
    )

"""The first administrator: `puente create-admin`, or PUENTE_ADMIN_LOGIN and its password at start.
Without any administrator the hub says how to make one; there is no sign-up page to race for."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import func, select

from hub.agents.passwords import hash_password, password_problem
from hub.agents.roles import Role
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Agent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import Hub
from hub.i18n import translate
from hub.settings import BadSetting, Settings

log = logging.getLogger("hub.admin")
ORIGIN = Origin(None, "puente create-admin")
HOW = (
    "This hub has no administrator yet, so nobody can sign in. Make the first one on the server:\n"
    "  puente create-admin --login LOGIN --name 'Your Name'   (asks for the password)\n"
    "or set PUENTE_ADMIN_LOGIN and PUENTE_ADMIN_PASSWORD_FILE (or PUENTE_ADMIN_PASSWORD) and restart."
)


class AdminProblem(ValueError):
    """The first administrator cannot be made as asked; says why."""


def create_admin(tx: Tx, login: str, name: str, password_hash: str, via: str) -> tuple[int, bool]:
    """Make `login` an administrator unless it is one already: (its id, whether it was made now).
    Idempotent; a login that belongs to someone else who is not an active admin is refused."""
    agent = tx.session.execute(select(Agent).where(Agent.login == login)).scalar_one_or_none()
    if agent is not None:
        if agent.role == Role.ADMIN and agent.active:
            return agent.id, False
        raise AdminProblem(f"the login {login!r} belongs to a staff member who is not an active administrator")
    agent = Agent(
        login=login,
        display_name=name,
        password_hash=password_hash,
        role=Role.ADMIN,
        languages=["en"],
        active=True,
        password_changed_at=utcnow(),
    )
    tx.session.add(agent)
    tx.session.flush()
    detail = {"agent_id": agent.id, "login": login, "role": "admin", "via": via}
    add_audit(tx, AuditRecord(AuditAction.AGENT_CREATE, None, ORIGIN, detail=detail))
    return agent.id, True


def admins() -> Any:
    """How many active administrators there are (a query)."""
    return select(func.count()).where(Agent.role == Role.ADMIN, Agent.active.is_(True))


def checked(settings: Settings, login: str, password: str) -> str:
    """The password's argon2 hash, if it may be used."""
    if not login or len(login) > 80:
        raise AdminProblem("a login is needed (at most 80 characters)")
    problem = password_problem(password, settings.security.password_min_length, login)
    if problem:
        raise AdminProblem(translate("en", problem[0], **problem[1]))
    return hash_password(password)


def _password(settings: Settings) -> str:
    admin = settings.admin
    if admin.password_file:
        try:
            return Path(admin.password_file).read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError) as exc:
            raise BadSetting(f"PUENTE_ADMIN_PASSWORD_FILE={admin.password_file!r}: cannot be read ({exc})") from None
    return admin.password


async def admin_from_settings(hub: Hub) -> None:
    """At start: PUENTE_ADMIN_LOGIN and its password make the first administrator, once (never
    changing one that exists). A password that may not be used stops the start, saying why."""
    settings = hub.settings
    if not settings.admin.login or not (settings.admin.password or settings.admin.password_file):
        return  # nothing asked for (a login without a password: the start says how to make one)
    async with hub.read_sessions() as s:
        if (await s.execute(admins())).scalar_one():
            return
    try:
        password_hash = await anyio.to_thread.run_sync(checked, settings, settings.admin.login, _password(settings))
    except AdminProblem as exc:
        raise BadSetting(f"PUENTE_ADMIN_LOGIN={settings.admin.login!r}: {exc}") from None

    def made(tx: Tx, items: list[None]) -> list[tuple[int, bool]]:
        return [create_admin(tx, settings.admin.login, settings.admin.display_name, password_hash, "environment")]

    try:
        _, created = await hub.writer.submit(made, None)
    except AdminProblem as exc:
        raise BadSetting(f"PUENTE_ADMIN_LOGIN={settings.admin.login!r}: {exc}") from None
    if created:
        log.warning("the first administrator, %s, was made from PUENTE_ADMIN_LOGIN", settings.admin.login)


async def announce_missing_admin(hub: Hub) -> None:
    async with hub.read_sessions() as s:
        if (await s.execute(admins())).scalar_one():
            return
    log.warning(HOW)
    print(HOW, flush=True)

"""Staff roles and the guards that enforce them on every route."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hub.i18n import _
from hub.refusals import Refused


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


class Principal(msgspec.Struct, frozen=True):
    """The signed-in staff member, as every handler sees them."""

    id: int
    login: str
    display_name: str
    role: Role
    team_ids: tuple[int, ...]
    languages: tuple[str, ...]
    ui_language: str | None = None  # the inbox's language they chose; None: their browser's

    @property
    def sees_everything(self) -> bool:
        return self.role.rank >= Role.SUPERVISOR.rank


NEEDS_ROLE = {
    Role.AGENT: _("This needs an agent's sign-in."),
    Role.SUPERVISOR: _("This needs a supervisor."),
    Role.ADMIN: _("This needs an administrator."),
}


def requires(role: Role) -> Any:
    """A guard: the user is signed in and holds at least `role`."""

    # async: Litestar runs a sync guard in a worker thread, a thread hop on every request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise Refused(401, _("Sign in first."))
        if user.role.rank < role.rank:
            raise Refused(403, NEEDS_ROLE[role])

    guard.__name__ = f"requires_{role}"
    guard.role = role  # type: ignore[attr-defined]
    return guard

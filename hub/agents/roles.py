"""Staff roles and the guards that enforce them on every route."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler


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

    @property
    def sees_everything(self) -> bool:
        return self.role.rank >= Role.SUPERVISOR.rank


def requires(role: Role) -> Any:
    """A guard: the user is signed in and holds at least `role`."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise NotAuthorizedException("sign in first")
        if user.role.rank < role.rank:
            raise PermissionDeniedException(f"this needs the {role} role")

    guard.__name__ = f"requires_{role}"
    guard.role = role  # type: ignore[attr-defined]
    return guard

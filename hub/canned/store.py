"""Canned replies in the database, changed only inside the writer's transactions.

A canned reply is personal (its owner's alone: only they see, change or delete it) or shared (every
agent sees it; supervisors and admins keep it). A shortcut is unique among one agent's own replies
and among the shared ones; a personal one may shadow a shared one (the composer lists it first).
Its texts are in the templates' syntax (hub/templates/syntax.py), one per language, and are
checked the same way. Every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select

from hub.agents.roles import NEEDS_ROLE, Principal, Role
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import CannedReply
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.i18n import _
from hub.refusals import Problem, Refused, one_by_one
from hub.templates.content import Variant, parsed

NOT_FOUND = _("There is no canned reply {id} that you can change.")
TAKEN = _("You already have a canned reply /{shortcut}.")
TAKEN_SHARED = _("There is already a shared canned reply /{shortcut}.")
NOT_VALID = _("The canned reply cannot be saved as it is: fix what is marked.")


class CannedOut(msgspec.Struct):
    id: int
    shortcut: str
    title: str
    texts: dict[str, str]
    shared: bool
    mine: bool  # the requester may change it
    updated_at: datetime


def out(row: CannedReply, who: Principal) -> CannedOut:
    mine = row.owner_id == who.id if row.owner_id is not None else who.role.rank >= Role.SUPERVISOR.rank
    return CannedOut(row.id, row.shortcut, row.title, dict(row.texts), row.owner_id is None, mine, row.updated_at)


def problems_of(texts: dict[str, str]) -> list[Problem]:
    """What is wrong with the texts, as for a template's chat variant: syntax, unknown placeholders."""
    if not any(t.strip() for t in texts.values()):
        return [Problem("no_text", _("Write the reply in at least one language."))]
    _trees, problems = parsed({"chat": {locale: Variant(body) for locale, body in texts.items()}})
    return problems


class NewCanned(msgspec.Struct, frozen=True):
    shortcut: str
    title: str
    texts: dict[str, str]
    shared: bool
    by: Principal
    origin: Origin


class CannedEdit(msgspec.Struct, frozen=True):
    id: int
    by: Principal
    origin: Origin
    shortcut: str | None = None
    title: str | None = None
    texts: dict[str, str] | None = None
    delete: bool = False


def _check_free(tx: Tx, shortcut: str, owner_id: int | None, but: int | None = None) -> None:
    q = select(CannedReply.id).where(
        CannedReply.shortcut == shortcut,
        CannedReply.owner_id.is_(None) if owner_id is None else CannedReply.owner_id == owner_id,
    )
    if but is not None:
        q = q.where(CannedReply.id != but)
    if tx.session.execute(q).first():
        raise Refused(409, TAKEN_SHARED if owner_id is None else TAKEN, shortcut=shortcut)


def _audit(tx: Tx, action: AuditAction, item: NewCanned | CannedEdit, detail: dict[str, Any]) -> None:
    add_audit(tx, AuditRecord(action, item.by.id, item.origin, detail=detail))


def create_one(tx: Tx, item: NewCanned) -> CannedOut:
    if item.shared and item.by.role.rank < Role.SUPERVISOR.rank:
        raise Refused(403, NEEDS_ROLE[Role.SUPERVISOR])
    problems = problems_of(item.texts)
    if problems:
        raise Refused(400, NOT_VALID, problems=problems)
    owner = None if item.shared else item.by.id
    _check_free(tx, item.shortcut, owner)
    now = utcnow()
    row = CannedReply(
        owner_id=owner,
        shortcut=item.shortcut,
        title=item.title,
        texts=dict(item.texts),
        created_by=item.by.id,
        created_at=now,
        updated_by=item.by.id,
        updated_at=now,
    )
    tx.session.add(row)
    tx.session.flush()
    _audit(tx, AuditAction.CANNED_CREATE, item, {"id": row.id, "shortcut": row.shortcut, "shared": item.shared})
    return out(row, item.by)


create_canned = one_by_one(create_one)


def _editable(tx: Tx, item: CannedEdit) -> CannedReply:
    """Someone else's personal reply does not exist for the requester; a shared one needs a supervisor."""
    row = tx.session.execute(
        select(CannedReply).where(CannedReply.id == item.id).with_for_update()
    ).scalar_one_or_none()
    if row is None or (row.owner_id is not None and row.owner_id != item.by.id):
        raise Refused(404, NOT_FOUND, id=item.id)
    if row.owner_id is None and item.by.role.rank < Role.SUPERVISOR.rank:
        raise Refused(403, NEEDS_ROLE[Role.SUPERVISOR])
    return row


def edit_one(tx: Tx, item: CannedEdit) -> CannedOut:
    row = _editable(tx, item)
    if item.delete:
        tx.session.delete(row)
        tx.session.flush()
        _audit(tx, AuditAction.CANNED_DELETE, item, {"id": item.id, "shortcut": row.shortcut})
        return out(row, item.by)
    if item.texts is not None:
        problems = problems_of(item.texts)
        if problems:
            raise Refused(400, NOT_VALID, problems=problems)
        row.texts = dict(item.texts)
    if item.shortcut is not None and item.shortcut != row.shortcut:
        _check_free(tx, item.shortcut, row.owner_id, but=row.id)
        row.shortcut = item.shortcut
    if item.title is not None:
        row.title = item.title
    row.updated_by, row.updated_at = item.by.id, utcnow()
    tx.session.flush()
    changed = [f for f in ("shortcut", "title", "texts") if getattr(item, f) is not None]
    _audit(tx, AuditAction.CANNED_UPDATE, item, {"id": row.id, "shortcut": row.shortcut, "changed": changed})
    return out(row, item.by)


edit_canned = one_by_one(edit_one)

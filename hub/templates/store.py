"""Templates in the database, changed only inside the writer's transactions.

A template has at most one draft and at most one published version. Supervisors and admins
propose (create, edit the draft, restore an old version into the draft, discard it); only
admins publish, which retires the version before. A version that left draft is never edited:
the history says who wrote and who published each, and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select

from hub.agents.roles import Principal
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Template, TemplateVersion
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.i18n import _
from hub.refusals import Refused, one_by_one
from hub.templates.content import Content, blocking, validate

NOT_FOUND = _("There is no template {key}.")
STALE_DRAFT = _("Someone changed this draft since you opened it. Reload it to see their changes.")
NOT_VALID = _("The template cannot be saved as it is: fix what is marked.")


async def published_content(s: Any, key: str) -> Content:
    """The published version of template `key` (an async session reads it), else a 404."""
    content = (
        await s.execute(
            select(TemplateVersion.content)
            .join(Template, Template.id == TemplateVersion.template_id)
            .where(Template.key == key, TemplateVersion.state == "published")
        )
    ).scalar_one_or_none()
    if content is None:
        raise Refused(404, _("There is no published template {key}."), key=key)
    return msgspec.convert(content, Content)


def _encode(content: Content) -> dict[str, Any]:
    return msgspec.to_builtins(content)


def _template(tx: Tx, key: str) -> Template:
    found = tx.session.execute(select(Template).where(Template.key == key).with_for_update()).scalar_one_or_none()
    if found is None:
        raise Refused(404, NOT_FOUND, key=key)
    return found


def _version(tx: Tx, template_id: int, state: str) -> TemplateVersion | None:
    return tx.session.execute(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template_id, TemplateVersion.state == state)
        .with_for_update()
    ).scalar_one_or_none()


def _next_number(tx: Tx, template_id: int) -> int:
    latest = tx.session.execute(
        select(func.max(TemplateVersion.number)).where(TemplateVersion.template_id == template_id)
    ).scalar_one()
    return (latest or 0) + 1


def _audit(tx: Tx, action: AuditAction, by: Principal | None, origin: Origin, detail: dict[str, Any]) -> None:
    add_audit(tx, AuditRecord(action, by.id if by else None, origin, detail=detail))


class NewTemplate(msgspec.Struct, frozen=True):
    key: str
    purpose: str
    content: Content
    by: Principal | None  # None: the starter set, seeded by the hub itself
    origin: Origin
    languages: tuple[str, ...]
    publish: bool = False  # the starter set is published at once


class Saved(msgspec.Struct):
    key: str
    number: int
    state: str
    updated_at: datetime


def create_one(tx: Tx, item: NewTemplate) -> Saved:
    if tx.session.execute(select(Template.id).where(Template.key == item.key)).first():
        raise Refused(409, _("A template {key} exists already."), key=item.key)
    problems = blocking(validate(item.content, item.languages), "publish" if item.publish else "save")
    if problems:
        raise Refused(400, NOT_VALID, problems=problems)
    now = utcnow()
    by = item.by.id if item.by else None
    template = Template(key=item.key, purpose=item.purpose, created_by=by, created_at=now)
    tx.session.add(template)
    tx.session.flush()
    version = TemplateVersion(
        template_id=template.id,
        number=1,
        state="published" if item.publish else "draft",
        content=_encode(item.content),
        created_by=by,
        created_at=now,
        updated_by=by,
        updated_at=now,
        published_by=by if item.publish else None,
        published_at=now if item.publish else None,
    )
    tx.session.add(version)
    tx.session.flush()
    _audit(tx, AuditAction.TEMPLATE_CREATE, item.by, item.origin, {"key": item.key, "number": 1})
    return Saved(item.key, 1, version.state, now)


create_templates = one_by_one(create_one)


class DraftEdit(msgspec.Struct, frozen=True):
    key: str
    content: Content
    note: str | None
    purpose: str | None
    by: Principal
    origin: Origin
    languages: tuple[str, ...]
    # The draft as the editor opened it; None: there was no draft. A mismatch is someone else's edit.
    seen_updated_at: datetime | None
    based_on: int | None = None  # set by a restore


def save_draft_one(tx: Tx, item: DraftEdit) -> Saved:
    template = _template(tx, item.key)
    problems = blocking(validate(item.content, item.languages), "save")
    if problems:
        raise Refused(400, NOT_VALID, problems=problems)
    draft = _version(tx, template.id, "draft")
    seen = draft.updated_at if draft else None
    if seen != item.seen_updated_at:
        raise Refused(409, STALE_DRAFT)
    now = utcnow()
    if draft is None:
        draft = TemplateVersion(
            template_id=template.id,
            number=_next_number(tx, template.id),
            state="draft",
            created_by=item.by.id,
            created_at=now,
        )
        tx.session.add(draft)
    draft.content, draft.note, draft.updated_by, draft.updated_at = _encode(item.content), item.note, item.by.id, now
    if item.based_on is not None:
        draft.based_on = item.based_on
    if item.purpose:
        template.purpose = item.purpose
    tx.session.flush()
    action = AuditAction.TEMPLATE_RESTORE if item.based_on is not None else AuditAction.TEMPLATE_DRAFT
    _audit(tx, action, item.by, item.origin, {"key": item.key, "number": draft.number, "based_on": item.based_on})
    return Saved(item.key, draft.number, "draft", now)


save_drafts = one_by_one(save_draft_one)


class Publish(msgspec.Struct, frozen=True):
    key: str
    by: Principal
    origin: Origin
    languages: tuple[str, ...]
    seen_updated_at: datetime  # the draft the admin reviewed: nothing newer gets published unseen


def publish_one(tx: Tx, item: Publish) -> Saved:
    template = _template(tx, item.key)
    draft = _version(tx, template.id, "draft")
    if draft is None:
        raise Refused(409, _("There is no draft of {key} to publish."), key=item.key)
    if draft.updated_at != item.seen_updated_at:
        raise Refused(409, STALE_DRAFT)
    problems = validate(msgspec.convert(draft.content, Content), item.languages)
    if problems:
        raise Refused(400, _("The draft cannot be published yet: fix what is marked."), problems=problems)
    now = utcnow()
    current = _version(tx, template.id, "published")
    if current is not None:
        current.state = "retired"
    draft.state, draft.published_by, draft.published_at = "published", item.by.id, now
    tx.session.flush()
    _audit(tx, AuditAction.TEMPLATE_PUBLISH, item.by, item.origin, {"key": item.key, "number": draft.number})
    return Saved(item.key, draft.number, "published", now)


publish_drafts = one_by_one(publish_one)


class Discard(msgspec.Struct, frozen=True):
    key: str
    by: Principal
    origin: Origin


def discard_one(tx: Tx, item: Discard) -> Saved:
    template = _template(tx, item.key)
    draft = _version(tx, template.id, "draft")
    if draft is None:
        raise Refused(404, _("There is no draft of {key}."), key=item.key)
    draft.state, draft.updated_by, draft.updated_at = "discarded", item.by.id, utcnow()
    _audit(tx, AuditAction.TEMPLATE_DISCARD, item.by, item.origin, {"key": item.key, "number": draft.number})
    return Saved(item.key, draft.number, "discarded", draft.updated_at)


discard_drafts = one_by_one(discard_one)

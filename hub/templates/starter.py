"""The starter set (starter.toml): templates every clinic begins with, in English and Spanish,
published by the hub on first start and never overwritten after (admins edit them from there)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
from sqlalchemy import select

from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Template, TemplateVersion
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.refusals import Refused
from hub.templates.content import Content, validate
from hub.templates.store import NewTemplate, create_one

STARTER_FILE = Path(__file__).with_name("starter.toml")


PURPOSES = ("purpose", "purpose_es")  # what a template is for, in English and in Spanish

# Templates the hub itself says (the assistant's, and what a waiting patient is told): never
# offered to agents in the composer's picker.
SAID_BY_THE_HUB = frozenset(
    {"after_hours", "queue_position", "queue_wait", "nobody_available", "nobody_available_no_time", "csat_ask"}
)


def internal(key: str) -> bool:
    return key.startswith("bot_") or key in SAID_BY_THE_HUB


def _read() -> dict[str, dict]:
    return tomllib.loads(STARTER_FILE.read_text(encoding="utf-8"))


def starter() -> list[tuple[str, str, Content]]:
    """The starter set as (key, purpose, content), from starter.toml."""
    return [
        (key, entry["purpose"], msgspec.convert({k: v for k, v in entry.items() if k not in PURPOSES}, Content))
        for key, entry in _read().items()
    ]


# key -> (its English purpose as the starter set wrote it, language -> that purpose in the language)
STARTER_PURPOSES: dict[str, tuple[str, dict[str, str]]] = {
    key: (entry["purpose"], {"en": entry["purpose"], "es": entry.get("purpose_es", entry["purpose"])})
    for key, entry in _read().items()
}


def purpose_in(key: str, purpose: str, language: str) -> str:
    """A template's purpose in the reader's language: the starter set's translation while the
    purpose is still the starter set's; as written otherwise (a clinic's own words)."""
    known = STARTER_PURPOSES.get(key)
    if known is None or known[0] != purpose:
        return purpose
    return known[1].get(language.split("-")[0], purpose)


SYSTEM = Origin(None, "puente starter templates")


# The assistant's messages that offer the menu's numbers: an older release's text, still as the hub
# published it (nobody edited it), is replaced by the one that shows the menu ({menu}).
SHOWS_MENU = ("bot_welcome", "bot_not_understood", "bot_anything_else")


def ensure_starter(tx: Tx, items: list[tuple[str, ...]]) -> list[int]:
    """Publish the starter templates a clinic does not have yet; never touch ones anyone edited."""
    out = []
    for languages in items:
        have = set(tx.session.execute(select(Template.key)).scalars())
        added = 0
        for key, purpose, content in starter():
            if key in have:
                added += _show_menu(tx, key, content, languages)
                continue
            item = NewTemplate(key, purpose, content, None, SYSTEM, languages, publish=True)
            try:
                create_one(tx, item)
                added += 1
            except Refused:  # only if the clinic speaks a language the starter set lacks
                continue
        out.append(added)
    return out


def _show_menu(tx: Tx, key: str, content: Content, languages: tuple[str, ...]) -> int:
    """1 when an untouched older text of `key` (one of SHOWS_MENU) that offers numbers without the
    menu was replaced by the starter set's, published as its next version (audited); else 0."""
    if key not in SHOWS_MENU:
        return 0
    versions = (
        tx.session.execute(
            select(TemplateVersion)
            .join(Template, Template.id == TemplateVersion.template_id)
            .where(Template.key == key)
        )
        .scalars()
        .all()
    )
    if len(versions) != 1:
        return 0  # edited, drafted or republished by someone: theirs
    old = versions[0]
    if old.state != "published" or old.created_by is not None or old.published_by is not None:
        return 0
    if "{menu}" in str(old.content) or validate(content, languages):
        return 0
    now = utcnow()
    old.state = "retired"
    tx.session.add(
        TemplateVersion(
            template_id=old.template_id,
            number=2,
            state="published",
            content=msgspec.to_builtins(content),
            note="the menu with every message that offers its numbers",
            created_at=now,
            updated_at=now,
            published_at=now,
        )
    )
    tx.session.flush()
    add_audit(tx, AuditRecord(AuditAction.TEMPLATE_PUBLISH, None, SYSTEM, detail={"key": key, "number": 2}))
    return 1

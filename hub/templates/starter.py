"""The starter set (starter.toml): templates every clinic begins with, in English and Spanish,
published by the hub on first start and never overwritten after (admins edit them from there)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
from sqlalchemy import select

from hub.audit.record import Origin
from hub.db.models import Template
from hub.db.writer import Tx
from hub.refusals import Refused
from hub.templates.content import Content
from hub.templates.store import NewTemplate, create_one

STARTER_FILE = Path(__file__).with_name("starter.toml")


def starter() -> list[tuple[str, str, Content]]:
    """The starter set as (key, purpose, content), from starter.toml."""
    data = tomllib.loads(STARTER_FILE.read_text(encoding="utf-8"))
    return [
        (key, entry["purpose"], msgspec.convert({k: v for k, v in entry.items() if k != "purpose"}, Content))
        for key, entry in data.items()
    ]


SYSTEM = Origin(None, "puente starter templates")


def ensure_starter(tx: Tx, items: list[tuple[str, ...]]) -> list[int]:
    """Publish the starter templates a clinic does not have yet; never touch existing ones."""
    out = []
    for languages in items:
        have = set(tx.session.execute(select(Template.key)).scalars())
        added = 0
        for key, purpose, content in starter():
            if key in have:
                continue
            item = NewTemplate(key, purpose, content, None, SYSTEM, languages, publish=True)
            try:
                create_one(tx, item)
                added += 1
            except Refused:  # only if the clinic speaks a language the starter set lacks
                continue
        out.append(added)
    return out

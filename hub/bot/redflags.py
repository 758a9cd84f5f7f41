"""The red-flag list in force: phrases that signal an emergency, reviewed and edited by admins.

The hub seeds the table from locales/red-flags.toml: all of it the first time it starts, and at
every later start the phrases the list has gained that the table has never had (a new version's
additions reach installs made before them). A phrase the table has, active or not, is never touched,
so admins' edits are never overwritten. Admins add phrases and deactivate
them; a deactivated phrase keeps its row, so the record shows what was in force and when, and the
audit trail says who changed what. Supervisors read the list.

The bot reads the active phrases with active_phrases(session), cached for CACHE_TTL_S seconds;
this process forgets the cache as soon as a change is committed, other hub processes sharing the
database see it within CACHE_TTL_S.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.agents.roles import Principal
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bot.understand import (
    MAX_PHRASE_WORDS,
    RED_FLAG_CATEGORIES,
    SEED_RED_FLAGS,
    RedFlagList,
    RedFlagPhrase,
    phrase_size,
    phrase_words,
)
from hub.bounds import text
from hub.db.models import Agent, AuditEntry, RedFlag
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.i18n import SUPPORTED, _
from hub.refusals import Refused, one_by_one

CACHE_TTL_S = 2.5  # with the worker's own 2.5 s: an edit elsewhere applies within 5 s
MAX_PHRASE_CHARS = 200  # the column's size
SYSTEM = Origin(None, "puente red-flag list")

NOT_FOUND = _("There is no red-flag phrase {id}.")


# --- reading ------------------------------------------------------------------------------------

_cache: dict[str, tuple[float, RedFlagList]] = {}


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def active_phrases(session: Session) -> RedFlagList:
    """The active red-flag phrases, for hub.bot.understand.red_flags. A sync function: call it in
    a writer batch (tx.session) or through `await session.run_sync(active_phrases)`. The same list
    object comes back while nothing changed, with its matcher compiled once."""
    key = _database(session)
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_TTL_S:
        return cached[1]
    rows = session.execute(
        select(RedFlag.id, RedFlag.language, RedFlag.phrase, RedFlag.category)
        .where(RedFlag.active.is_(True))
        .order_by(RedFlag.id)
    ).all()
    fresh = RedFlagList(RedFlagPhrase(r.language, r.phrase, r.category, r.id) for r in rows)
    phrases = cached[1] if cached is not None and cached[1] == fresh else fresh
    _cache[key] = (now, phrases)
    return phrases


def forget_active_phrases() -> None:
    """After a change is committed: the next read goes to the database."""
    _cache.clear()


# --- changing -----------------------------------------------------------------------------------


def ensure_red_flags(tx: Tx, items: list[Any]) -> list[int]:
    """A writer batch function, run at each start: add the phrases of locales/red-flags.toml that
    the table has never had (all of them on the first start). A phrase counts as had when a row has
    the same words in the same language, whatever its state: a deactivation stands. Returns how
    many phrases were added."""
    out = []
    for _item in items:
        had = {
            (language, phrase_words(phrase))
            for language, phrase in tx.session.execute(select(RedFlag.language, RedFlag.phrase))
        }
        first = not had
        now = utcnow()
        rows = [
            {
                "language": p.language,
                "phrase": p.phrase,
                "category": p.category,
                "active": True,
                "created_by": None,
                "created_at": now,
            }
            for p in SEED_RED_FLAGS
            if (p.language, phrase_words(p.phrase)) not in had
        ]
        if rows:
            # Two hubs starting at once on one database may both add a phrase: the second is a no-op.
            dialect = postgresql if tx.session.get_bind().dialect.name == "postgresql" else sqlite
            added = tx.session.execute(
                dialect.insert(RedFlag).on_conflict_do_nothing().returning(RedFlag.language, RedFlag.phrase), rows
            ).all()
            if added:  # what this transaction added, not what another hub did
                detail: dict[str, Any] = {"count": len(added), "from": "locales/red-flags.toml"}
                if not first:  # what a new version added, for the admins' review
                    detail["added"] = [f"{language}: {phrase}" for language, phrase in added][:200]
                add_audit(tx, AuditRecord(AuditAction.RED_FLAG_SEED, None, SYSTEM, detail=detail))
            out.append(len(added))
        else:
            out.append(0)
        _retire_dropped(tx)
    return out


def _retire_dropped(tx: Tx) -> None:
    """A phrase the file once seeded and a newer file dropped (replaced by a wider phrase, or
    removed for its false alarms) is deactivated, audited with its words for the admins' review.
    Phrases an admin added stay as they are."""
    in_file = {(p.language, phrase_words(p.phrase)) for p in SEED_RED_FLAGS}
    dropped = [
        row
        for row in tx.session.execute(
            select(RedFlag).where(RedFlag.created_by.is_(None), RedFlag.active.is_(True)).with_for_update()
        ).scalars()
        if (row.language, phrase_words(row.phrase)) not in in_file
    ]
    if not dropped:
        return
    for row in dropped:
        row.active = False
    detail = {"count": len(dropped), "retired": [f"{r.language}: {r.phrase}" for r in dropped][:200]}
    add_audit(tx, AuditRecord(AuditAction.RED_FLAG_RETIRE, None, SYSTEM, detail=detail))


class NewPhrase(msgspec.Struct, frozen=True):
    language: str
    phrase: str  # tidied: trimmed, spaces collapsed
    category: str
    by: Principal
    origin: Origin


class Deactivation(msgspec.Struct, frozen=True):
    id: int
    by: Principal
    origin: Origin


def tidy(phrase: str) -> str:
    return re.sub(r"\s+", " ", phrase).strip()


def check_new(language: str, phrase: str, category: str) -> None:
    """Refuse, in words an admin understands, a phrase the list cannot take. Nothing is read."""
    if language not in SUPPORTED:
        raise Refused(400, _("The language must be one of: {languages}."), languages=", ".join(SUPPORTED))
    if category not in RED_FLAG_CATEGORIES:
        raise Refused(
            400,
            _("There is no category {category}. Pick one of: {categories}."),
            category=category[:40],
            categories=", ".join(RED_FLAG_CATEGORIES),
        )
    if not phrase:
        raise Refused(400, _("Write the words to look for."))
    if len(phrase) > MAX_PHRASE_CHARS:
        raise Refused(400, _("A phrase is at most {max} characters."), max=MAX_PHRASE_CHARS)
    words = phrase_words(phrase)
    if not words or sum(len(w) for w in words) < 3:
        raise Refused(
            400,
            _("“{phrase}” has no word to look for: little words such as “the”, “my” or “de” are left out."),
            phrase=phrase,
        )
    if phrase_size(phrase) > MAX_PHRASE_WORDS:
        raise Refused(
            400,
            _("A phrase is at most {max} words: short phrases catch more ways of saying the same thing."),
            max=MAX_PHRASE_WORDS,
        )


def _out(row: RedFlag, names: dict[int, str], deactivated: dict[int, tuple[str | None, datetime]]) -> RedFlagOut:
    by, at = deactivated.get(row.id, (None, None)) if not row.active else (None, None)
    return RedFlagOut(
        row.id,
        row.language,
        row.phrase,
        row.category,
        row.active,
        names.get(row.created_by) if row.created_by else None,
        row.created_at,
        by,
        at,
    )


def _detail(row: RedFlag, **more: Any) -> dict[str, Any]:
    return {"id": row.id, "language": row.language, "phrase": row.phrase, "category": row.category, **more}


def add_one(tx: Tx, item: NewPhrase) -> RedFlagOut:
    """Add a phrase, or bring a deactivated one with the same text back. Refused (409) when an
    active phrase of that language has the same words: the matcher would not tell them apart."""
    s = tx.session
    words = phrase_words(item.phrase)
    same = [
        row
        for row in s.execute(select(RedFlag).where(RedFlag.language == item.language)).scalars()
        if row.active and phrase_words(row.phrase) == words
    ]
    if same:
        raise Refused(409, _("The list already has this phrase: “{phrase}”."), phrase=same[0].phrase)
    row = s.execute(
        select(RedFlag).where(RedFlag.language == item.language, RedFlag.phrase == item.phrase).with_for_update()
    ).scalar_one_or_none()
    if row is not None:  # deactivated before: back in force, in the category chosen now
        previous = row.category
        row.active, row.category = True, item.category
        s.flush()
        detail = _detail(row, reactivated=True, **({"previous_category": previous} if previous != row.category else {}))
    else:
        row = RedFlag(
            language=item.language,
            phrase=item.phrase,
            category=item.category,
            active=True,
            created_by=item.by.id,
            created_at=utcnow(),
        )
        s.add(row)
        s.flush()
        detail = _detail(row)
    add_audit(tx, AuditRecord(AuditAction.RED_FLAG_ADD, item.by.id, item.origin, detail=detail))
    names = _names(s, {row.created_by})
    return _out(row, names, {})


def deactivate_one(tx: Tx, item: Deactivation) -> RedFlagOut:
    """Deactivate a phrase: the bot stops looking for it; the row stays for the record. Doing it
    again changes nothing."""
    s = tx.session
    row = s.execute(select(RedFlag).where(RedFlag.id == item.id).with_for_update()).scalar_one_or_none()
    if row is None:
        raise Refused(404, NOT_FOUND, id=item.id)
    names = _names(s, {row.created_by, item.by.id})
    if not row.active:
        return _out(row, names, _deactivations(s, names))
    row.active = False
    s.flush()
    add_audit(tx, AuditRecord(AuditAction.RED_FLAG_DEACTIVATE, item.by.id, item.origin, detail=_detail(row)))
    return _out(row, names, {row.id: (names.get(item.by.id), utcnow())})


add_phrases = one_by_one(add_one)
deactivate_phrases = one_by_one(deactivate_one)


def _names(s: Session, ids: set[int | None]) -> dict[int, str]:
    ids.discard(None)
    if not ids:
        return {}
    return dict(s.execute(select(Agent.id, Agent.display_name).where(Agent.id.in_(ids))).all())


def _deactivations(s: Session, names: dict[int, str]) -> dict[int, tuple[str | None, datetime]]:
    """Who deactivated each phrase, and when: the latest such audit row of each."""
    rows = s.execute(
        select(AuditEntry.agent_id, AuditEntry.at, AuditEntry.detail)
        .where(AuditEntry.action == AuditAction.RED_FLAG_DEACTIVATE)
        .order_by(AuditEntry.id)
    ).all()
    missing = {r.agent_id for r in rows if r.agent_id is not None and r.agent_id not in names}
    names.update(_names(s, set(missing)))
    out: dict[int, tuple[str | None, datetime]] = {}
    for r in rows:
        flag = (r.detail or {}).get("id")
        if isinstance(flag, int):
            out[flag] = (names.get(r.agent_id) if r.agent_id else None, r.at)
    return out


# --- routes -------------------------------------------------------------------------------------


class RedFlagOut(msgspec.Struct):
    id: int
    language: str
    phrase: str
    category: str
    active: bool
    created_by: str | None  # None: the starting list
    created_at: datetime
    deactivated_by: str | None = None
    deactivated_at: datetime | None = None


class CategoryOut(msgspec.Struct):
    key: str
    label: str  # in the requester's language
    call: list[str]  # what the safety answer tells the patient to call


class RedFlagsOut(msgspec.Struct):
    categories: list[CategoryOut]
    languages: list[str]  # a phrase's language is one of these
    max_chars: int
    phrases: list[RedFlagOut]  # by category, language, phrase; deactivated ones included


class NewRedFlagBody(msgspec.Struct, forbid_unknown_fields=True):
    # Generous bounds here; check_new says what is wrong in the admin's language.
    language: text(16)  # type: ignore[valid-type]
    phrase: text(1000)  # type: ignore[valid-type]
    category: text(64)  # type: ignore[valid-type]


def read_all(s: Session) -> list[RedFlagOut]:
    rows = s.execute(select(RedFlag).order_by(RedFlag.category, RedFlag.language, RedFlag.phrase)).scalars().all()
    names = _names(s, {r.created_by for r in rows})
    deactivated = _deactivations(s, names) if any(not r.active for r in rows) else {}
    return [_out(r, names, deactivated) for r in rows]

"""The full-text index search reads, on each storage, and filling it for events stored before it.

SQLite: `search_fts`, a contentless FTS5 table (unicode61, diacritics removed) whose rowid is the
event's seq and whose one column is the event's folded text (its text when not yet folded). Triggers
written by migration 0016 keep it in step with timeline_events inside the same transaction as the
event, for the kinds search shows. Events stored before the migration are indexed in the background
after a start, newest first, a batch per writer transaction: the counters row `search_fts_below`
says which seqs (at or below it) are not in the index yet, and the triggers leave those alone.
Until it reaches 0, search also reads those events the old way (LIKE), so nothing goes missing.

PostgreSQL: a GIN index over to_tsvector('simple', ...) of the same text with ASCII punctuation
blanked, so that PostgreSQL's parser cuts words as hub/search/words.py does. The index is built
CONCURRENTLY after a start, by one process (an advisory lock), without stopping writes; the query is
the same with or without it (only slower without).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import bindparam, column, func, literal_column, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db.models import Counter
from hub.db.writer import Tx, Writer
from hub.events import EventKind

log = logging.getLogger(__name__)

SEARCHED = (EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT, EventKind.NOTE, EventKind.TRANSCRIPT)
PENDING = "search_fts_below"  # counters row: events at or below this seq are not in search_fts yet
BATCH = 2000

fts = table("search_fts", column("rowid"), column("search_fts"), column("body"))

# PostgreSQL: ASCII punctuation blanked, so its parser sees runs of letters and digits only (all but
# '%', which its parser never keeps in a word, and which SQL drivers would take for a placeholder).
_PUNCT = "!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~"
_PUNCT_SQL = _PUNCT.replace("'", "''")
PG_DOCUMENT = (
    "to_tsvector('simple'::regconfig, translate(coalesce(timeline_events.search_text, timeline_events.text), "
    f"'{_PUNCT_SQL}', '{' ' * len(_PUNCT)}'))"
)
PG_INDEX = "ix_timeline_events_search"
_KINDS_SQL = ", ".join(f"'{k.value}'" for k in SEARCHED)
_PG_CREATE = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {PG_INDEX} ON timeline_events USING gin ({PG_DOCUMENT}) "
    f"WHERE kind IN ({_KINDS_SQL})"
)
_PG_LOCK = 0x5055454E  # 'PUEN': one process builds the index


def pg_matches(tsquery: str) -> Any:
    """The condition the PostgreSQL index serves (the same expression and kinds as the index). The
    query goes in as a literal: a prepared statement's generic plan cannot tell a rare word, best
    read from the index, from a common one, best found walking seq backwards."""
    words = bindparam("tsq", tsquery, literal_execute=True)
    return literal_column(PG_DOCUMENT).op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), words))


def fts_matches(query: str) -> Any:
    return literal_column("search_fts").op("MATCH")(bindparam("fts_query", query))


# --- SQLite: the events stored before the index ----------------------------------------------------


def fill_fts(tx: Tx, items: list[int]) -> list[int]:
    """A writer batch function: index up to `limit` seqs below the pending mark, newest first, and
    lower the mark past them; how many seqs remain below it."""
    out = []
    for limit in items:
        below = tx.session.execute(select(Counter.value).where(Counter.name == PENDING)).scalar()
        if not below:
            out.append(0)
            continue
        floor = max(below - limit, 0)
        tx.session.execute(
            text(
                "INSERT INTO search_fts(rowid, body) SELECT seq, coalesce(search_text, text) FROM timeline_events "
                f"WHERE seq > :floor AND seq <= :below AND kind IN ({_KINDS_SQL}) "
                "AND coalesce(search_text, text) IS NOT NULL"
            ),
            {"floor": floor, "below": below},
        )
        tx.session.execute(update(Counter).where(Counter.name == PENDING).values(value=floor))
        out.append(floor)
    return out


async def pending_below(s: Any) -> int:
    """Seqs at or below this are not in the SQLite index yet (0: all are)."""
    return (await s.execute(select(Counter.value).where(Counter.name == PENDING))).scalar() or 0


async def backfill_index(writer: Writer, engine: AsyncEngine) -> None:
    """After a start: SQLite fills search_fts with what was stored before it; PostgreSQL builds its
    index. Stopped by the hub's stop, carried on at the next start."""
    try:
        if engine.dialect.name == "sqlite":
            while await writer.submit(fill_fts, BATCH):
                await asyncio.sleep(0.005)  # everything else the writer has waits one batch at most
        else:
            await _build_pg_index(engine)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the next start carries on; search reads without the index meanwhile
        log.error("search index backfill stopped: %s", type(exc).__name__)


async def _build_pg_index(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if not (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK})).scalar():
            return  # another hub process is building it
        try:
            valid = (
                await conn.execute(
                    text(
                        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "WHERE c.relname = :n"
                    ),
                    {"n": PG_INDEX},
                )
            ).scalar()
            if valid:
                return
            if valid is False:  # a build that was interrupted leaves an invalid index behind
                await conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {PG_INDEX}"))
            log.info("building the search index")
            await conn.execute(text(_PG_CREATE))
            log.info("search index built")
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK})

"""Events stored without their folded search text (before migration 0010, or by an older hub
process still running beside a newer one) get it in the background after a start, a batch per
writer transaction, so an upgrade never holds the events table while it folds millions of rows.
Until then search matches them on their text (hub/search/controllers.py)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import bindparam, select, update

from hub.db.models import TimelineEvent
from hub.db.writer import Tx, Writer
from hub.search.fold import fold

log = logging.getLogger(__name__)

BATCH = 1000


def fill_search_text(tx: Tx, items: list[int]) -> list[int]:
    """A writer batch function: fold the text of up to `limit` events that lack it; how many."""
    out = []
    for limit in items:
        rows = tx.session.execute(
            select(TimelineEvent.seq, TimelineEvent.text)
            .where(TimelineEvent.search_text.is_(None), TimelineEvent.text.is_not(None))
            .order_by(TimelineEvent.seq)
            .limit(limit)
        ).all()
        if rows:
            events = TimelineEvent.__table__
            tx.session.execute(
                update(events).where(events.c.seq == bindparam("key")).values(search_text=bindparam("folded")),
                [{"key": seq, "folded": fold(text)} for seq, text in rows],
            )
        out.append(len(rows))
    return out


async def backfill_search_text(writer: Writer) -> None:
    """Until no event lacks it; one batch at a time, so the writer serves everything else between."""
    total = 0
    try:
        while n := await writer.submit(fill_search_text, BATCH):
            total += n
            await asyncio.sleep(0.01)
    except Exception as exc:  # the next start carries on; search falls back on the text meanwhile
        log.error("search text backfill stopped: %s", type(exc).__name__)
    if total:
        log.info("search text folded for %d stored event(s)", total)

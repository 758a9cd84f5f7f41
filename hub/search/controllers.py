"""GET /api/search?q=: timeline events with every word of the query (any case, accents or none; the
last word also as the start of a word), newest first: patients' and staff's messages, notes, and
the transcripts of voice notes, each with a snippet whose matched words are marked; and on the
first page, the patients the directory finds for the same words (hub/patients/directory.py, its
rules on what each role sees). Only events of conversations the staff member may see, as timeline
reads; every search is audited with the patients it showed.

The words are looked up in the database's full-text index (hub/search/index.py): SQLite's FTS5
table, walked newest first and stopped at the page; PostgreSQL's GIN index over to_tsvector.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import QueryParameter
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import SeqQuery
from hub.db.models import Agent, Conversation, Patient, TimelineEvent
from hub.deps import HubDep
from hub.events import TimelineEventOut
from hub.i18n import _
from hub.patients.directory import BadQuery, DirectoryEntry, read_query, search_directory
from hub.refusals import Refused
from hub.search.index import SEARCHED, fts, fts_matches, pending_below, pg_matches
from hub.search.words import Query, Segment, located, marks, parse, snippet
from hub.timeline.reads import _patient_label, visible
from hub.timeline.views import SHOWN_COLUMNS, event_out

PATIENTS = 10  # patients listed with the first page of a search


class Hit(msgspec.Struct):
    event: TimelineEventOut
    patient_name: str
    snippet: list[Segment]  # the text (around its first match when long), matched words marked


class PatientHit(msgspec.Struct):
    patient: DirectoryEntry
    name: list[Segment]  # the name, the words the query starts marked


class SearchResults(msgspec.Struct):
    query: str
    hits: list[Hit]
    has_more: bool  # ask again with before=<the last hit's seq>
    patients: list[PatientHit]  # the first page only
    more_patients: bool  # the directory (GET /api/patients?q=) has more


EVENTS = TimelineEvent.__table__  # plain rows, not ORM objects, as timeline reads take them


def _events(principal: Principal) -> Select[Any]:
    name, address = _patient_label()
    author = Agent.__table__.alias("author")
    return (
        select(
            *SHOWN_COLUMNS,
            author.c.display_name.label("author_name"),
            name.label("patient_name"),
            address.label("patient_address"),
        )
        .join(Conversation, Conversation.id == EVENTS.c.conversation_id)
        .outerjoin(author, (author.c.id == EVENTS.c.author_id) & (EVENTS.c.author_type == "agent"))
        .join(Patient, Patient.id == EVENTS.c.patient_id)
        .where(EVENTS.c.kind.in_(SEARCHED), visible(principal))
    )


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has(word: str) -> ColumnElement[bool]:
    """LIKE, for the events SQLite's index has not reached yet (their text when not yet folded)."""
    return or_(
        EVENTS.c.search_text.like(_like(word), escape="\\"),
        and_(EVENTS.c.search_text.is_(None), EVENTS.c.text.ilike(_like(word), escape="\\")),
    )


WINDOWS = (20_000, 160_000, None)  # PostgreSQL: the newest events searched first, then older ones, then all
PG_BITMAPS_ONLY = ("SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off")
PG_RESET = ("SET LOCAL enable_seqscan = on", "SET LOCAL enable_indexscan = on")


def matching(
    principal: Principal, query: Query, dialect: str, before: int | None, limit: int, after: int | None = None
) -> Select[Any]:
    """The index's matches the principal may see, newest first, below `before` (and on PostgreSQL
    above `after`). On SQLite the FTS table drives (walked newest first, stopped once the page is
    full). On PostgreSQL the GIN index's matches within a window of seqs, both as bitmaps (_find)."""
    q = _events(principal)
    if dialect != "sqlite":
        q = q.where(pg_matches(query.tsquery))
        if before is not None:
            q = q.where(EVENTS.c.seq < before)
        if after is not None:
            q = q.where(EVENTS.c.seq > after)
        return q.order_by(EVENTS.c.seq.desc()).limit(limit)
    q = q.join(fts, fts.c.rowid == EVENTS.c.seq).where(fts_matches(query.fts5))
    if before is not None:
        q = q.where(fts.c.rowid < before)
    return q.order_by(fts.c.rowid.desc()).limit(limit)


async def _find_pg(s: AsyncSession, principal: Principal, query: Query, before: int | None, limit: int) -> list[Any]:
    """Windows of seqs, newest first, until the page is full: the GIN index's matches AND the
    window's seqs as bitmaps, so a common word is found in the first window without reading all its
    matches; what is left after the windows has few matches (or the page would be full), read
    straight from the index. Plain index scans are off meanwhile: the planner, misjudging how rare
    a word is (a prefix above all), would walk seq backwards computing each event's words, seconds
    at a million events for a word never found."""
    top = before if before is not None else ((await s.execute(select(func.max(EVENTS.c.seq)))).scalar() or 0) + 1
    for statement in PG_BITMAPS_ONLY:
        await s.execute(text(statement))
    rows: list[Any] = []
    for window in WINDOWS:
        if len(rows) >= limit or top <= 1:
            break
        low = max(top - window, 0) if window else None
        rows += (await s.execute(matching(principal, query, "postgresql", top, limit - len(rows), after=low))).all()
        top = (low or 0) + 1
    for statement in PG_RESET:
        await s.execute(text(statement))
    return rows


async def _find(s: AsyncSession, principal: Principal, query: Query, before: int | None, limit: int) -> list[Any]:
    """Up to `limit` matching rows (the event's columns, author_name, patient_name, patient_address),
    newest first."""
    if s.bind.dialect.name != "sqlite":
        return await _find_pg(s, principal, query, before, limit)
    rows = list((await s.execute(matching(principal, query, "sqlite", before, limit))).all())
    pending = await pending_below(s)
    if len(rows) < limit and pending:  # older events the background fill has not indexed yet
        old = _events(principal).where(EVENTS.c.seq <= pending, *(_has(w) for p in query.phrases for w in p))
        if before is not None:
            old = old.where(EVENTS.c.seq < before)
        found = (await s.execute(old.order_by(EVENTS.c.seq.desc()).limit(limit - len(rows)))).all()
        rows += [r for r in found if marks(r.text or "", query)]  # words, not any part of one
    return rows


def _name(name: str, query: Query) -> list[Segment]:
    starts = [w for p in query.phrases for w in p]
    spans = [(s, e) for w, s, e in located(name) if any(w.startswith(t) for t in starts)]
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if not merged or s > merged[-1][1]:
            merged.append((s, e))
    return snippet(name, merged, width=len(name))


@get("/api/search", guards=[requires(Role.AGENT)])
async def search(
    request: Request[Principal, Any, Any],
    hub: HubDep,
    q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    before: SeqQuery = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
) -> SearchResults:
    query = parse(q)
    if query is None:
        raise Refused(400, _("Search for at least one word of two letters or more."))
    async with hub.read_sessions() as s:
        rows = await _find(s, request.user, query, before, limit + 1)
        directory = None
        if before is None:
            try:
                reading = read_query(q.replace("\x00", " "), hub.settings.clinic.default_region)
                directory = await search_directory(s, request.user, reading, None, PATIENTS)
            except BadQuery:
                directory = None
    hits = []
    for row in rows[:limit]:
        body = row.text or ""
        label = row.patient_name or row.patient_address or f"Patient {row.patient_id}"
        hits.append(Hit(event_out(row, row.author_name), label, snippet(body, marks(body, query))))
    patients = [
        PatientHit(p, _name(p.name, query) if p.name else []) for p in (directory.patients if directory else [])
    ]
    await hub.writer.submit(
        write_audit_batch,
        AuditRecord(
            AuditAction.SEARCH,
            request.user.id,
            Origin.of(request),
            detail={
                "query": q.replace("\x00", "\ufffd"),  # PostgreSQL's JSON cannot hold a NUL
                "hits": len(hits),
                "patient_ids": sorted({h.event.patient_id for h in hits}),
                "patients_listed": [p.patient.id for p in patients],
            },
        ),
    )
    more_patients = bool(directory and directory.next_cursor)
    return SearchResults(q, hits, len(rows) > limit, patients, more_patients)

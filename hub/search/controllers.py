"""GET /api/search?q=: timeline events whose text has every word of the query (any case), newest
first: patients' and staff's messages, notes, and the transcripts of voice notes. Only what the
staff member may see, as timeline reads; every search is audited with the patients it showed.

Plain SQL, no index to keep in step: LIKE over each event's text as folded when it was written
(hub/search/fold.py: accents and case dropped), with the query folded alike, so "manana" finds
"mañana" and "GONZALEZ" finds "González", on SQLite and PostgreSQL the same.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import QueryParameter
from sqlalchemy import ColumnElement, and_, or_, select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import SeqQuery
from hub.db.models import Agent, Conversation, Patient, TimelineEvent
from hub.deps import HubDep
from hub.events import EventKind, TimelineEventOut
from hub.i18n import _
from hub.refusals import Refused
from hub.search.fold import fold
from hub.timeline.reads import _patient_label, visible
from hub.timeline.views import event_out

SEARCHED = (EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT, EventKind.NOTE, EventKind.TRANSCRIPT)
MAX_WORDS = 8


class Hit(msgspec.Struct):
    event: TimelineEventOut
    patient_name: str


class SearchResults(msgspec.Struct):
    query: str
    hits: list[Hit]
    has_more: bool  # ask again with before=<the last hit's seq>


def _has(folded: str) -> ColumnElement[bool]:
    """An event whose text has the word. An event stored without search_text (by a hub from before
    it, still running beside this one) is matched on its text, case-insensitively."""
    return or_(
        TimelineEvent.search_text.like(_like(folded), escape="\\"),
        and_(TimelineEvent.search_text.is_(None), TimelineEvent.text.ilike(_like(folded), escape="\\")),
    )


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@get("/api/search", guards=[requires(Role.AGENT)])
async def search(
    request: Request[Principal, Any, Any],
    hub: HubDep,
    q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    before: SeqQuery = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
) -> SearchResults:
    words = [f for w in q.replace("\x00", " ").split() if (f := fold(w))][:MAX_WORDS]  # as the text is kept
    if not words or max(len(w) for w in words) < 2:
        raise Refused(400, _("Search for at least one word of two letters or more."))
    name, address = _patient_label()
    author = Agent.__table__.alias("author")
    query = (
        select(TimelineEvent, author.c.display_name, name, address)
        .join(Conversation, Conversation.id == TimelineEvent.conversation_id)
        .outerjoin(author, (author.c.id == TimelineEvent.author_id) & (TimelineEvent.author_type == "agent"))
        .join(Patient, Patient.id == TimelineEvent.patient_id)
        .where(TimelineEvent.kind.in_(SEARCHED), visible(request.user))
        .where(*(_has(w) for w in words))
        .order_by(TimelineEvent.seq.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(TimelineEvent.seq < before)
    async with hub.read_sessions() as s:
        rows = (await s.execute(query)).all()
    hits = [
        Hit(event_out(e, author_name), pname or paddress or f"Patient {e.patient_id}")
        for e, author_name, pname, paddress in rows[:limit]
    ]
    await hub.writer.submit(
        write_audit_batch,
        AuditRecord(
            AuditAction.SEARCH,
            request.user.id,
            Origin.of(request),
            detail={"query": q[:200], "hits": len(hits), "patient_ids": sorted({h.event.patient_id for h in hits})},
        ),
    )
    return SearchResults(q, hits, len(rows) > limit)

"""Where a patient's message goes when it answers the satisfaction question (called by the one
door's ingest, hub/timeline/ingest.py, inside its transaction): a message that starts with a score,
on the channel the question went to and within the answer window, joins the resolved conversation
that asked instead of opening a new one, so "4" is read as the score, never as a menu choice (the
assistant does not answer in a resolved conversation). hub/csat/worker.py then records it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.csat.score import WINDOW, parse_answer
from hub.db.models import CsatSurvey


def answering(session: Session, candidates: dict[int, tuple[str, str | None]], now: datetime) -> dict[int, int]:
    """candidates: patient id -> (channel, text) of their first message here, for patients with no
    open conversation. Returns patient id -> the conversation whose question it answers."""
    wanted = {pid: ch for pid, (ch, text) in candidates.items() if parse_answer(text) is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(CsatSurvey.patient_id, CsatSurvey.channel, CsatSurvey.conversation_id)
        .where(
            CsatSurvey.patient_id.in_(list(wanted)),
            CsatSurvey.state == "asked",
            CsatSurvey.asked_at >= now - WINDOW,
        )
        .order_by(CsatSurvey.asked_at)
    ).all()
    return {pid: cid for pid, channel, cid in rows if wanted.get(pid) == channel}  # the latest asked wins

"""A patient's name as the directory searches it: each word folded (accents and case dropped) and
kept as a row of patient_search_terms, so 'maria nunez' finds 'María José Núñez' by index range
scans (term >= 'nunez' AND term < 'nunez\uffff'), fast on a million patients."""

from __future__ import annotations

import re

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from channels.base import fold
from hub.db.models import PatientSearchTerm

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERM = 64


def name_terms(name: str | None) -> set[str]:
    """The folded words of a name: 'María-José  O'Brien' -> {'maria', 'jose', 'o', 'brien'}."""
    if not name:
        return set()
    return {word[:MAX_TERM] for word in _WORD.findall(fold(name))}


def reindex_name(session: Session, patient_id: int, name: str | None) -> None:
    """Replace the patient's search terms with those of `name`. Call it in the transaction that
    creates the patient or changes their name (import, profile edit, merge, unmerge)."""
    session.execute(delete(PatientSearchTerm).where(PatientSearchTerm.patient_id == patient_id))
    terms = name_terms(name)
    if terms:
        session.add_all(PatientSearchTerm(term=term, patient_id=patient_id) for term in sorted(terms))


def index_new_names(session: Session, named: list[tuple[int, str | None]]) -> None:
    """The search terms of patients created in this transaction (no terms yet): one INSERT for a
    batch, for the message path that creates senders by the hundred."""
    rows = [{"term": term, "patient_id": pid} for pid, name in named for term in sorted(name_terms(name))]
    if rows:
        session.execute(insert(PatientSearchTerm), rows)

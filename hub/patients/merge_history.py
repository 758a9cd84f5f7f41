"""A patient's merges as the profile lists them, and the rows a merge would move, for the
side-by-side preview. Reads only."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db.models import Agent, Patient, PatientMerge
from hub.patients.merge_rows import later_merge, movable_tables


class MergeOut(msgspec.Struct):
    id: int
    source_id: int
    target_id: int
    source_name: str | None
    target_name: str | None
    agent_id: int | None
    agent_name: str | None  # None with no agent: a web-chat visitor proved an address
    reason: str | None
    moved: int
    created_at: datetime
    undone_at: datetime | None
    undone_by: int | None
    can_undo: bool  # not undone, and no later merge stands on it


def merge_history(s: Session, patient_id: int) -> list[MergeOut]:
    rows = s.execute(
        select(PatientMerge)
        .where((PatientMerge.source_id == patient_id) | (PatientMerge.target_id == patient_id))
        .order_by(PatientMerge.id.desc())
        .limit(50)
    ).scalars()
    out = []
    for m in rows:
        names = dict(
            s.execute(select(Patient.id, Patient.name).where(Patient.id.in_((m.source_id, m.target_id)))).all()
        )
        agent = s.get(Agent, m.agent_id) if m.agent_id else None
        standing = m.undone_at is None
        out.append(
            MergeOut(
                m.id,
                m.source_id,
                m.target_id,
                names.get(m.source_id),
                names.get(m.target_id),
                m.agent_id,
                agent.display_name if agent else None,
                m.reason,
                len(m.moves or []),
                m.created_at,
                m.undone_at,
                m.undone_by,
                standing and later_merge(s, m) is None,
            )
        )
    return out


def row_counts(s: Session, patient_id: int) -> dict[str, int]:
    """Rows of each movable table that belong to the patient (tables with none left out)."""
    out = {}
    for table in movable_tables():
        n = s.execute(select(func.count()).select_from(table).where(table.c.patient_id == patient_id)).scalar_one()
        if n:
            out[table.name] = n
    return out

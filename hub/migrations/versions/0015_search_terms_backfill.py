"""directory: the name words (patient_search_terms) of every patient stored before 0013 began keeping
them, so the directory finds every patient by name from the first start after the upgrade.

Batches of 5000 patients by id (keyset), each one INSERT: about 10 s per million named patients on
SQLite. The folding is frozen here as it was when this ran (hub/patients/names.py keeps it for new
names since): NFKD, combining marks dropped, casefolded, split into runs of letters and digits, each
cut to 64 characters. Merged-away records get none (they are never listed).

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-03
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

BATCH = 5000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

patients = sa.table(
    "patients", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("merged_into_id", sa.Integer)
)
terms = sa.table("patient_search_terms", sa.column("term", sa.String), sa.column("patient_id", sa.Integer))


def _terms(name: str) -> set[str]:
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return {word[:64] for word in _WORD.findall(folded)}


def upgrade() -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(patients.c.id, patients.c.name)
            .where(
                patients.c.id > last,
                patients.c.name.is_not(None),
                patients.c.merged_into_id.is_(None),
                ~sa.exists().where(terms.c.patient_id == patients.c.id),
            )
            .order_by(patients.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values = [{"term": t, "patient_id": pid} for pid, name in rows for t in sorted(_terms(name))]
        if values:
            conn.execute(sa.insert(terms), values)
        last = rows[-1][0]


def downgrade() -> None:
    pass  # the words stay; 0013's downgrade drops their table

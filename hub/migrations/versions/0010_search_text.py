"""search: each timeline event's text folded for search (accents and case dropped), so an agent
who types "manana" finds "mañana"; filled in for the events already stored

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 5000


def _fold(text: str) -> str:
    # As hub/search/fold.py folded text when this migration was written (kept here, unchanging).
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def upgrade() -> None:
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    conn = op.get_bind()
    events = sa.table("timeline_events", sa.column("seq", sa.BigInteger()), sa.column("text", sa.Text()),
                      sa.column("search_text", sa.Text()))  # fmt: skip
    fill = events.update().where(events.c.seq == sa.bindparam("key")).values(search_text=sa.bindparam("folded"))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(events.c.seq, events.c.text)
            .where(events.c.seq > last, events.c.text.is_not(None))
            .order_by(events.c.seq)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(fill, [{"key": seq, "folded": _fold(text)} for seq, text in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.drop_column("search_text")

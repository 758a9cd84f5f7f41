"""search: a column for each timeline event's text folded for search (accents and case dropped),
so an agent who types "manana" finds "mañana". The events already stored get it in the background
after the hub starts (hub/search/backfill.py): the upgrade itself is instant, even on a big table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.drop_column("search_text")

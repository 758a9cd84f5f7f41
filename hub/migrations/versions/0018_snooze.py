"""snooze: a conversation out of the open views until a time, when it comes back by itself; the
inbox's views read newest activity first, a page at a time (all, and one agent's)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_conversations_snoozed_until", ["snoozed_until"], unique=False)
        batch_op.create_index("ix_conversations_last_event", ["last_event_seq"], unique=False)
        batch_op.create_index("ix_conversations_assignee_last", ["assignee_id", "last_event_seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_assignee_last")
        batch_op.drop_index("ix_conversations_last_event")
        batch_op.drop_index("ix_conversations_snoozed_until")
        batch_op.drop_column("snoozed_until")

"""urgent conversations and honest waits: when a conversation was assigned and how long it waited
(wait estimates), and the alert ladder of an urgent conversation nobody has taken yet

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("waited_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("urgent_since", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("alerted_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_conversations_urgent_since", ["urgent_since"], unique=False)
        batch_op.create_index("ix_conversations_team_assigned", ["team_id", "assigned_at"], unique=False)
        batch_op.create_index("ix_conversations_team_resolved", ["team_id", "resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for index in (
            "ix_conversations_team_resolved",
            "ix_conversations_team_assigned",
            "ix_conversations_urgent_since",
        ):
            batch_op.drop_index(index)
        for column in ("alerted_at", "escalation", "urgent_since", "waited_s", "assigned_at"):
            batch_op.drop_column(column)

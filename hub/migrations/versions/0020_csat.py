"""csat: the one satisfaction question a resolved conversation gets (hub/csat/), and CSAT switched
on or off per channel

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csat_surveys",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("due_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("asked_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("asked_seq", sa.BigInteger(), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("answered_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    with op.batch_alter_table("csat_surveys", schema=None) as batch_op:
        batch_op.create_index("ix_csat_surveys_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_csat_surveys_patient_state", ["patient_id", "state"], unique=False)
    op.create_table(
        "csat_channels",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("csat_channels")
    with op.batch_alter_table("csat_surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_csat_surveys_patient_state")
        batch_op.drop_index("ix_csat_surveys_state_due")
    op.drop_table("csat_surveys")

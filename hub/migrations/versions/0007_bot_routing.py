"""bot and routing: bot state per conversation, queues, agent availability and capacity, team hours,
holidays, red-flag phrases

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hours", JSON, server_default="{}", nullable=False))
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("available", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_seen_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), server_default="5", nullable=False))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot_seq", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("bot_state", JSON, server_default="{}", nullable=False))
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("intent", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("queued_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_holidays_team_id_teams"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
        sa.UniqueConstraint("team_id", "day", name="uq_holidays_team_day"),
    )
    op.create_table(
        "red_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["agents.id"], name=op.f("fk_red_flags_created_by_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_flags")),
        sa.UniqueConstraint("language", "phrase", name="uq_red_flags_language_phrase"),
    )


def downgrade() -> None:
    op.drop_table("red_flags")
    op.drop_table("holidays")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for column in ("verified_at", "queued_at", "intent", "language", "bot_state", "bot_seq"):
            batch_op.drop_column(column)
    with op.batch_alter_table("agents", schema=None) as batch_op:
        for column in ("capacity", "last_seen_at", "available"):
            batch_op.drop_column(column)
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("hours")

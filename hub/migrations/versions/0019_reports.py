"""reports: one row of report facts per conversation (hub/reports/), what the KPIs are aggregated from

The table starts empty: the hub fills it in the background after a start (hub/reports/rollup.py,
a batch of conversations per writer transaction, those with newer events than their facts first
found by id), so the migration is instant on a big database; the reports count what is filled.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


COVER = (
    "week", "month", "weekday", "hour", "team_id", "channel", "language", "agent_id", "intent", "messages_in",
    "messages_out", "bot_messages", "assistant", "bot_resolved", "handed_off", "handoff_reason", "bot_s",
    "to_people_at",
    "first_response_at", "first_response_s", "first_response_business_s", "wait_s", "handle_s", "resolved_at",
    "resolution_s", "reopened", "transferred", "abandon_at", "opt_outs", "red_flag", "red_flag_s", "csat_asked",
    "csat_score",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "report_conversations",
        sa.Column("conversation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("intent", sa.String(length=32), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("messages_in", sa.Integer(), nullable=False),
        sa.Column("messages_out", sa.Integer(), nullable=False),
        sa.Column("bot_messages", sa.Integer(), nullable=False),
        sa.Column("assistant", sa.Boolean(), nullable=False),
        sa.Column("bot_resolved", sa.Boolean(), nullable=False),
        sa.Column("handed_off", sa.Boolean(), nullable=False),
        sa.Column("handoff_reason", sa.String(length=40), nullable=True),
        sa.Column("bot_s", sa.Integer(), nullable=True),
        sa.Column("to_people_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_s", sa.Integer(), nullable=True),
        sa.Column("first_response_business_s", sa.Integer(), nullable=True),
        sa.Column("wait_s", sa.Integer(), nullable=True),
        sa.Column("handle_s", sa.Integer(), nullable=True),
        sa.Column("resolved_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_s", sa.Integer(), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("transferred", sa.Boolean(), nullable=False),
        sa.Column("abandon_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opt_outs", sa.Integer(), nullable=False),
        sa.Column("red_flag", sa.Boolean(), nullable=False),
        sa.Column("red_flag_s", sa.Integer(), nullable=True),
        sa.Column("csat_asked", sa.Boolean(), nullable=False),
        sa.Column("csat_score", sa.Integer(), nullable=True),
        # No foreign key: a derived row; on PostgreSQL the key check would take a share lock on the
        # conversation's row, so a refresh would wait behind (and time out on) anyone holding it.
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_report_conversations_day", "report_conversations", ["day", "team_id", "channel"])
    op.create_index("ix_report_conversations_agent_day", "report_conversations", ["agent_id", "day"])
    # A report reads a range of days and every figure's columns: all of them in one index read in order
    # (SQLite: key columns; PostgreSQL: INCLUDE, the first 31: an index has at most 32 columns), never the table.
    if op.get_bind().dialect.name == "postgresql":
        include = ", ".join(COVER[:31])
        op.execute(f"CREATE INDEX ix_report_conversations_cover ON report_conversations (day) INCLUDE ({include})")
    else:
        op.execute(f"CREATE INDEX ix_report_conversations_cover ON report_conversations (day, {', '.join(COVER)})")


def downgrade() -> None:
    op.drop_index("ix_report_conversations_cover", table_name="report_conversations")
    op.drop_index("ix_report_conversations_agent_day", table_name="report_conversations")
    op.drop_index("ix_report_conversations_day", table_name="report_conversations")
    op.drop_table("report_conversations")

"""a clinic sets itself up: sessions that end when an account changes, password-reset codes, TOTP and
recovery codes, per-role MFA, break-glass access, teams' Spanish names, and the audit viewer's indexes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("password_changed_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deactivated_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reset_code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reset_expires_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("mfa_enrolled_at", hub.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "recovery_codes",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default="[]",
                nullable=False,
            )
        )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_es", sa.String(length=120), nullable=True))
    op.create_table(
        "role_policies",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("mfa_required", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["agents.id"], name=op.f("fk_role_policies_updated_by_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_role_policies")),
    )
    op.create_table(
        "break_glass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("granted_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_break_glass_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_break_glass_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass")),
    )
    op.create_index("ix_break_glass_agent_patient", "break_glass", ["agent_id", "patient_id", "expires_at"])
    op.create_index("ix_audit_log_patient_id", "audit_log", ["patient_id", "id"])
    op.create_index("ix_audit_log_agent_id", "audit_log", ["agent_id", "id"])
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"])


def downgrade() -> None:
    for index in ("ix_audit_log_action_id", "ix_audit_log_agent_id", "ix_audit_log_patient_id"):
        op.drop_index(index, table_name="audit_log")
    op.drop_index("ix_break_glass_agent_patient", table_name="break_glass")
    op.drop_table("break_glass")
    op.drop_table("role_policies")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("name_es")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        for column in (
            "recovery_codes",
            "mfa_enrolled_at",
            "totp_last_step",
            "totp_secret",
            "reset_expires_at",
            "reset_code_hash",
            "deactivated_at",
            "password_changed_at",
            "session_epoch",
        ):
            batch_op.drop_column(column)

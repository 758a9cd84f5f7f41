"""web chat: visitor verifications, staff read receipts, outbox items that are not timeline messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webchat_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_point_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", hub.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_point_id"],
            ["contact_points.id"],
            name=op.f("fk_webchat_verifications_contact_point_id_contact_points"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webchat_verifications")),
    )
    with op.batch_alter_table("webchat_verifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webchat_verifications_contact_point_id"), ["contact_point_id"], unique=False
        )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_patients_merged_into_id_patients"),
            "patients",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_read_seq", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=24), server_default="reply", nullable=False))
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch_op.alter_column(
            "message_seq", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        )
    op.execute("UPDATE outbox SET purpose = 'opt_out_confirmation' WHERE to_address IS NOT NULL")


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE message_seq IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "message_seq", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        )
        batch_op.drop_column("body")
        batch_op.drop_column("purpose")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("agent_read_seq")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_patients_merged_into_id_patients"), type_="foreignkey")
        batch_op.drop_column("merged_into_id")
    with op.batch_alter_table("webchat_verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webchat_verifications_contact_point_id"))
    op.drop_table("webchat_verifications")

"""mediation pipeline: the destination and late flag of usage, the quarantine of rejected records, and how
far each account's usage has been billed (to mark usage arriving after its period was billed as late)

Revision ID: 0007_usage_pipeline
Revises: 0006_radius
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_usage_pipeline"
down_revision = "0006_radius"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("usage", sa.Column("destination", sa.Text(), nullable=True))
    op.add_column("usage", sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "usage_quarantine",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("usage_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'reprocessed', 'discarded')", name="ck_usage_quarantine_status"),
        sa.CheckConstraint("payload IS NOT NULL OR raw IS NOT NULL", name="ck_usage_quarantine_has_content"),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_at IS NULL)", name="ck_usage_quarantine_resolved_when_closed"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_usage_quarantine"),
    )
    op.create_index(
        "uq_usage_quarantine_open_record",
        "usage_quarantine",
        ["source", "record_key"],
        unique=True,
        postgresql_where=sa.text("status = 'open' AND record_key IS NOT NULL"),
    )
    op.create_index(
        "uq_usage_quarantine_open_raw",
        "usage_quarantine",
        ["source", sa.text("md5(raw)")],
        unique=True,
        postgresql_where=sa.text("status = 'open' AND payload IS NULL"),
    )
    op.create_index("ix_usage_quarantine_status_source", "usage_quarantine", ["status", "source"])
    op.create_table(
        "usage_billed_through",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("billed_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_usage_billed_through"),
    )


def downgrade() -> None:
    op.drop_table("usage_billed_through")
    op.drop_index("ix_usage_quarantine_status_source", table_name="usage_quarantine")
    op.drop_index("uq_usage_quarantine_open_raw", table_name="usage_quarantine")
    op.drop_index("uq_usage_quarantine_open_record", table_name="usage_quarantine")
    op.drop_table("usage_quarantine")
    op.drop_column("usage", "late")
    op.drop_column("usage", "destination")

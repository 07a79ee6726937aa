"""usage adjustments: rerating runs and the signed differences they found per usage record, billed on their
own invoice lines (the usage rows stay as rated)

Revision ID: 0010_usage_adjustment
Revises: 0009_rated_usage_detail
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_usage_adjustment"
down_revision = "0009_rated_usage_detail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rerate_run",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("examined", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("priced_on_totals", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("end_at > start_at", name="ck_rerate_run_period"),
        sa.PrimaryKeyConstraint("id", name="pk_rerate_run"),
    )
    op.create_table(
        "usage_adjustment",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("usage_id", sa.UUID(), nullable=False),
        sa.Column("rerate_run_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("usage_type", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("usage_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(20, 6), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("old_charge", sa.Numeric(20, 6), nullable=False),
        sa.Column("new_charge", sa.Numeric(20, 6), nullable=False),
        sa.Column("old_price_id", sa.UUID(), nullable=False),
        sa.Column("new_price_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('rated', 'billed')", name="ck_usage_adjustment_status"),
        sa.CheckConstraint("(status = 'billed') = (invoice_id IS NOT NULL)",
                           name="ck_usage_adjustment_billed_has_invoice"),
        sa.CheckConstraint("amount <> 0", name="ck_usage_adjustment_amount_not_zero"),
        sa.ForeignKeyConstraint(["usage_id"], ["usage.id"], name="fk_usage_adjustment_usage_id_usage"),
        sa.ForeignKeyConstraint(["rerate_run_id"], ["rerate_run.id"],
                                name="fk_usage_adjustment_rerate_run_id_rerate_run"),
        sa.PrimaryKeyConstraint("id", name="pk_usage_adjustment"),
    )
    op.create_index("ix_usage_adjustment_usage_id", "usage_adjustment", ["usage_id"])
    op.create_index("ix_usage_adjustment_account_status_date", "usage_adjustment",
                    ["account_id", "status", "usage_date"])


def downgrade() -> None:
    op.drop_table("usage_adjustment")
    op.drop_table("rerate_run")

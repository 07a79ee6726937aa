"""ledger: the revenue schedule of charges billed in advance (what the daily recognition runs still recognize)

Revision ID: 0023_ledger_chart
Revises: 0016_merge_billing_branches
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023_ledger_chart"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revenue_schedule",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("source_type", sa.Text(), nullable=False),
        sa.Column("source_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("line_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("net", sa.Numeric(20, 6), nullable=False),
        sa.Column("service_start", sa.Date(), nullable=False),
        sa.Column("service_end", sa.Date(), nullable=False),
        sa.CheckConstraint("service_end > service_start", name=op.f("ck_revenue_schedule_service_days")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_schedule")),
        sa.UniqueConstraint("source_type", "line_id", name="uq_revenue_schedule_line"),
    )
    op.create_index("ix_revenue_schedule_end", "revenue_schedule", ["service_end", "account_id"], unique=False)
    # Like the journal it explains: rows are only ever added (openbss_append_only is 0001's trigger function).
    op.execute("CREATE TRIGGER revenue_schedule_append_only BEFORE UPDATE OR DELETE ON revenue_schedule "
               "FOR EACH ROW EXECUTE FUNCTION openbss_append_only()")


def downgrade() -> None:
    op.drop_index("ix_revenue_schedule_end", table_name="revenue_schedule")
    op.drop_table("revenue_schedule")

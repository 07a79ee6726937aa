"""rating: stored rate tables (immutable versions), allowance buckets (rollover, hierarchy pools), TMF677
consumption queries, and the rate table, rollover and allowance scope of a catalog usage price

Revision ID: 0008_rate_tables
Revises: 0006_radius
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_rate_tables"
down_revision = "0006_radius"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_table",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("holidays", postgresql.ARRAY(sa.Date()), server_default="{}", nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_rate_table_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_table")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_rate_table_name_version")),
    )
    op.create_table(
        "allowance_bucket",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_kind", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("price_id", sa.UUID(), nullable=False),
        sa.Column("usage_type", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted", sa.Numeric(24, 6), nullable=False),
        sa.Column("rolled_over", sa.Numeric(24, 6), server_default="0", nullable=False),
        sa.Column("used", sa.Numeric(24, 6), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("owner_kind IN ('product', 'account')", name=op.f("ck_allowance_bucket_owner_kind_known")),
        sa.CheckConstraint("granted >= 0 AND rolled_over >= 0 AND used >= 0",
                           name=op.f("ck_allowance_bucket_not_negative")),
        sa.CheckConstraint("used <= granted + rolled_over", name=op.f("ck_allowance_bucket_not_overdrawn")),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_allowance_bucket_period_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowance_bucket")),
        sa.UniqueConstraint("owner_kind", "owner_id", "usage_type", "period_start",
                            name=op.f("uq_allowance_bucket_owner_kind_owner_id_usage_type_period_start")),
    )
    op.create_index(op.f("ix_allowance_bucket_account_id"), "allowance_bucket", ["account_id"], unique=False)
    op.create_table(
        "usage_consumption_query",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("search_criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("usage_consumption", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_consumption_query")),
    )
    op.add_column("product_offering_price", sa.Column("rate_table", sa.Text(), nullable=True))
    op.add_column("product_offering_price",
                  sa.Column("rollover", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("product_offering_price", sa.Column("allowance_scope", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("product_offering_price", "allowance_scope")
    op.drop_column("product_offering_price", "rollover")
    op.drop_column("product_offering_price", "rate_table")
    op.drop_table("usage_consumption_query")
    op.drop_index(op.f("ix_allowance_bucket_account_id"), table_name="allowance_bucket")
    op.drop_table("allowance_bucket")
    op.drop_table("rate_table")

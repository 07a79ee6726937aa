"""usage partial records: parts of long calls split by the switch, held until the call is complete and merged

Revision ID: 0011_usage_partial
Revises: 0010_usage_adjustment
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_usage_partial"
down_revision = "0010_usage_adjustment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_partial",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("part_of", sa.Text(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("last_part", sa.Boolean(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("usage_type", sa.Text(), nullable=False),
        sa.Column("usage_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quantity", sa.Numeric(24, 6), nullable=False),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.CheckConstraint("part >= 1", name="ck_usage_partial_part_from_one"),
        sa.PrimaryKeyConstraint("id", name="pk_usage_partial"),
        sa.UniqueConstraint("source", "part_of", "part", name="uq_usage_partial_source_part_of_part"),
    )
    op.create_index("ix_usage_partial_created_at", "usage_partial", ["created_at"])


def downgrade() -> None:
    op.drop_table("usage_partial")

"""rated usage detail: the zone, time band and allowance units rating applied to each usage record; joins the
mediation pipeline (0007) and rate table (0008) branches

Revision ID: 0009_rated_usage_detail
Revises: 0007_usage_pipeline, 0008_rate_tables
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_rated_usage_detail"
down_revision = ("0007_usage_pipeline", "0008_rate_tables")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("usage", sa.Column("zone", sa.Text(), nullable=True))
    op.add_column("usage", sa.Column("band", sa.Text(), nullable=True))
    op.add_column("usage", sa.Column("allowance_used", sa.Numeric(24, 6), server_default="0", nullable=False))


def downgrade() -> None:
    for column in ("allowance_used", "band", "zone"):
        op.drop_column("usage", column)

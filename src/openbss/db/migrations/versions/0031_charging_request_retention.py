"""charging_request: a BRIN index on answered_at, for forgetting stored answers older than their retention

Revision ID: 0031_charging_request_retention
Revises: 0030_online_usage
"""
from alembic import op

revision = "0031_charging_request_retention"
down_revision = "0030_online_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows arrive in answered_at order: a block-range index finds the old ones for a few pages of index, and
    # costs next to nothing on the insert path, where a b-tree would add a third index entry per answer.
    op.create_index("ix_charging_request_answered_at", "charging_request", ["answered_at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index("ix_charging_request_answered_at", table_name="charging_request")

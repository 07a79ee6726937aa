"""order items carry the promotion code they were ordered with

Revision ID: 0004_promotion_code
Revises: 0003_billing
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_promotion_code"
down_revision = "0003_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("product_order_item", sa.Column("promotion_code", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("product_order_item", "promotion_code")

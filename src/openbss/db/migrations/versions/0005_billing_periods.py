"""billing: invoice lines name the offering whose recurring price they charge (a bundle's component), so charges
of one product with different periods or timings are billed apart

Revision ID: 0005_billing_periods
Revises: 0004_promotion_code
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_billing_periods"
down_revision = "0004_promotion_code"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Lines billed before stay NULL: the generator counts them for every charge of their offering, as it did.
    op.add_column("invoice_line", sa.Column("component_id", sa.UUID(), nullable=True))


def downgrade() -> None:
    op.drop_column("invoice_line", "component_id")

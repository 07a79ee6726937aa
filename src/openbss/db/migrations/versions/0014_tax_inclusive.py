"""taxes: tax-inclusive prices, and the jurisdiction each invoice's VAT breakdown was taxed in

Revision ID: 0014_tax_inclusive
Revises: 0012_seller_profile
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_tax_inclusive"
down_revision = "0012_seller_profile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("product_offering_price",
                  sa.Column("tax_included", sa.Boolean(), server_default=sa.false(), nullable=False))
    # NULL on invoices issued before: the tax report files them under the account's country.
    op.add_column("invoice_tax", sa.Column("country", sa.CHAR(2), nullable=True))


def downgrade() -> None:
    op.drop_column("invoice_tax", "country")
    op.drop_column("product_offering_price", "tax_included")

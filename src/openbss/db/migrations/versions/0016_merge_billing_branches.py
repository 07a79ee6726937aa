"""join the credit note (0013), tax-inclusive (0014) and invoice delivery (0015) branches

Revision ID: 0016_merge_billing_branches
Revises: 0013_credit_notes, 0014_tax_inclusive, 0015_invoice_delivery
"""

revision = "0016_merge_billing_branches"
down_revision = ("0013_credit_notes", "0014_tax_inclusive", "0015_invoice_delivery")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""bill cycles: frequency, alignment, anchor month and grace days per billing account; minimum spend commitments
(price kind and invoice line kind "commitment")

Revision ID: 0018_bill_cycles
Revises: 0016_merge_billing_branches
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_bill_cycles"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None

_LINE_KINDS = "'recurring', 'discount', 'oneTime', 'fee', 'usage'"
_PRICE_KINDS = "'oneTime', 'recurring', 'usage', 'discount'"
_PRICE_SHAPE = (
    "offering_id IS NULL"
    " OR (kind = 'recurring' AND period IS NOT NULL AND usage_type IS NULL AND amount IS NOT NULL)"
    " OR (kind = 'usage' AND usage_type IS NOT NULL AND period IS NULL AND amount IS NOT NULL)"
    " OR (kind = 'oneTime' AND period IS NULL AND usage_type IS NULL AND amount IS NOT NULL)"
    " OR (kind = 'discount' AND period IS NULL AND usage_type IS NULL"
    "     AND (amount IS NULL) <> (percentage IS NULL))"
)
_COMMITMENT_SHAPE = " OR (kind = 'commitment' AND period IS NOT NULL AND usage_type IS NULL AND amount IS NOT NULL)"


def _checks(line_kinds: str, price_kinds: str, shape: str) -> None:
    op.drop_constraint(op.f("ck_invoice_line_kind"), "invoice_line", type_="check")
    op.create_check_constraint(op.f("ck_invoice_line_kind"), "invoice_line", f"kind IN ({line_kinds})")
    p = "product_offering_price"
    op.drop_constraint(op.f("ck_product_offering_price_kind_known"), p, type_="check")
    op.create_check_constraint(op.f("ck_product_offering_price_kind_known"), p, f"kind IN ({price_kinds})")
    op.drop_constraint(op.f("ck_product_offering_price_kind_shape"), p, type_="check")
    op.create_check_constraint(op.f("ck_product_offering_price_kind_shape"), p, shape)


def upgrade() -> None:
    a = "billing_account"
    # Existing accounts keep their meaning: monthly, calendar-aligned, no grace; anchored in the month they were
    # created in (their zone's), which is what an anniversary cycle counts from unless told otherwise.
    op.add_column(a, sa.Column("bill_frequency", sa.Text(), server_default="month", nullable=False))
    op.add_column(a, sa.Column("cycle_alignment", sa.Text(), server_default="calendar", nullable=False))
    op.add_column(a, sa.Column("cycle_anchor", sa.Date(), nullable=True))
    op.add_column(a, sa.Column("grace_days", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))
    op.execute("UPDATE billing_account SET cycle_anchor = date_trunc('month', created_at AT TIME ZONE time_zone)::date")
    op.alter_column(a, "cycle_anchor", nullable=False)
    op.create_check_constraint(op.f("ck_billing_account_bill_frequency_known"), a,
                               "bill_frequency IN ('month', 'quarter', 'year')")
    op.create_check_constraint(op.f("ck_billing_account_cycle_alignment_known"), a,
                               "cycle_alignment IN ('calendar', 'anniversary')")
    op.create_check_constraint(op.f("ck_billing_account_cycle_anchor_month"), a, "EXTRACT(DAY FROM cycle_anchor) = 1")
    op.create_check_constraint(op.f("ck_billing_account_grace_days_range"), a, "grace_days BETWEEN 0 AND 60")
    _checks(_LINE_KINDS + ", 'commitment'", _PRICE_KINDS + ", 'commitment'", _PRICE_SHAPE + _COMMITMENT_SHAPE)


def downgrade() -> None:
    op.execute("DELETE FROM product_offering_price WHERE kind = 'commitment'")
    _checks(_LINE_KINDS, _PRICE_KINDS, _PRICE_SHAPE)
    for name in ("grace_days", "cycle_anchor", "cycle_alignment", "bill_frequency"):
        op.drop_column("billing_account", name)

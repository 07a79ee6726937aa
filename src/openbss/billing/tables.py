"""Invoices, their lines and their VAT breakdown.

An issued invoice is immutable: only `amount_paid` and `state` of `invoice` ever change. The bill run
is idempotent through UNIQUE(account_id, period_start). Periods and service periods are half-open
local dates: `period_end` / `service_end` is the first day not covered.
"""

import sqlalchemy as sa

from openbss.db.metadata import MONEY, QUANTITY, created_at, id_column, metadata, uuid_ref

invoice = sa.Table(
    "invoice",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    # The zone the period was cut in, frozen with the invoice: its instants never move if the account's zone does.
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("net_total", MONEY, nullable=False),
    sa.Column("tax_total", MONEY, nullable=False),
    sa.Column("gross_total", MONEY, nullable=False),
    sa.Column("amount_paid", MONEY, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.UniqueConstraint("account_id", "period_start"),
    sa.CheckConstraint("amount_paid >= 0 AND amount_paid <= gross_total", name="paid_within_gross"),
    sa.CheckConstraint("state IN ('sent', 'partiallyPaid', 'settled')", name="state"),
)

invoice_line = sa.Table(
    "invoice_line",
    metadata,
    id_column(),
    uuid_ref("invoice_id", "invoice.id", index=True),
    uuid_ref("account_id"),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    uuid_ref("product_id"),
    uuid_ref("offering_id"),
    sa.Column("usage_type", sa.Text),
    sa.Column("quantity", QUANTITY, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("service_start", sa.Date),
    sa.Column("service_end", sa.Date),
    sa.Column("net_amount", MONEY, nullable=False),
    sa.Column("tax_category", sa.Text, nullable=False),
    sa.Column("tax_rate", sa.Numeric(7, 6), nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    # A credit names the line whose days it gives back (billing.model: credits are negative lines).
    uuid_ref("reverses_id", "invoice_line.id", nullable=True),
    # Recurring and discount lines: the offering whose price the line charges (a bundle's own or one it bundles),
    # so each charge's billed days are told apart; NULL on lines billed before, which count for all of them.
    uuid_ref("component_id", nullable=True),
    sa.UniqueConstraint("invoice_id", "line_no"),
    sa.CheckConstraint("kind IN ('recurring', 'discount', 'oneTime', 'fee', 'usage')", name="kind"),
    # The generator reads what is already billed per product: a child's lines sit on its parent's invoice.
    sa.Index("ix_invoice_line_billed", "product_id", postgresql_where=sa.text("kind <> 'usage'")),
)

invoice_tax = sa.Table(
    "invoice_tax",
    metadata,
    uuid_ref("invoice_id", "invoice.id"),
    uuid_ref("account_id"),
    sa.Column("tax_category", sa.Text, nullable=False),
    sa.Column("tax_rate", sa.Numeric(7, 6), nullable=False),
    sa.Column("taxable_amount", MONEY, nullable=False),
    sa.Column("tax_amount", MONEY, nullable=False),
    sa.PrimaryKeyConstraint("invoice_id", "tax_category", "tax_rate"),
)

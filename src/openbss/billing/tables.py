"""Bill runs, invoices, their lines and their VAT breakdown.

An issued invoice is immutable: only `amount_paid` and `state` of `invoice` ever change. A draft or approved
invoice (billing.lifecycle) has no number yet and may change its state, number and dates, or be deleted with its
lines and VAT rows when its bill run is discarded (triggers, migration 0017). The bill run
is idempotent through UNIQUE(account_id, period_start). Periods and service periods are half-open
local dates: `period_end` / `service_end` is the first day not covered.
"""

import sqlalchemy as sa

from openbss.db.metadata import MONEY, QUANTITY, created_at, id_column, metadata, uuid_ref

RATE = sa.Numeric(7, 6)


def _vat_group(document: str) -> list[sa.Column | sa.PrimaryKeyConstraint]:
    """The columns of one VAT group (EN 16931 BG-23) of a document (`document`: its table), keyed by the document,
    the category and the rate: invoices, credit notes and debit notes carry the same breakdown."""
    return [uuid_ref(f"{document}_id", f"{document}.id"), uuid_ref("account_id"),
            sa.Column("tax_category", sa.Text, nullable=False), sa.Column("tax_rate", RATE, nullable=False),
            sa.Column("taxable_amount", MONEY, nullable=False), sa.Column("tax_amount", MONEY, nullable=False),
            sa.PrimaryKeyConstraint(f"{document}_id", "tax_category", "tax_rate")]


def _totals() -> list[sa.Column]:
    return [sa.Column(f"{name}_total", MONEY, nullable=False) for name in ("net", "tax", "gross")]


def _line_tax() -> list[sa.Column]:
    """A line's amount and how it is taxed, in the document's currency."""
    return [sa.Column("net_amount", MONEY, nullable=False), sa.Column("tax_category", sa.Text, nullable=False),
            sa.Column("tax_rate", RATE, nullable=False), sa.Column("currency", sa.CHAR(3), nullable=False)]

# A bill run: every active account drafted for one period, reviewed, approved, issued (billing/billrun.py).
bill_run = sa.Table(
    "bill_run",
    metadata,
    id_column(),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("accounts", sa.Integer, nullable=False),  # accounts the run drafts (active when it was created)
    sa.Column("batch", sa.Integer, nullable=False),  # accounts (drafting) and invoices (issuing) per job
    created_at(),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Column("approved_by", sa.Text),
    sa.Column("issue_started_at", sa.DateTime(timezone=True)),  # the issue jobs were queued
    sa.Column("issued_at", sa.DateTime(timezone=True)),
    sa.Column("issued_by", sa.Text),
    sa.Column("discarded_at", sa.DateTime(timezone=True)),
    sa.Column("discarded_by", sa.Text),
    sa.CheckConstraint("state IN ('draft', 'approved', 'issued', 'discarded')", name="state"),
    # One open run per period: running the command again resumes it instead of drafting twice.
    sa.Index("uq_bill_run_open_period", "period", unique=True,
             postgresql_where=sa.text("state IN ('draft', 'approved')")),
)

# What drafting did for each account of a run, written in the batch's transaction: progress, errors, summary.
bill_run_account = sa.Table(
    "bill_run_account",
    metadata,
    uuid_ref("bill_run_id", "bill_run.id"),
    uuid_ref("account_id"),
    sa.Column("status", sa.Text, nullable=False),
    uuid_ref("invoice_id", nullable=True),  # the invoice created or found (none: nothing to bill, or an error)
    sa.Column("error", sa.Text),
    sa.PrimaryKeyConstraint("bill_run_id", "account_id"),
    sa.CheckConstraint("status IN ('created', 'existing', 'nothing', 'notDue', 'error')", name="status"),
)

invoice = sa.Table(
    "invoice",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    sa.Column("number", sa.Text, unique=True),  # taken at issue: drafts have none
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    # The zone the period was cut in, frozen with the invoice: its instants never move if the account's zone does.
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    *_totals(),
    sa.Column("amount_paid", MONEY, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    uuid_ref("bill_run_id", "bill_run.id", nullable=True, index=True),  # none: billed on its own (bill_account)
    sa.UniqueConstraint("account_id", "period_start"),
    sa.CheckConstraint("amount_paid >= 0 AND amount_paid <= gross_total", name="paid_within_gross"),
    sa.CheckConstraint("state IN ('draft', 'approved', 'sent', 'partiallyPaid', 'settled')", name="state"),
    sa.CheckConstraint("number IS NOT NULL OR state IN ('draft', 'approved')", name="numbered_when_issued"),
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
    *_line_tax(),
    # A credit names the line whose days it gives back (billing.model: credits are negative lines).
    uuid_ref("reverses_id", "invoice_line.id", nullable=True),
    # Recurring and discount lines: the offering whose price the line charges (a bundle's own or one it bundles),
    # so each charge's billed days are told apart; NULL on lines billed before, which count for all of them.
    uuid_ref("component_id", nullable=True),
    sa.UniqueConstraint("invoice_id", "line_no"),
    sa.CheckConstraint("kind IN ('recurring', 'discount', 'oneTime', 'fee', 'usage', 'commitment')", name="kind"),
    # The generator reads what is already billed per product: a child's lines sit on its parent's invoice.
    sa.Index("ix_invoice_line_billed", "product_id", postgresql_where=sa.text("kind <> 'usage'")),
)

invoice_tax = sa.Table(
    "invoice_tax",
    metadata,
    *_vat_group("invoice"),
    # The jurisdiction taxed (billing.tax.place_of_supply); NULL on invoices issued before it was recorded.
    sa.Column("country", sa.CHAR(2)),
)

# Corrections (billing.corrections): credit notes and debit notes reference the invoice they correct; both are
# immutable once issued like the invoice (database triggers, migration 0013), except a debit note's
# amount_paid and state, which collection moves as an invoice's. Amounts on a credit note are positive.
credit_note = sa.Table(
    "credit_note",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    uuid_ref("invoice_id", "invoice.id", index=True),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    *_totals(),
    # The part that reduced the invoice's open amount; gross - applied became a credit balance on the account.
    sa.Column("applied_amount", MONEY, nullable=False),
    # The dispute this note resolved, if any (disputes are in this domain: a plain reference, no cycle of FKs).
    uuid_ref("dispute_id", nullable=True),
    sa.Column("idempotency_key", sa.Text, unique=True),
    sa.CheckConstraint("gross_total > 0 AND applied_amount >= 0 AND applied_amount <= gross_total", name="amounts"),
)

credit_note_line = sa.Table(
    "credit_note_line",
    metadata,
    id_column(),
    uuid_ref("credit_note_id", "credit_note.id", index=True),
    uuid_ref("account_id"),
    sa.Column("line_no", sa.Integer, nullable=False),
    uuid_ref("invoice_line_id", "invoice_line.id", index=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("quantity", QUANTITY, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    *_line_tax(),
    sa.UniqueConstraint("credit_note_id", "line_no"),
    sa.CheckConstraint("net_amount > 0", name="positive"),
)

credit_note_tax = sa.Table(
    "credit_note_tax",
    metadata,
    *_vat_group("credit_note"),
)

debit_note = sa.Table(
    "debit_note",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    uuid_ref("invoice_id", "invoice.id", index=True),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    *_totals(),
    sa.Column("amount_paid", MONEY, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.CheckConstraint("amount_paid >= 0 AND amount_paid <= gross_total", name="paid_within_gross"),
    sa.CheckConstraint("state IN ('sent', 'partiallyPaid', 'settled')", name="state"),
)

debit_note_line = sa.Table(
    "debit_note_line",
    metadata,
    id_column(),
    uuid_ref("debit_note_id", "debit_note.id", index=True),
    uuid_ref("account_id"),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    uuid_ref("product_id", nullable=True),
    sa.Column("quantity", QUANTITY, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    *_line_tax(),
    sa.UniqueConstraint("debit_note_id", "line_no"),
)

debit_note_tax = sa.Table(
    "debit_note_tax",
    metadata,
    *_vat_group("debit_note"),
)

# A dispute on lines of an issued invoice: while open, `held_amount` (gross) is held out of collections.
dispute = sa.Table(
    "dispute",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    uuid_ref("invoice_id", "invoice.id", index=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("raised_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("held_amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolution", sa.Text),
    uuid_ref("credit_note_id", "credit_note.id", nullable=True),
    sa.CheckConstraint("state IN ('open', 'resolved', 'rejected')", name="state"),
    sa.CheckConstraint("raised_by IN ('customer', 'agent')", name="raised_by"),
    sa.CheckConstraint("(state = 'open') = (resolved_at IS NULL)", name="resolved_when_closed"),
)

dispute_line = sa.Table(
    "dispute_line",
    metadata,
    uuid_ref("dispute_id", "dispute.id"),
    uuid_ref("invoice_line_id", "invoice_line.id"),
    uuid_ref("account_id"),
    sa.Column("amount", MONEY, nullable=False),
    sa.PrimaryKeyConstraint("dispute_id", "invoice_line_id"),
    sa.CheckConstraint("amount > 0", name="positive"),
)

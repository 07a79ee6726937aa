"""credit notes, debit notes and disputes: corrections of issued invoices (billing.corrections)

Credit notes and their lines and VAT groups are append-only, like invoice lines; a debit note changes only
in amount_paid and state, like an invoice (the same trigger function guards both); dispute lines are
append-only, a dispute itself moves from open to resolved or rejected once.

Revision ID: 0013_credit_notes
Revises: 0012_seller_profile
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_credit_notes"
down_revision = "0012_seller_profile"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(20, 6)
QUANTITY = sa.Numeric(24, 6)
RATE = sa.Numeric(7, 6)
APPEND_ONLY = ("credit_note", "credit_note_line", "credit_note_tax", "debit_note_line", "debit_note_tax",
               "dispute_line")


def _money(*names: str) -> list[sa.Column]:
    return [sa.Column(n, MONEY, nullable=False) for n in names]


def _tax_table(name: str, parent: str) -> None:
    op.create_table(
        name,
        sa.Column(f"{parent}_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("tax_category", sa.Text(), nullable=False),
        sa.Column("tax_rate", RATE, nullable=False),
        *_money("taxable_amount", "tax_amount"),
        sa.ForeignKeyConstraint([f"{parent}_id"], [f"{parent}.id"], name=op.f(f"fk_{name}_{parent}_id_{parent}")),
        sa.PrimaryKeyConstraint(f"{parent}_id", "tax_category", "tax_rate", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    op.create_table(
        "credit_note",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *_money("net_total", "tax_total", "gross_total", "applied_amount"),
        sa.Column("dispute_id", sa.UUID(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.CheckConstraint("gross_total > 0 AND applied_amount >= 0 AND applied_amount <= gross_total",
                           name=op.f("ck_credit_note_amounts")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], name=op.f("fk_credit_note_invoice_id_invoice")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_note_number")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_credit_note_idempotency_key")),
    )
    op.create_index(op.f("ix_credit_note_account_id"), "credit_note", ["account_id"])
    op.create_index(op.f("ix_credit_note_invoice_id"), "credit_note", ["invoice_id"])
    op.create_table(
        "credit_note_line",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("credit_note_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("invoice_line_id", sa.UUID(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("net_amount", MONEY, nullable=False),
        sa.Column("tax_category", sa.Text(), nullable=False),
        sa.Column("tax_rate", RATE, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.CheckConstraint("net_amount > 0", name=op.f("ck_credit_note_line_positive")),
        sa.ForeignKeyConstraint(["credit_note_id"], ["credit_note.id"],
                                name=op.f("fk_credit_note_line_credit_note_id_credit_note")),
        sa.ForeignKeyConstraint(["invoice_line_id"], ["invoice_line.id"],
                                name=op.f("fk_credit_note_line_invoice_line_id_invoice_line")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_line")),
        sa.UniqueConstraint("credit_note_id", "line_no", name=op.f("uq_credit_note_line_credit_note_id_line_no")),
    )
    op.create_index(op.f("ix_credit_note_line_credit_note_id"), "credit_note_line", ["credit_note_id"])
    op.create_index(op.f("ix_credit_note_line_invoice_line_id"), "credit_note_line", ["invoice_line_id"])
    _tax_table("credit_note_tax", "credit_note")

    op.create_table(
        "debit_note",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *_money("net_total", "tax_total", "gross_total", "amount_paid"),
        sa.Column("state", sa.Text(), nullable=False),
        sa.CheckConstraint("amount_paid >= 0 AND amount_paid <= gross_total",
                           name=op.f("ck_debit_note_paid_within_gross")),
        sa.CheckConstraint("state IN ('sent', 'partiallyPaid', 'settled')", name=op.f("ck_debit_note_state")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], name=op.f("fk_debit_note_invoice_id_invoice")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debit_note")),
        sa.UniqueConstraint("number", name=op.f("uq_debit_note_number")),
    )
    op.create_index(op.f("ix_debit_note_account_id"), "debit_note", ["account_id"])
    op.create_index(op.f("ix_debit_note_invoice_id"), "debit_note", ["invoice_id"])
    op.create_table(
        "debit_note_line",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("debit_note_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=True),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("net_amount", MONEY, nullable=False),
        sa.Column("tax_category", sa.Text(), nullable=False),
        sa.Column("tax_rate", RATE, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.ForeignKeyConstraint(["debit_note_id"], ["debit_note.id"],
                                name=op.f("fk_debit_note_line_debit_note_id_debit_note")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debit_note_line")),
        sa.UniqueConstraint("debit_note_id", "line_no", name=op.f("uq_debit_note_line_debit_note_id_line_no")),
    )
    op.create_index(op.f("ix_debit_note_line_debit_note_id"), "debit_note_line", ["debit_note_id"])
    _tax_table("debit_note_tax", "debit_note")

    op.create_table(
        "dispute",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("raised_by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_amount", MONEY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("credit_note_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'resolved', 'rejected')", name=op.f("ck_dispute_state")),
        sa.CheckConstraint("raised_by IN ('customer', 'agent')", name=op.f("ck_dispute_raised_by")),
        sa.CheckConstraint("(state = 'open') = (resolved_at IS NULL)", name=op.f("ck_dispute_resolved_when_closed")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], name=op.f("fk_dispute_invoice_id_invoice")),
        sa.ForeignKeyConstraint(["credit_note_id"], ["credit_note.id"],
                                name=op.f("fk_dispute_credit_note_id_credit_note")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
    )
    op.create_index(op.f("ix_dispute_account_id"), "dispute", ["account_id"])
    op.create_index(op.f("ix_dispute_invoice_id"), "dispute", ["invoice_id"])
    op.create_table(
        "dispute_line",
        sa.Column("dispute_id", sa.UUID(), nullable=False),
        sa.Column("invoice_line_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_dispute_line_positive")),
        sa.ForeignKeyConstraint(["dispute_id"], ["dispute.id"], name=op.f("fk_dispute_line_dispute_id_dispute")),
        sa.ForeignKeyConstraint(["invoice_line_id"], ["invoice_line.id"],
                                name=op.f("fk_dispute_line_invoice_line_id_invoice_line")),
        sa.PrimaryKeyConstraint("dispute_id", "invoice_line_id", name=op.f("pk_dispute_line")),
    )

    # Issued corrections never change (functions from 0001_initial_schema).
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION openbss_append_only()")
    op.execute("CREATE TRIGGER debit_note_settlement_only BEFORE UPDATE OR DELETE ON debit_note "
               "FOR EACH ROW EXECUTE FUNCTION openbss_invoice_settlement_only()")


def downgrade() -> None:
    for table in ("dispute_line", "dispute", "debit_note_tax", "debit_note_line", "debit_note", "credit_note_tax",
                  "credit_note_line", "credit_note"):
        op.drop_table(table)

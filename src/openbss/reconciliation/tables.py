import sqlalchemy as sa

from openbss.db.metadata import MONEY, created_at, id_column, metadata, uuid_ref

# A file as received, kept byte for byte (the evidence behind every payment matched from it).
# The same bytes twice are one file: the second import is refused by the unique hash.
bank_statement_file = sa.Table(
    "bank_statement_file",
    metadata,
    id_column(),
    created_at(),
    sa.Column("sha256", sa.CHAR(64), nullable=False, unique=True),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("file_name", sa.Text),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.CheckConstraint("format IN ('camt053', 'mt940')", name="format"),
)

# One statement per bank account and statement number/sequence: delivered again in another file, it is refused.
bank_statement = sa.Table(
    "bank_statement",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("file_id", "bank_statement_file.id", index=True),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("bank_account", sa.Text, nullable=False),
    sa.Column("statement_ref", sa.Text, nullable=False),
    sa.Column("sequence", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("opening_balance", MONEY),
    sa.Column("closing_balance", MONEY),
    sa.Column("issued_at", sa.DateTime(timezone=True)),
    sa.Column("line_count", sa.Integer, nullable=False),
    sa.UniqueConstraint("bank_account", "statement_ref", "sequence", name="uq_bank_statement_identity"),
)

bank_statement_line = sa.Table(
    "bank_statement_line",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("statement_id", "bank_statement.id", index=True),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("booked", sa.Boolean, nullable=False),
    sa.Column("reversal", sa.Boolean, nullable=False),
    sa.Column("booking_date", sa.Date),
    sa.Column("value_date", sa.Date),
    sa.Column("bank_ref", sa.Text),
    sa.Column("end_to_end_id", sa.Text),
    sa.Column("creditor_ref", sa.Text),
    sa.Column("remittance", sa.Text),
    sa.Column("counterparty_name", sa.Text),
    sa.Column("counterparty_iban", sa.Text),
    sa.Column("bank_code", sa.Text),
    sa.Column("return_reason", sa.Text),
    sa.Column("source_line", sa.Integer),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("message", sa.Text),
    # Known once matched or assigned; the payment (payments domain) records the money against the account.
    uuid_ref("account_id", nullable=True, index=True),
    uuid_ref("invoice_id", nullable=True),
    uuid_ref("payment_id", nullable=True),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("statement_id", "line_no", name="uq_bank_statement_line_no"),
    sa.CheckConstraint("direction IN ('credit', 'debit')", name="direction"),
    sa.CheckConstraint("amount >= 0", name="amount"),
    sa.CheckConstraint("status IN ('matched', 'unmatched', 'assigned', 'dismissed', 'listed', 'settled')",
                       name="status"),
    # The reason stays once an agent resolved the line: why it needed one is part of its history.
    sa.CheckConstraint("status <> 'unmatched' OR reason IS NOT NULL", name="reason"),
    sa.CheckConstraint("(status IN ('matched', 'assigned')) = (payment_id IS NOT NULL)", name="payment"),
)
# The agent's queue: open lines, oldest first.
sa.Index("ix_bank_statement_line_unmatched", bank_statement_line.c.id,
         postgresql_where=bank_statement_line.c.status == "unmatched")

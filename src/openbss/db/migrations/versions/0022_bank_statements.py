"""bank statements: imported camt.053 / MT940 files, their statements and lines, the unmatched queue

Revision ID: 0022_bank_statements
Revises: 0016_merge_billing_branches
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_bank_statements"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_statement_file",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.CHAR(64), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("format IN ('camt053', 'mt940')", name=op.f("ck_bank_statement_file_format")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_file")),
        sa.UniqueConstraint("sha256", name=op.f("uq_bank_statement_file_sha256")),
    )
    # The file is the evidence behind the payments matched from it: kept as received, never changed.
    op.execute("CREATE TRIGGER bank_statement_file_append_only BEFORE UPDATE OR DELETE ON bank_statement_file "
               "FOR EACH ROW EXECUTE FUNCTION openbss_append_only()")
    op.create_table(
        "bank_statement",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_id", sa.UUID(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("bank_account", sa.Text(), nullable=False),
        sa.Column("statement_ref", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("opening_balance", sa.Numeric(20, 6), nullable=True),
        sa.Column("closing_balance", sa.Numeric(20, 6), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["bank_statement_file.id"],
                                name=op.f("fk_bank_statement_file_id_bank_statement_file")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement")),
        sa.UniqueConstraint("bank_account", "statement_ref", "sequence", name="uq_bank_statement_identity"),
    )
    op.create_index(op.f("ix_bank_statement_file_id"), "bank_statement", ["file_id"], unique=False)
    op.create_table(
        "bank_statement_line",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statement_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(20, 6), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("bank_ref", sa.Text(), nullable=True),
        sa.Column("end_to_end_id", sa.Text(), nullable=True),
        sa.Column("creditor_ref", sa.Text(), nullable=True),
        sa.Column("remittance", sa.Text(), nullable=True),
        sa.Column("counterparty_name", sa.Text(), nullable=True),
        sa.Column("counterparty_iban", sa.Text(), nullable=True),
        sa.Column("bank_code", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("direction IN ('credit', 'debit')", name=op.f("ck_bank_statement_line_direction")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_bank_statement_line_amount")),
        sa.CheckConstraint("status IN ('matched', 'unmatched', 'assigned', 'dismissed', 'listed', 'settled')",
                           name=op.f("ck_bank_statement_line_status")),
        sa.CheckConstraint("status <> 'unmatched' OR reason IS NOT NULL", name=op.f("ck_bank_statement_line_reason")),
        sa.CheckConstraint("(status IN ('matched', 'assigned')) = (payment_id IS NOT NULL)",
                           name=op.f("ck_bank_statement_line_payment")),
        sa.ForeignKeyConstraint(["statement_id"], ["bank_statement.id"],
                                name=op.f("fk_bank_statement_line_statement_id_bank_statement")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_line")),
        sa.UniqueConstraint("statement_id", "line_no", name="uq_bank_statement_line_no"),
    )
    op.create_index(op.f("ix_bank_statement_line_statement_id"), "bank_statement_line", ["statement_id"],
                    unique=False)
    op.create_index(op.f("ix_bank_statement_line_account_id"), "bank_statement_line", ["account_id"], unique=False)
    op.create_index("ix_bank_statement_line_unmatched", "bank_statement_line", ["id"], unique=False,
                    postgresql_where=sa.text("status = 'unmatched'"))


def downgrade() -> None:
    op.drop_table("bank_statement_line")
    op.drop_table("bank_statement")
    op.execute("DROP TRIGGER bank_statement_file_append_only ON bank_statement_file")
    op.drop_table("bank_statement_file")

"""note documents: credit and debit notes stored, downloaded and e-mailed like invoices

`bill_document` and `invoice_delivery` name any bill document (`document_id` + `kind`: invoice, creditNote,
debitNote) instead of an invoice only; their foreign key to `invoice` goes, as one column cannot reference three
tables. Rows kept so far are invoices. A downgrade fails once a note's document or e-mail is kept (the foreign key
to `invoice` cannot come back over rows that name no invoice).

Revision ID: 0019_note_documents
Revises: 0016_merge_billing_branches
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_note_documents"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None

KIND_CHECK = "kind IN ('invoice', 'creditNote', 'debitNote')"


def upgrade() -> None:
    for table in ("bill_document", "invoice_delivery"):
        op.drop_constraint(f"fk_{table}_invoice_id_invoice", table, type_="foreignkey")
        op.alter_column(table, "invoice_id", new_column_name="document_id")
        # A constant default fills the existing rows without rewriting them (no UPDATE: bill_document's
        # append-only trigger stays quiet); then the default goes, so every writer names the kind.
        op.add_column(table, sa.Column("kind", sa.Text(), nullable=False, server_default="invoice"))
        op.alter_column(table, "kind", server_default=None)
        op.create_check_constraint(op.f(f"ck_{table}_kind"), table, KIND_CHECK)


def downgrade() -> None:
    for table in ("invoice_delivery", "bill_document"):
        op.drop_constraint(op.f(f"ck_{table}_kind"), table, type_="check")
        op.drop_column(table, "kind")
        op.alter_column(table, "document_id", new_column_name="invoice_id")
        op.create_foreign_key(op.f(f"fk_{table}_invoice_id_invoice"), table, "invoice", ["invoice_id"], ["id"])

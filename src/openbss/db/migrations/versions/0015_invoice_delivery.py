"""invoice delivery: rendered bill documents kept as sent (append-only) and the e-mail delivery outbox

Revision ID: 0015_invoice_delivery
Revises: 0012_seller_profile
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_invoice_delivery"
down_revision = "0012_seller_profile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bill_document",
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.CHAR(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("format IN ('pdf', 'ubl', 'cii', 'facturx')", name=op.f("ck_bill_document_format")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], name=op.f("fk_bill_document_invoice_id_invoice")),
        sa.PrimaryKeyConstraint("invoice_id", "format", name=op.f("pk_bill_document")),
    )
    # The bytes a customer was sent are evidence: never changed, never deleted (0001's append-only trigger).
    op.execute("CREATE TRIGGER bill_document_append_only BEFORE UPDATE OR DELETE ON bill_document "
               "FOR EACH ROW EXECUTE FUNCTION openbss_append_only()")
    op.create_table(
        "invoice_delivery",
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("attachments", sa.ARRAY(sa.Text()), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("channel IN ('email')", name=op.f("ck_invoice_delivery_channel")),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')",
                           name=op.f("ck_invoice_delivery_status")),
        sa.CheckConstraint("(status = 'pending') = (next_attempt_at IS NOT NULL)",
                           name=op.f("ck_invoice_delivery_pending_has_next_attempt")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"],
                                name=op.f("fk_invoice_delivery_invoice_id_invoice")),
        sa.PrimaryKeyConstraint("invoice_id", "channel", name=op.f("pk_invoice_delivery")),
    )
    op.create_index(op.f("ix_invoice_delivery_account_id"), "invoice_delivery", ["account_id"], unique=False)
    op.create_index("ix_invoice_delivery_due", "invoice_delivery", ["next_attempt_at"], unique=False,
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index("ix_invoice_delivery_due", table_name="invoice_delivery",
                  postgresql_where=sa.text("status = 'pending'"))
    op.drop_index(op.f("ix_invoice_delivery_account_id"), table_name="invoice_delivery")
    op.drop_table("invoice_delivery")
    op.drop_table("bill_document")

"""payments (issue #6): TMF670 payment methods, payment status and in-transit money, refunds, SEPA Direct Debit
batches, gateway webhook deliveries; allocations may be released (amount down to 0) by refunds and reversals

Revision ID: 0021_payments
Revises: 0016_merge_billing_branches
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021_payments"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=20, scale=6)


def upgrade() -> None:
    op.create_table(
        "payment_method",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_preferred", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mandate_id", sa.Text(), nullable=True),
        sa.Column("gateway", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("type IN ('directDebit', 'tokenizedCard', 'bankAccountTransfer', 'cash', 'voucher')",
                           name=op.f("ck_payment_method_type")),
        sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f("ck_payment_method_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_method")),
        sa.UniqueConstraint("mandate_id", name=op.f("uq_payment_method_mandate_id")),
    )
    op.create_index(op.f("ix_payment_method_account_id"), "payment_method", ["account_id"], unique=False)
    op.create_index("uq_payment_method_preferred", "payment_method", ["account_id"], unique=True,
                    postgresql_where=sa.text("is_preferred"))
    op.create_table(
        "sepa_batch",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("due_by", sa.Date(), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_batch")),
        sa.UniqueConstraint("message_id", name=op.f("uq_sepa_batch_message_id")),
    )
    op.add_column("payment", sa.Column("status", sa.Text(), server_default="done", nullable=False))
    op.add_column("payment", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column("payment", sa.Column("payment_method_id", sa.UUID(), nullable=True))
    op.add_column("payment", sa.Column("in_transit", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("payment", sa.Column("refunded", MONEY, server_default="0", nullable=False))
    op.add_column("payment", sa.Column("reversed", MONEY, server_default="0", nullable=False))
    op.add_column("payment", sa.Column("gateway", sa.Text(), nullable=True))
    op.add_column("payment", sa.Column("sepa_batch_id", sa.UUID(), nullable=True))
    op.add_column("payment", sa.Column("sequence_type", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_payment_payment_method_id_payment_method"), "payment", "payment_method",
                          ["payment_method_id"], ["id"])
    op.create_foreign_key(op.f("fk_payment_sepa_batch_id_sepa_batch"), "payment", "sepa_batch",
                          ["sepa_batch_id"], ["id"])
    op.create_index(op.f("ix_payment_payment_method_id"), "payment", ["payment_method_id"], unique=False)
    op.create_index(op.f("ix_payment_sepa_batch_id"), "payment", ["sepa_batch_id"], unique=False)
    op.create_index("ix_payment_gateway_ref", "payment", ["gateway", "external_ref"], unique=False)
    op.create_check_constraint(
        op.f("ck_payment_taken_back_within_amount"), "payment",
        "refunded >= 0 AND reversed >= 0 AND unallocated + refunded + reversed <= amount",
    )
    op.create_check_constraint(
        op.f("ck_payment_status"), "payment",
        "status IN ('pending', 'done', 'failed', 'returned', 'reversed', 'chargedBack')",
    )
    # A refund or reversal releases an allocation; the row stays (amount 0) as the trace of what it once paid.
    op.drop_constraint(op.f("ck_payment_allocation_positive"), "payment_allocation", type_="check")
    op.create_check_constraint(op.f("ck_payment_allocation_not_negative"), "payment_allocation", "amount >= 0")
    op.create_table(
        "payment_refund",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gateway_ref", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_refund_positive")),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], name=op.f("fk_payment_refund_payment_id_payment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refund")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_refund_idempotency_key")),
    )
    op.create_index(op.f("ix_payment_refund_account_id"), "payment_refund", ["account_id"], unique=False)
    op.create_index(op.f("ix_payment_refund_payment_id"), "payment_refund", ["payment_id"], unique=False)
    op.create_table(
        "gateway_event",
        sa.Column("gateway", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], name=op.f("fk_gateway_event_payment_id_payment")),
        sa.PrimaryKeyConstraint("gateway", "event_id", name=op.f("pk_gateway_event")),
    )


def downgrade() -> None:
    op.drop_table("gateway_event")
    op.drop_index(op.f("ix_payment_refund_payment_id"), table_name="payment_refund")
    op.drop_index(op.f("ix_payment_refund_account_id"), table_name="payment_refund")
    op.drop_table("payment_refund")
    op.drop_constraint(op.f("ck_payment_allocation_not_negative"), "payment_allocation", type_="check")
    op.create_check_constraint(op.f("ck_payment_allocation_positive"), "payment_allocation", "amount > 0")
    op.drop_constraint(op.f("ck_payment_status"), "payment", type_="check")
    op.drop_constraint(op.f("ck_payment_taken_back_within_amount"), "payment", type_="check")
    op.drop_index("ix_payment_gateway_ref", table_name="payment")
    op.drop_index(op.f("ix_payment_sepa_batch_id"), table_name="payment")
    op.drop_index(op.f("ix_payment_payment_method_id"), table_name="payment")
    op.drop_constraint(op.f("fk_payment_sepa_batch_id_sepa_batch"), "payment", type_="foreignkey")
    op.drop_constraint(op.f("fk_payment_payment_method_id_payment_method"), "payment", type_="foreignkey")
    for column in ("sequence_type", "sepa_batch_id", "gateway", "reversed", "refunded", "in_transit",
                   "payment_method_id", "status_reason", "status"):
        op.drop_column("payment", column)
    op.drop_table("sepa_batch")
    op.drop_index("uq_payment_method_preferred", table_name="payment_method")
    op.drop_index(op.f("ix_payment_method_account_id"), table_name="payment_method")
    op.drop_table("payment_method")

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from openbss.db.metadata import MONEY, created_at, id_column, metadata, uuid_ref

# TMF670 payment methods. Card numbers are never stored: a card is the gateway's token and its display facts.
payment_method = sa.Table(
    "payment_method",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("is_preferred", sa.Boolean, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("status_reason", sa.Text),
    sa.Column("status_date", sa.DateTime(timezone=True), nullable=False),
    # A SEPA mandate reference identifies one mandate of the creditor: two accounts never share one.
    sa.Column("mandate_id", sa.Text, unique=True),
    sa.Column("gateway", sa.Text),
    sa.Column("details", JSONB, nullable=False),
    sa.CheckConstraint(
        "type IN ('directDebit', 'tokenizedCard', 'bankAccountTransfer', 'cash', 'voucher')", name="type"
    ),
    sa.CheckConstraint("status IN ('active', 'inactive')", name="status"),
    # The account's default method, the one direct debits and automatic charges use: at most one.
    sa.Index("uq_payment_method_preferred", "account_id", unique=True, postgresql_where=sa.text("is_preferred")),
)

# A SEPA Direct Debit file as exported (pain.008): its collections are the payments naming it.
sepa_batch = sa.Table(
    "sepa_batch",
    metadata,
    id_column(),
    created_at(),
    sa.Column("message_id", sa.Text, nullable=False, unique=True),
    sa.Column("due_by", sa.Date, nullable=False),
    sa.Column("collection_date", sa.Date, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("total", MONEY, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
)

payment = sa.Table(
    "payment",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("external_ref", sa.Text),
    # A bank file or gateway retried is recorded once: the key is the idempotency, NULLs never clash.
    sa.Column("idempotency_key", sa.Text, unique=True),
    sa.Column("unallocated", MONEY, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="done"),
    sa.Column("status_reason", sa.Text),
    uuid_ref("payment_method_id", "payment_method.id", nullable=True, index=True),
    # Collected (direct debit, card) but not yet on the bank statement: its money sits in IN_TRANSIT.
    sa.Column("in_transit", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("refunded", MONEY, nullable=False, server_default="0"),
    sa.Column("reversed", MONEY, nullable=False, server_default="0"),
    sa.Column("gateway", sa.Text),
    uuid_ref("sepa_batch_id", "sepa_batch.id", nullable=True, index=True),
    sa.Column("sequence_type", sa.Text),  # SEPA FRST/RCUR of a direct debit collection
    sa.CheckConstraint("amount > 0 AND unallocated >= 0 AND unallocated <= amount", name="amounts"),
    sa.CheckConstraint("refunded >= 0 AND reversed >= 0 AND unallocated + refunded + reversed <= amount",
                       name="taken_back_within_amount"),
    sa.CheckConstraint(
        "status IN ('pending', 'done', 'failed', 'returned', 'reversed', 'chargedBack')", name="status"
    ),
    sa.Index("ix_payment_gateway_ref", "gateway", "external_ref"),
)

# What of a payment settles which bill now: a refund or reversal lowers the amount (0 = released entirely).
payment_allocation = sa.Table(
    "payment_allocation",
    metadata,
    id_column(),
    uuid_ref("payment_id", "payment.id", index=True),
    uuid_ref("account_id"),
    uuid_ref("invoice_id", index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.UniqueConstraint("payment_id", "invoice_id", name="uq_payment_allocation_invoice"),
    sa.CheckConstraint("amount >= 0", name="not_negative"),
)

payment_refund = sa.Table(
    "payment_refund",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    # NULL: paid out of the account's credit balance (the unallocated remainders of its payments).
    uuid_ref("payment_id", "payment.id", nullable=True, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("idempotency_key", sa.Text, unique=True),
    sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("gateway_ref", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.CheckConstraint("amount > 0", name="positive"),
)

# Webhook deliveries already acted on: a gateway retrying one changes nothing.
gateway_event = sa.Table(
    "gateway_event",
    metadata,
    sa.Column("gateway", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    created_at(),
    sa.Column("type", sa.Text, nullable=False),
    uuid_ref("payment_id", "payment.id", nullable=True),
)

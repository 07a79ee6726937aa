import sqlalchemy as sa

from openbss.db.metadata import MONEY, created_at, id_column, metadata, uuid_ref

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
    sa.CheckConstraint("amount > 0 AND unallocated >= 0 AND unallocated <= amount", name="amounts"),
)

payment_allocation = sa.Table(
    "payment_allocation",
    metadata,
    id_column(),
    uuid_ref("payment_id", "payment.id", index=True),
    uuid_ref("account_id"),
    uuid_ref("invoice_id", index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.UniqueConstraint("payment_id", "invoice_id", name="uq_payment_allocation_invoice"),
    sa.CheckConstraint("amount > 0", name="positive"),
)

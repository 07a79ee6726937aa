import sqlalchemy as sa

from openbss.db.metadata import MONEY, QUANTITY, created_at, id_column, metadata, uuid_ref

usage = sa.Table(
    "usage",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id"),
    uuid_ref("product_id"),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("record_key", sa.Text, nullable=False),
    sa.Column("service_id", sa.Text, nullable=False),
    sa.Column("usage_type", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("usage_date", sa.DateTime(timezone=True), nullable=False),
    sa.Column("quantity", QUANTITY, nullable=False),
    sa.Column("charge", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    uuid_ref("price_id"),
    sa.Column("status", sa.Text, nullable=False),
    # No foreign key: invoices belong to billing, which may live in another service one day.
    uuid_ref("invoice_id", nullable=True),
    # The idempotency of usage: a record sent twice (retry, re-imported file) is stored once.
    sa.UniqueConstraint("source", "record_key"),
    sa.CheckConstraint("status IN ('rated', 'billed')", name="status"),
    sa.CheckConstraint("(status = 'billed') = (invoice_id IS NOT NULL)", name="billed_has_invoice"),
    sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    # The bill run's claim: one account's unbilled usage before the period end.
    sa.Index("ix_usage_account_status_date", "account_id", "status", "usage_date"),
)

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

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
    # Where to: the called number (E.164 digits) of a call or SMS, the APN of a data session, if known.
    sa.Column("destination", sa.Text, nullable=True),
    sa.Column("usage_type", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("usage_date", sa.DateTime(timezone=True), nullable=False),
    sa.Column("quantity", QUANTITY, nullable=False),
    sa.Column("charge", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    uuid_ref("price_id", nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    # Dated before its account's usage was billed through: it goes on the next invoice, marked late.
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    # What rating applied, shown to the customer and kept for rerating: the rate table's destination zone and
    # time band (both null for a price without a rate table), and the units an allowance bucket covered.
    sa.Column("zone", sa.Text, nullable=True),
    sa.Column("band", sa.Text, nullable=True),
    sa.Column("allowance_used", QUANTITY, nullable=False, server_default="0"),
    # No foreign key: invoices belong to billing, which may live in another service one day.
    uuid_ref("invoice_id", nullable=True),
    # The idempotency of usage: a record sent twice (retry, re-imported file) is stored once.
    sa.UniqueConstraint("source", "record_key"),
    # prepaid: charged online against a prepaid balance; paid already, never on an invoice
    sa.CheckConstraint("status IN ('rated', 'billed', 'prepaid')", name="status"),
    sa.CheckConstraint("(status = 'billed') = (invoice_id IS NOT NULL)", name="billed_has_invoice"),
    sa.CheckConstraint("price_id IS NOT NULL OR status = 'prepaid'", name="priced"),
    sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    # The bill run's claim: one account's unbilled usage before the period end.
    sa.Index("ix_usage_account_status_date", "account_id", "status", "usage_date"),
)

# Records that could not be stored, with the reason, until an operator has them reprocessed or discards them.
# `payload` rebuilds a decoded record exactly (its fields as JSON strings); `raw` keeps what could not be
# decoded at all (a CSV line, a message). At most one open entry per (source, record_key), and per
# (source, raw text) for undecodable input, so importing the same bad file again does not pile up entries.
usage_quarantine = sa.Table(
    "usage_quarantine",
    metadata,
    id_column(),
    created_at(),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("record_key", sa.Text, nullable=True),
    sa.Column("line", sa.Integer, nullable=True),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=True),
    sa.Column("raw", sa.Text, nullable=True),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    # How it was resolved: "stored", "duplicate" (usage_id is the stored one), or why it was discarded.
    sa.Column("resolution", sa.Text, nullable=True),
    uuid_ref("usage_id", nullable=True),
    sa.CheckConstraint("status IN ('open', 'reprocessed', 'discarded')", name="status"),
    sa.CheckConstraint("payload IS NOT NULL OR raw IS NOT NULL", name="has_content"),
    sa.CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved_when_closed"),
    sa.Index(
        "uq_usage_quarantine_open_record",
        "source",
        "record_key",
        unique=True,
        postgresql_where=sa.text("status = 'open' AND record_key IS NOT NULL"),
    ),
    sa.Index(
        "uq_usage_quarantine_open_raw",
        "source",
        sa.text("md5(raw)"),
        unique=True,
        postgresql_where=sa.text("status = 'open' AND payload IS NULL"),
    ),
    sa.Index("ix_usage_quarantine_status_source", "status", "source"),
)

# How far each account's usage has been billed: the latest period end a bill run claimed usage before.
# Usage dated before it arrives late and is billed on the next invoice, marked late.
usage_billed_through = sa.Table(
    "usage_billed_through",
    metadata,
    sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("billed_until", sa.DateTime(timezone=True), nullable=False),
)

# A rerating run (`rating.rerate`): who rerated which usage dates (and account), what it found, and the sum of
# the adjustments it wrote per currency ({"EUR": "-1.200000"}). Dry runs write nothing, so every run here
# wrote its adjustments.
rerate_run = sa.Table(
    "rerate_run",
    metadata,
    id_column(),
    created_at(),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    uuid_ref("account_id", nullable=True),
    sa.Column("examined", sa.Integer, nullable=False),
    sa.Column("changed", sa.Integer, nullable=False),
    sa.Column("priced_on_totals", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("totals", JSONB, nullable=False),
    sa.CheckConstraint("end_at > start_at", name="period"),
)

# The difference a rerating found for one usage record: new charge - (the usage's charge + the record's earlier
# adjustments), signed. The usage row is never edited (billed or not); a bill run claims adjustments like usage
# (status, invoice_id) and puts them on their own invoice lines. `usage_date` and `unit` are the usage's, kept
# here so the claim is one statement on this table.
usage_adjustment = sa.Table(
    "usage_adjustment",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("usage_id", "usage.id", index=True),
    uuid_ref("rerate_run_id", "rerate_run.id"),
    uuid_ref("account_id"),
    uuid_ref("product_id"),
    sa.Column("usage_type", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("usage_date", sa.DateTime(timezone=True), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("old_charge", MONEY, nullable=False),
    sa.Column("new_charge", MONEY, nullable=False),
    uuid_ref("old_price_id"),
    uuid_ref("new_price_id"),
    sa.Column("status", sa.Text, nullable=False),
    uuid_ref("invoice_id", nullable=True),
    # prepaid: charged online against a prepaid balance; paid already, never on an invoice
    sa.CheckConstraint("status IN ('rated', 'billed', 'prepaid')", name="status"),
    sa.CheckConstraint("(status = 'billed') = (invoice_id IS NOT NULL)", name="billed_has_invoice"),
    sa.CheckConstraint("price_id IS NOT NULL OR status = 'prepaid'", name="priced"),
    sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
    # The bill run's claim, as for usage.
    sa.Index("ix_usage_adjustment_account_status_date", "account_id", "status", "usage_date"),
)

# Partial records (a long call split by the switch) held until their call is complete, then merged into one
# usage record and deleted in that transaction (`mediation.correlation`). A part sent again is stored once:
# unique per (source, call, part number). `line` and `origin` say where it came in, for the quarantine.
usage_partial = sa.Table(
    "usage_partial",
    metadata,
    id_column(),
    created_at(),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("part_of", sa.Text, nullable=False),
    sa.Column("part", sa.Integer, nullable=False),
    sa.Column("last_part", sa.Boolean, nullable=False),
    sa.Column("record_key", sa.Text, nullable=False),
    sa.Column("service_id", sa.Text, nullable=False),
    sa.Column("usage_type", sa.Text, nullable=False),
    sa.Column("usage_date", sa.DateTime(timezone=True), nullable=False),
    sa.Column("quantity", QUANTITY, nullable=False),
    sa.Column("destination", sa.Text, nullable=True),
    sa.Column("line", sa.Integer, nullable=True),
    sa.Column("origin", sa.Text, nullable=False),
    sa.UniqueConstraint("source", "part_of", "part"),
    sa.CheckConstraint("part >= 1", name="part_from_one"),
    # Listing and flushing calls whose parts stopped coming.
    sa.Index("ix_usage_partial_created_at", "created_at"),
)

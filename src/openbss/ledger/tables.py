import sqlalchemy as sa

from openbss.db.metadata import MONEY, created_at, id_column, metadata, uuid_ref

# Rows are only ever inserted: corrections are new entries, never updates.
journal_entry = sa.Table(
    "journal_entry",
    metadata,
    id_column(),
    created_at(),
    # Gapless (taken from a number series under the chain lock): a missing seq means a deleted entry.
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
    sa.Column("source_type", sa.Text, nullable=False),
    uuid_ref("source_id"),
    uuid_ref("account_id", index=True),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.CHAR(64), nullable=False),
    sa.Column("hash", sa.CHAR(64), nullable=False),
    sa.UniqueConstraint("source_type", "source_id", name="uq_journal_entry_source"),
)

journal_line = sa.Table(
    "journal_line",
    metadata,
    id_column(),
    uuid_ref("entry_id", "journal_entry.id", index=True),
    uuid_ref("account_id"),
    sa.Column("gl_account", sa.Text, nullable=False),
    sa.Column("debit", MONEY, nullable=False),
    sa.Column("credit", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="one_side"),
    sa.Index("ix_journal_line_account_gl", "account_id", "gl_account"),
)

# The recurring-side charges whose service days were not over when posted (ledger.model.DeferredLine), one row per
# invoice or credit note line, net signed (a credit note's negative): the recognition runs read what is left to
# recognize from here alone. Written in the transaction of the document's journal entry, never changed.
revenue_schedule = sa.Table(
    "revenue_schedule",
    metadata,
    id_column(),
    sa.Column("source_type", sa.Text, nullable=False),
    uuid_ref("source_id"),
    uuid_ref("line_id"),
    uuid_ref("account_id"),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("net", MONEY, nullable=False),
    sa.Column("service_start", sa.Date, nullable=False),
    sa.Column("service_end", sa.Date, nullable=False),
    sa.CheckConstraint("service_end > service_start", name="service_days"),
    sa.UniqueConstraint("source_type", "line_id", name="uq_revenue_schedule_line"),
    # The runs read the lines still running at a date, per account.
    sa.Index("ix_revenue_schedule_end", "service_end", "account_id"),
)

"""Rendered bill documents and their deliveries (billing's own outbox for e-mail).

A bill document is an issued invoice, credit note or debit note (`kind`), named by its id (`document_id`: the
row of `invoice`, `credit_note` or `debit_note`; UUIDv7 ids never collide across them). There is no foreign key,
as one column cannot reference three tables: rows are written only by `bill_documents` and `delivery`, which
read the document first, and none of the three tables ever loses a row (issued documents are immutable).

`bill_document` keeps the bytes of each format of a document the first time it is rendered (for a download or
an e-mail), with their SHA-256: later downloads and retries serve those very bytes, and an operator can prove
what a customer received. The rows are append-only (a database trigger refuses UPDATE and DELETE).

`invoice_delivery` is one row per (document, channel), written in the transaction that issues the document, so
an issued document cannot miss its e-mail and is never queued twice; the worker sends it after commit and
records the outcome there (pending -> sent | failed | skipped, with attempts and the last error or the reason).
"""

import sqlalchemy as sa

from openbss.db.metadata import created_at, metadata, uuid_ref

KINDS = ("invoice", "creditNote", "debitNote")
_KIND_CHECK = "kind IN ('invoice', 'creditNote', 'debitNote')"
bill_document = sa.Table(
    "bill_document",
    metadata,
    uuid_ref("document_id"),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    uuid_ref("account_id"),
    created_at(),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("sha256", sa.CHAR(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("document_id", "format"),
    sa.CheckConstraint("format IN ('pdf', 'ubl', 'cii', 'facturx')", name="format"),
    sa.CheckConstraint(_KIND_CHECK, name="kind"),
)

invoice_delivery = sa.Table(
    "invoice_delivery",
    metadata,
    uuid_ref("document_id"),
    sa.Column("kind", sa.Text, nullable=False),
    # Only e-mail so far; the channel is in the key so a Peppol or print channel can be added beside it.
    sa.Column("channel", sa.Text, nullable=False),
    uuid_ref("account_id", index=True),
    created_at(),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("recipient", sa.Text),
    sa.Column("message_id", sa.Text),
    # The document formats attached (bill_document rows: their sha256 says which bytes went out).
    sa.Column("attachments", sa.ARRAY(sa.Text)),
    sa.Column("last_error", sa.Text),  # why the last attempt failed, or why the delivery was skipped
    sa.PrimaryKeyConstraint("document_id", "channel"),
    sa.CheckConstraint("channel IN ('email')", name="channel"),
    sa.CheckConstraint(_KIND_CHECK, name="kind"),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name="status"),
    sa.CheckConstraint("(status = 'pending') = (next_attempt_at IS NOT NULL)", name="pending_has_next_attempt"),
    # What workers poll: only what is still to be sent.
    sa.Index("ix_invoice_delivery_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
)

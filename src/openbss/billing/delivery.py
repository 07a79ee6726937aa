"""Bill document delivery by e-mail: the queue written at issue, and the bookkeeping of the worker that sends it.

Issuing an invoice (`service._bill`, the bill run) calls `queue_email(s)` in the same transaction, issuing a
credit or debit note (`correction_service`) `queue_note_email`: one `invoice_delivery` row per document
(UNIQUE (document, channel): a bill run run twice queues nothing twice), due at once. The
worker (`openbss.jobs.invoice_mail`) claims due rows with FOR UPDATE SKIP LOCKED, sends, and records the
outcome in the same short transaction:

- `sent`: the SMTP server accepted the message (recipient, Message-ID and the attached formats are kept;
  the attached bytes are the `bill_document` rows of those formats);
- `pending` again with `next_attempt_at` after a failure (back-off), until the last attempt, then `failed`
  with the error;
- `skipped` with the reason when there is nothing to send to: no SMTP server configured, or no e-mail
  address among the customer's contact media.

Exactly once in practice, at least once in theory: a worker that dies after the server accepted but
before its commit leaves the row pending, and the message goes out again with the same Message-ID
(`message_id`), by which a receiving system can drop the duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing.delivery_tables import invoice_delivery
from openbss.billing.model import Invoice
from openbss.billing.tables import credit_note, debit_note, invoice
from openbss.core.errors import InvalidValue
from openbss.db.bulk import insert_from_arrays
from openbss.db.uow import UnitOfWork

EMAIL = "email"
STATES = ("pending", "sent", "failed", "skipped")
NOTE_KINDS = ("creditNote", "debitNote")


@dataclass(frozen=True)
class Delivery:
    document_id: uuid.UUID  # the invoice's, credit note's or debit note's id
    kind: str  # invoice, creditNote, debitNote
    number: str
    account_id: uuid.UUID
    channel: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    recipient: str | None
    message_id: str | None
    attachments: tuple[str, ...]
    last_error: str | None


@dataclass(frozen=True)
class Attempt:
    """What one attempt led to. `status` is sent, pending (retry at `next_attempt_at`), failed or skipped."""

    status: str
    attempts: int
    next_attempt_at: datetime | None = None
    error: str | None = None  # the failure, or the reason for skipping
    recipient: str | None = None
    message_id: str | None = None
    attachments: Sequence[str] = ()


def queue_email(uow: UnitOfWork, inv: Invoice) -> None:
    """Queue the issued invoice's e-mail, due now (in the issuing transaction: it exists iff the invoice does)."""
    queue_emails(uow, [inv])


def queue_emails(uow: UnitOfWork, invoices: Sequence[Invoice]) -> None:
    """`queue_email` for many invoices in one statement (a bill run batch)."""
    _queue(uow, "invoice", [(inv.id, inv.account_id) for inv in invoices])


def queue_note_email(uow: UnitOfWork, kind: str, note_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Queue the e-mail of an issued credit note or debit note (`kind`), due now, in the issuing transaction."""
    if kind not in NOTE_KINDS:
        raise InvalidValue("kind", kind, f"must be one of {', '.join(NOTE_KINDS)}")
    _queue(uow, kind, [(note_id, account_id)])


def _queue(uow: UnitOfWork, kind: str, documents: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    if not documents:
        return
    now = uow.now()
    rows = [{"document_id": document_id, "kind": kind, "channel": EMAIL, "account_id": account_id,
             "created_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now}
            for document_id, account_id in documents]
    uow.conn.execute(insert_from_arrays(invoice_delivery, rows)
                     .on_conflict_do_nothing(index_elements=["document_id", "channel"]))


# The document's number from whichever of the three tables holds it: primary-key lookups, no union to scan.
_NUMBERED = (invoice_delivery
             .outerjoin(invoice, invoice.c.id == invoice_delivery.c.document_id)
             .outerjoin(credit_note, credit_note.c.id == invoice_delivery.c.document_id)
             .outerjoin(debit_note, debit_note.c.id == invoice_delivery.c.document_id))
_NUMBER = sa.func.coalesce(invoice.c.number, credit_note.c.number, debit_note.c.number).label("number")
_COLUMNS = (*invoice_delivery.c, _NUMBER)


def _delivery(row: sa.Row) -> Delivery:
    m = row._mapping
    return Delivery(
        document_id=m["document_id"], kind=m["kind"], number=m["number"], account_id=m["account_id"],
        channel=m["channel"], status=m["status"], attempts=m["attempts"], created_at=m["created_at"], next_attempt_at=m["next_attempt_at"],
        last_attempt_at=m["last_attempt_at"], sent_at=m["sent_at"], recipient=m["recipient"],
        message_id=m["message_id"], attachments=tuple(m["attachments"] or ()), last_error=m["last_error"],
    )


def claim_due_email(uow: UnitOfWork, now: datetime) -> Delivery | None:
    """Lock the next e-mail that is due; SKIP LOCKED lets any number of workers claim different ones. The row
    stays locked until the caller's transaction records the attempt."""
    row = uow.conn.execute(
        sa.select(*_COLUMNS)
        .select_from(_NUMBERED)
        .where(invoice_delivery.c.channel == EMAIL, invoice_delivery.c.status == "pending",
               invoice_delivery.c.next_attempt_at <= now)
        .order_by(invoice_delivery.c.next_attempt_at)
        .limit(1)
        .with_for_update(of=invoice_delivery, skip_locked=True)
    ).first()
    return None if row is None else _delivery(row)


def record_attempt(uow: UnitOfWork, delivery: Delivery, attempt: Attempt) -> None:
    if attempt.status not in STATES:
        raise InvalidValue("status", attempt.status, f"must be one of {', '.join(STATES)}")
    now = uow.now()
    uow.conn.execute(
        sa.update(invoice_delivery)
        .where(invoice_delivery.c.document_id == delivery.document_id, invoice_delivery.c.channel == delivery.channel)
        .values(status=attempt.status, attempts=attempt.attempts, next_attempt_at=attempt.next_attempt_at,
                last_attempt_at=now, last_error=attempt.error, sent_at=now if attempt.status == "sent" else None,
                recipient=attempt.recipient, message_id=attempt.message_id,
                attachments=list(attempt.attachments) or None)
    )
    if attempt.status != "pending":  # the end of the delivery; retries in between are on the row itself
        audit.record(uow, f"{delivery.kind}.email{attempt.status.capitalize()}", delivery.kind, delivery.document_id,
                     before={"status": delivery.status, "attempts": delivery.attempts},
                     after={"status": attempt.status, "attempts": attempt.attempts, "recipient": attempt.recipient,
                            "messageId": attempt.message_id, "attachments": list(attempt.attachments),
                            "error": attempt.error})


def list_deliveries(uow: UnitOfWork, *, status: str | None = None, limit: int = 100) -> list[Delivery]:
    """Deliveries, newest first, optionally in one status."""
    if status is not None and status not in STATES:
        raise InvalidValue("state", status, f"must be one of {', '.join(STATES)}")
    stmt = sa.select(*_COLUMNS).select_from(_NUMBERED)
    if status is not None:
        stmt = stmt.where(invoice_delivery.c.status == status)
    rows = uow.conn.execute(stmt.order_by(invoice_delivery.c.created_at.desc(), _NUMBER.desc()).limit(limit))
    return [_delivery(r) for r in rows]


def get_delivery(uow: UnitOfWork, document_id: uuid.UUID, channel: str = EMAIL) -> Delivery | None:
    """The delivery of an invoice's (or credit or debit note's) document on `channel`, if one is queued."""
    row = uow.conn.execute(
        sa.select(*_COLUMNS).select_from(_NUMBERED)
        .where(invoice_delivery.c.document_id == document_id, invoice_delivery.c.channel == channel)
    ).first()
    return None if row is None else _delivery(row)

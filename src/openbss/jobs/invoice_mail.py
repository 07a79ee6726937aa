"""E-mailing issued invoices, credit notes and debit notes: the worker's side of billing's delivery queue
(`billing.delivery`).

Run by the outbox relay (`jobs.relay.deliver_due` calls `send_due` after the event deliveries of each round),
so `openbss worker` sends invoices as the bill run commits (its CustomerBillCreateEvents wake the relay) and
`openbss worker --once` sends what is due. Each e-mail is claimed, sent and recorded in one short transaction
holding the delivery's row lock (FOR UPDATE SKIP LOCKED): workers on many machines never send one twice at
once. The message (`billing.invoice_email`) goes to the customer's first e-mail contact medium, in the
document's language, with the PDF attached, and the UBL 2.1 e-invoice as well when the buyer is a business
(a consumer's mail client has no use for XML; a business can book it). The attached bytes are the stored
`bill_document` rows (`billing.bill_documents`): the same on every retry and provable afterwards.

Failures (the server unreachable or refusing, 4xx or 5xx, a document that cannot be rendered yet, e.g. no
seller profile) are retried with capped exponential back-off and jitter (`MAIL_RETRY`: 1 minute doubling to
an hour, 10 attempts over 2 to 4 hours), then the delivery is `failed` with the last error. A 5xx is retried
too: a relay refusing for its own configuration (530 authentication required) would otherwise fail every
invoice of the run at once. No SMTP server configured (OPENBSS_SMTP_HOST unset) or no address: `skipped`, with why.
"""

from __future__ import annotations

import random
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa

from openbss.billing import bill_documents, delivery, invoice_email
from openbss.billing.delivery import Attempt
from openbss.billing.documents.pdf import printable_of
from openbss.config import SmtpSettings
from openbss.core.clock import Clock
from openbss.core.errors import DomainError
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.events.model import RetryPolicy, outcome

MAIL_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1), max_attempts=10)
ERROR_EXCERPT = 300  # characters of an error kept on the delivery
NO_SMTP = "no SMTP server is configured (OPENBSS_SMTP_HOST is not set)"

Transport = Callable[[SmtpSettings, EmailMessage], None]


@dataclass(frozen=True)
class MailReport:
    sent: int = 0
    retrying: int = 0  # failed this time, scheduled again
    failed: int = 0  # failed for the last time: given up
    skipped: int = 0  # nothing to send to (no SMTP server, no address)


def smtp_send(smtp: SmtpSettings, message: EmailMessage) -> None:
    """Hand `message` to the configured server (STARTTLS with certificate checks, then login when a user is set);
    returns once the server accepted it, raises smtplib.SMTPException or OSError otherwise."""
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        client.send_message(message, from_addr=smtp.sender)


def _smtp_error(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipient refused: " + "; ".join(
            f"{address}: {code} {reply.decode(errors='replace')}" for address, (code, reply) in exc.recipients.items())
    return f"{type(exc).__name__}: {exc}"


def send_due(engine: sa.Engine, *, clock: Clock, smtp: SmtpSettings | None, batch: int = 100,
             policy: RetryPolicy = MAIL_RETRY, jitter: Callable[[], float] = random.random,
             transport: Transport = smtp_send) -> MailReport:
    """Send invoice e-mails that are due now, one transaction each, until `batch` were attempted or none is due
    (skipping costs no SMTP round trip and does not count against `batch`)."""
    counts = dict.fromkeys(("sent", "pending", "failed", "skipped"), 0)
    attempted = 0
    while attempted < batch:
        with unit_of_work(engine, actor="worker", clock=clock) as uow:
            due = delivery.claim_due_email(uow, uow.now())
            if due is None:
                break
            attempt = _attempt(engine, uow, due, smtp, policy, jitter(), transport)
            delivery.record_attempt(uow, due, attempt)
        counts[attempt.status] += 1
        attempted += attempt.status != "skipped"
    return MailReport(counts["sent"], counts["pending"], counts["failed"], counts["skipped"])


def _attempt(engine: sa.Engine, uow: UnitOfWork, due: delivery.Delivery, smtp: SmtpSettings | None,
             policy: RetryPolicy, jitter: float, transport: Transport) -> Attempt:
    if smtp is None:
        return Attempt("skipped", due.attempts, error=NO_SMTP)
    recipient = message_id = None
    formats: list[str] = []
    try:
        # the document and its language (the PDF itself comes from the stored documents below)
        printable = printable_of(uow, due.document_id, kind=due.kind, call_detail_limit=0)
        doc = printable.doc
        recipient = doc.buyer.email
        if not recipient:
            return Attempt("skipped", due.attempts, error=f"no e-mail address: the customer of billing account "
                                                          f"{doc.buyer.account_number} has no contact medium of "
                                                          "mediumType 'email'")
        formats = ["pdf", "ubl"] if doc.buyer.business else ["pdf"]
        stored = [bill_documents.document(engine, due.document_id, fmt, clock=uow.clock, actor=uow.actor,
                                          kind=due.kind) for fmt in formats]
        message = invoice_email.compose(doc, printable.language, sender=smtp.sender, recipient=recipient,
                                        at=uow.now(), attachments=[(d.file_name, d.media_type, d.content)
                                                                   for d in stored])
        message_id = message["Message-ID"]
        transport(smtp, message)
        error = None
    except (smtplib.SMTPException, OSError) as exc:
        error = _smtp_error(exc)
    except DomainError as exc:  # e.g. no seller profile yet: retried, the operator may set one meanwhile
        error = exc.message
    except Exception as exc:  # noqa: BLE001 - a document that fails to render is retried with back-off and
        # recorded, instead of stopping the worker or being claimed again at once, round after round
        error = f"{type(exc).__name__}: {exc}"
    result = outcome(policy, due.attempts, uow.now(), error and error[:ERROR_EXCERPT], jitter)
    return Attempt("sent" if result.status == "delivered" else result.status, result.attempts,
                   result.next_attempt_at, result.error, recipient, message_id,
                   formats if result.status == "delivered" else ())

"""Collections in the background: the dunning run and the reminder e-mails, both in `jobs.schedule.SCHEDULE`.

`run(engine, at)` (also `openbss dunning run`) takes every account that owes something or has an open case, each in
its own transaction (`service.process_account`): one account's failure is reported and the others go on. Steps are
taken once per case (UNIQUE (case, step)), so running again the same day does nothing new. Cases handed over to a
collection agency that day are written to `<handover dir>/collection-agency-<day>.csv`, rewritten whole from the
database on every run (under a temporary name, then renamed): the file of a day is the same however often it runs.

`send_due` sends the reminders the run queued, one transaction each holding the row lock (FOR UPDATE SKIP LOCKED),
through the SMTP helper invoices use (`jobs.invoice_mail.smtp_send`), with the same back-off (`MAIL_RETRY`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

from openbss.billing.documents.context import document_of
from openbss.billing.documents.export import write_file
from openbss.config import SmtpSettings, load_settings
from openbss.core.clock import Clock
from openbss.core.errors import DomainError
from openbss.core.ids import parse_id
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.dunning import notices, reminder_email, service
from openbss.dunning.model import handover_csv
from openbss.events.model import RetryPolicy, outcome
from openbss.jobs.invoice_mail import ERROR_EXCERPT, MAIL_RETRY, NO_SMTP, MailReport, Transport, smtp_send
from openbss.jobs.invoice_mail import _smtp_error as smtp_error


@dataclass
class RunReport:
    accounts: int = 0
    outcomes: list[service.Outcome] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (account id, why)
    handover_files: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        result = {"accounts": self.accounts, "errors": len(self.errors)}
        for o in self.outcomes:
            result[o.what] = result.get(o.what, 0) + 1
        return result


def handover_dir() -> Path:
    return load_settings().home / "collections"


def run(engine: sa.Engine, at: datetime, *, clock: Clock, handover: Path | None = None) -> RunReport:
    """Collections for the day `at` falls on in each account's zone (see the module docstring)."""
    report = RunReport()
    with unit_of_work(engine, actor="dunning", clock=clock) as uow:
        accounts = service.candidates(uow)
    days: set[date] = set()
    for account_id in accounts:
        report.accounts += 1
        try:
            with unit_of_work(engine, actor="dunning", clock=clock) as uow:
                found = service.process_account(uow, account_id, at)
        except DomainError as exc:  # refused for this account (e.g. no seller profile for a debit note): go on
            report.errors.append((str(account_id), exc.message))
            continue
        except Exception as exc:  # noqa: BLE001 - nothing of this account was committed; one account must not
            # stop every other account's collections day after day: reported (exit 1), the others go on
            report.errors.append((str(account_id), f"{type(exc).__name__}: {exc}"))
            continue
        report.outcomes += found
        days |= {o.day for o in found if o.what == "collectionAgency"}  # the account's local day
    report.handover_files = _write_handover(engine, clock, handover or handover_dir(), days)
    return report


def _write_handover(engine: sa.Engine, clock: Clock, directory: Path, days: set[date]) -> list[Path]:
    written = []
    for day in sorted(days):
        with unit_of_work(engine, actor="dunning", clock=clock) as uow:
            rows = service.handover_rows(uow, day)
        path = directory / f"collection-agency-{day.isoformat()}.csv"
        directory.mkdir(parents=True, exist_ok=True)
        write_file(path, handover_csv(rows).encode())
        written.append(path)
    return written


def send_due(engine: sa.Engine, *, clock: Clock, smtp: SmtpSettings | None, batch: int = 100,
             policy: RetryPolicy = MAIL_RETRY, jitter: Callable[[], float] = random.random,
             transport: Transport = smtp_send) -> MailReport:
    """Send reminders due now, one transaction each, until `batch` were attempted or none is due."""
    counts = dict.fromkeys(("sent", "pending", "failed", "skipped"), 0)
    attempted = 0
    while attempted < batch:
        with unit_of_work(engine, actor="worker", clock=clock) as uow:
            due = notices.claim_due(uow, uow.now())
            if due is None:
                break
            status = _attempt(uow, due, smtp, policy, jitter(), transport)
        counts[status] += 1
        attempted += status != "skipped"
    return MailReport(counts["sent"], counts["pending"], counts["failed"], counts["skipped"])


def _attempt(uow: UnitOfWork, due: notices.Notice, smtp: SmtpSettings | None, policy: RetryPolicy, jitter: float,
             transport: Transport) -> str:
    def skip(reason: str) -> str:
        notices.record_attempt(uow, due, "skipped", due.attempts, None, reason, None, None)
        return "skipped"

    if smtp is None:
        return skip(NO_SMTP)
    if notices.settled(uow, due):
        return skip("the dunning case was settled before the reminder went out")
    recipient = message_id = None
    try:
        doc = document_of(uow, parse_id(due.details["invoiceId"]))  # the buyer as invoices name them, the seller
        recipient = doc.buyer.email
        if not recipient:
            return skip(f"no e-mail address: the customer of billing account {doc.buyer.account_number} has no "
                        "contact medium of mediumType 'email'")
        r = notices.reminder(uow, due, doc.buyer.name, doc.seller.trading_name or doc.seller.name,
                             doc.buyer.address.country)
        message = reminder_email.compose(r, sender=smtp.sender, recipient=recipient, at=uow.now())
        message_id = message["Message-ID"]
        transport(smtp, message)
        error = None
    except Exception as exc:  # noqa: BLE001 - SMTP refusals, an unreachable server, no seller profile yet: retried
        # with back-off and recorded, instead of stopping the worker
        error = smtp_error(exc) if not isinstance(exc, DomainError) else exc.message
    result = outcome(policy, due.attempts, uow.now(), error and error[:ERROR_EXCERPT], jitter)
    status = "sent" if result.status == "delivered" else result.status
    notices.record_attempt(uow, due, status, result.attempts, result.next_attempt_at, result.error, recipient,
                           message_id)
    return status


def scheduled_run(uow: UnitOfWork, at: datetime) -> dict[str, int]:
    """The scheduler's entry (jobs.schedule): the job's unit of work holds its lock; accounts get their own."""
    return run(uow.conn.engine, at, clock=uow.clock).counts()


def scheduled_send(uow: UnitOfWork, at: datetime) -> dict[str, int]:
    report = send_due(uow.conn.engine, clock=uow.clock, smtp=load_settings().smtp)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed, "skipped": report.skipped}

"""Reminder e-mails: dunning's outbox (`dunning_notice`, one row per reminder step taken, written in the run's
transaction) and the bookkeeping of the worker that sends them (`dunning.jobs.send_due`).

A worker claims a due row with FOR UPDATE SKIP LOCKED and records the attempt in the same short transaction:
sent, pending again after a failure (back-off), failed after the last attempt, or skipped with the reason (no SMTP
server, no e-mail address, the case was settled before the reminder went out)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing.documents.i18n import document_language
from openbss.db.uow import UnitOfWork
from openbss.dunning import service
from openbss.dunning.reminder_email import Reminder, lines_of
from openbss.dunning.tables import dunning_action, dunning_notice
from openbss.party import service as party


@dataclass(frozen=True)
class Notice:
    action_id: uuid.UUID
    case_id: uuid.UUID
    account_id: uuid.UUID
    status: str
    attempts: int
    currency: str
    details: dict
    recipient: str | None = None
    message_id: str | None = None
    last_error: str | None = None


_COLUMNS = (*dunning_notice.c, dunning_action.c.case_id, dunning_action.c.currency, dunning_action.c.details)


def _notice(row: sa.Row) -> Notice:
    return Notice(row.action_id, row.case_id, row.account_id, row.status, row.attempts, row.currency, row.details,
                  row.recipient, row.message_id, row.last_error)


def claim_due(uow: UnitOfWork, now: datetime) -> Notice | None:
    """Lock the next reminder due; SKIP LOCKED lets any number of workers claim different ones."""
    row = uow.conn.execute(
        sa.select(*_COLUMNS).join(dunning_action, dunning_action.c.id == dunning_notice.c.action_id)
        .where(dunning_notice.c.status == "pending", dunning_notice.c.next_attempt_at <= now)
        .order_by(dunning_notice.c.next_attempt_at).limit(1)
        .with_for_update(of=dunning_notice, skip_locked=True)
    ).first()
    return None if row is None else _notice(row)


def get_notice(uow: UnitOfWork, action_id: uuid.UUID) -> Notice | None:
    row = uow.conn.execute(sa.select(*_COLUMNS).join(dunning_action, dunning_action.c.id == dunning_notice.c.action_id)
                           .where(dunning_notice.c.action_id == action_id)).first()
    return None if row is None else _notice(row)


def settled(uow: UnitOfWork, notice: Notice) -> bool:
    """The case closed before its reminder went out (paid or written off): sending it would dun a settled debt."""
    return service.get_case(uow, notice.case_id).state == "closed"


def reminder(uow: UnitOfWork, notice: Notice, customer_name: str, seller_name: str, country: str | None) -> Reminder:
    account = party.get_billing_account(uow, notice.account_id)
    characteristics = party.get_customer(uow, account.customer_id).characteristic if account.customer_id else []
    return Reminder(notice.action_id, customer_name, seller_name, document_language(country, characteristics),
                    country, account.time_zone, lines_of(notice.details["documents"], notice.currency))


def record_attempt(uow: UnitOfWork, notice: Notice, status: str, attempts: int, next_attempt_at: datetime | None,
                   error: str | None, recipient: str | None, message_id: str | None) -> None:
    now = uow.now()
    uow.conn.execute(sa.update(dunning_notice).where(dunning_notice.c.action_id == notice.action_id).values(
        status=status, attempts=attempts, next_attempt_at=next_attempt_at, last_attempt_at=now, last_error=error,
        sent_at=now if status == "sent" else None, recipient=recipient, message_id=message_id))
    if status != "pending":
        audit.record(uow, f"dunningNotice.{status}", "dunningNotice", notice.action_id,
                     before={"status": notice.status, "attempts": notice.attempts},
                     after={"status": status, "attempts": attempts, "recipient": recipient, "error": error})

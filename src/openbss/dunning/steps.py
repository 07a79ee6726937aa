"""Taking one step of a dunning plan for a case: the step's effect and its `dunning_action` row, in the run's
transaction (UNIQUE (case, step): once per case). Each returns a short text for the run's table.

- reminder: an e-mail queued in `dunning_notice` (sent after commit by `dunning.jobs.send_due`);
- lateFee: a debit note on the oldest overdue invoice (`billing.correction_service.issue_debit_note`: numbered,
  taxed, posted to the ledger and collected like an invoice; an EN 16931 document, type 383);
- suspend / terminate: the products of the account and of the accounts it pays for, through ordering's
  `suspend_product` (charges go on: barring for non-payment does not end the contract) / `cancel_product`; each
  emits the ProductStateChangeEvent provisioning acts on, and dunning records what it did (to restore on payment);
- writeOff: the collectible overdue amounts leave AR for bad debt (journal entry `writeOff`), recorded per document;
- collectionAgency: the case's accounts and amounts go into that day's hand-over file (`service.handover_rows`).
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from openbss.billing import correction_service
from openbss.billing.corrections import DebitItem
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork
from openbss.dunning.model import (
    COLLECTION_AGENCY,
    LATE_FEE,
    REMINDER,
    SUSPEND,
    TERMINATE,
    WRITE_OFF,
    DunningStep,
    Exposure,
    WriteOffPosting,
)
from openbss.dunning.tables import dunning_action, dunning_notice, dunning_product, dunning_write_off
from openbss.ledger import service as ledger
from openbss.ordering import service as ordering
from openbss.party import service as party
from openbss.party.model import BillingAccount

LATE_FEE_TEXT = "Late payment fee"
ALIVE = ("active", "suspended", "pendingTerminate")


def _documents(exp: Exposure) -> list[dict]:
    return [{"id": str(i.document_id), "number": i.number, "dueDate": i.due_date.isoformat(),
             "collectible": str(i.collectible.amount)} for i in exp.collectible_items]


def _paid_for(uow: UnitOfWork, account: BillingAccount) -> list[uuid.UUID]:
    """The account and the accounts whose charges it pays ("parent pays" children, recursively)."""
    ids = [account.id]
    for child in party.account_children(uow, account.id):
        if child.bill_to_parent:
            ids += _paid_for(uow, child)
    return ids


def _products(uow: UnitOfWork, account: BillingAccount, statuses: tuple[str, ...]) -> list:
    return [p for a in _paid_for(uow, account) for p in ordering.products_for_account(uow, a) if p.status in statuses]


def _suspend(uow: UnitOfWork, case_id: uuid.UUID, account: BillingAccount) -> dict:
    done = []
    for p in _products(uow, account, ("active",)):
        ordering.suspend_product(uow, p.id, charge_during_suspension=True, reason=f"dunning case {case_id}")
        uow.conn.execute(pg_insert(dunning_product).values(
            case_id=case_id, product_id=p.id, account_id=p.account_id, suspended_at=uow.now()
        ).on_conflict_do_update(index_elements=["case_id", "product_id"], set_={"suspended_at": uow.now()}))
        done.append(p.service_id)
    return {"products": done}


def _terminate(uow: UnitOfWork, case_id: uuid.UUID, account: BillingAccount) -> dict:
    done = []
    for p in _products(uow, account, ALIVE):
        ordering.cancel_product(uow, p.id, reason=f"dunning case {case_id}: not paid")
        uow.conn.execute(pg_insert(dunning_product).values(
            case_id=case_id, product_id=p.id, account_id=p.account_id, terminated_at=uow.now()
        ).on_conflict_do_update(index_elements=["case_id", "product_id"], set_={"terminated_at": uow.now()}))
        done.append(p.service_id)
    return {"products": done}


def _late_fee(uow: UnitOfWork, step: DunningStep, exp: Exposure) -> dict:
    oldest = exp.collectible_items[0]
    note = correction_service.issue_debit_note(
        uow, oldest.invoice_id, [DebitItem(LATE_FEE_TEXT, step.fee.amount, step.tax_category)],
        f"Late payment: {exp.collectible} overdue since {oldest.due_date.isoformat()}")
    return {"debitNoteId": str(note.id), "debitNote": note.number, "gross": str(note.gross_total.rounded())}


def _handover(uow: UnitOfWork, account: BillingAccount, exp: Exposure) -> dict:
    name = party.get_customer(uow, account.customer_id).name if account.customer_id else account.name
    return {"accountNumber": account.number, "customerName": name,
            "oldestDueDate": exp.collectible_items[0].due_date.isoformat()}


def take(uow: UnitOfWork, case_id: uuid.UUID, account: BillingAccount, step_no: int, step: DunningStep,
         exp: Exposure, today: date) -> str:
    """Take `step` (number `step_no` of the case's plan) now; returns what was done, in a few words."""
    action_id = new_id()  # the journal entry of a write-off is posted under it, before its row is written
    details: dict = {"documents": _documents(exp)}
    if step.action == REMINDER:
        details["invoiceId"] = str(exp.collectible_items[0].invoice_id)
    elif step.action == LATE_FEE:
        details |= _late_fee(uow, step, exp)
    elif step.action == SUSPEND:
        details |= _suspend(uow, case_id, account)
    elif step.action == TERMINATE:
        details |= _terminate(uow, case_id, account)
    elif step.action == COLLECTION_AGENCY:
        details |= _handover(uow, account, exp)
    elif step.action == WRITE_OFF:
        posted = ledger.post(uow, WriteOffPosting(action_id, account.id, uow.now(), exp.collectible,
                                                  tuple(i.number for i in exp.collectible_items)).entry())
        details["journalEntryId"] = str(posted.id)
    uow.conn.execute(sa.insert(dunning_action).values(
        id=action_id, created_at=uow.now(), case_id=case_id, account_id=account.id, step_no=step_no,
        action=step.action, taken_on=today, amount=exp.collectible.amount, currency=exp.currency, details=details))
    if step.action == REMINDER:
        uow.conn.execute(sa.insert(dunning_notice).values(
            action_id=action_id, account_id=account.id, created_at=uow.now(), status="pending", attempts=0,
            next_attempt_at=uow.now()))
    elif step.action == WRITE_OFF:
        uow.conn.execute(sa.insert(dunning_write_off), [
            {"action_id": action_id, "document_id": i.document_id, "account_id": account.id,
             "amount": i.collectible.amount, "currency": exp.currency} for i in exp.collectible_items])
    return _summary(step, details)


def _summary(step: DunningStep, details: dict) -> str:
    if step.action == LATE_FEE:
        return f"debit note {details['debitNote']} ({details['gross']})"  # gross as "5.95 EUR"
    if step.action in (SUSPEND, TERMINATE):
        return ", ".join(details["products"]) or "no live products"
    if step.action == WRITE_OFF:
        return f"journal entry {details['journalEntryId']}"
    return ", ".join(d["number"] for d in details["documents"])

"""What the payments domain needs of bills beyond `open_invoices`/`apply_payment` (billing.service): un-applying a
payment that was refunded, reversed, charged back or returned (the bill reopens), and which open bills fall due.

Only `amount_paid` and `state` change, as the immutability triggers of issued documents allow."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing.model import OPEN_STATES
from openbss.billing.service import BILL_API
from openbss.billing.tables import debit_note, invoice
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork

_DOCUMENTS = ((invoice, "invoice"), (debit_note, "debitNote"))


def release_payment(uow: UnitOfWork, document_id: uuid.UUID, amount: Money) -> None:
    """Take back `amount` of a payment applied to the invoice or debit note: what is left to pay grows again and a
    settled bill reopens (partiallyPaid, or sent when nothing settles it any more)."""
    table, kind, row = _locked(uow, document_id)
    if amount.currency != row.currency:
        raise InvalidValue("amount.unit", amount.currency, f"does not match bill {row.number} in {row.currency}")
    if amount.amount <= 0:
        raise InvalidValue("amount.value", amount.amount, "must be greater than 0")
    paid_before = Money(row.amount_paid, row.currency)
    if amount > paid_before:
        raise Conflict(f"releasing {amount} exceeds the {paid_before} settled on bill {row.number}")
    paid = paid_before - amount
    state = "sent" if paid.is_zero() else "partiallyPaid"
    uow.conn.execute(sa.update(table).where(table.c.id == document_id).values(amount_paid=paid.amount, state=state))
    if state != row.state and kind == "invoice":
        uow.emit(ResourceEvent.state_changed(BILL_API, "customerBill", document_id))
    audit.record(
        uow, f"{kind}.paymentReleased", kind, document_id,
        before={"amountPaid": paid_before.amount, "state": row.state},
        after={"amountPaid": paid.amount, "state": state},
    )


def _locked(uow: UnitOfWork, document_id: uuid.UUID) -> tuple[sa.Table, str, sa.Row]:
    for table, kind in _DOCUMENTS:
        row = uow.conn.execute(sa.select(table).where(table.c.id == document_id).with_for_update()).first()
        if row is not None:
            return table, kind, row
    raise NotFound("customerBill", str(document_id))


def accounts_with_bills_due(uow: UnitOfWork, due_by: date) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Open invoices and debit notes due on or before `due_by`, by account (not locked: the caller locks the
    account and re-reads them with `open_invoices`, which also leaves disputed amounts out)."""
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for table, _ in _DOCUMENTS:
        rows = uow.conn.execute(
            sa.select(table.c.account_id, table.c.id)
            .where(table.c.state.in_(OPEN_STATES), table.c.due_date <= due_by)
            .order_by(table.c.account_id, table.c.id)
        )
        for account_id, document_id in rows:
            found.setdefault(account_id, set()).add(document_id)
    return found

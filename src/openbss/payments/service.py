"""Use cases for payments: record one (allocate to open invoices, post to the ledger), read them. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import service as billing
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.ledger.model import PaymentPosting
from openbss.party import service as party
from openbss.payments.model import STATUS_DONE, Allocation, Payment, allocate, check_amount, check_method
from openbss.payments.tables import payment, payment_allocation

FILTERS = ("billingAccountId", "status")
# The API's base-path name, as TMF688 events name it (TMF676).
PAYMENT_API = "paymentManagement"


@dataclass(frozen=True)
class NewPayment:
    account_id: uuid.UUID
    amount: Money
    method: str = "bankTransfer"
    received_at: datetime | None = None
    external_ref: str | None = None
    idempotency_key: str | None = None
    invoice_id: uuid.UUID | None = None


def record_payment(uow: UnitOfWork, new: NewPayment) -> Payment:
    """Record money received, allocate it to the account's open invoices and post it to the ledger.

    The same idempotency key again returns the payment already recorded (nothing is allocated twice).
    """
    check_method(new.method)
    if new.idempotency_key is not None:
        # Serializes two deliveries of the same bank line before either looks for the other.
        uow.advisory_lock("payment-key", new.idempotency_key)
        existing = _by_key(uow, new.idempotency_key)
        if existing is not None:
            if (existing.account_id, existing.amount) != (new.account_id, new.amount):
                raise Conflict(
                    f"idempotency key {new.idempotency_key!r} was already used for payment {existing.id} "
                    f"of {existing.amount} to account {existing.account_id}"
                )
            return existing
    account = party.get_billing_account(uow, new.account_id, field="account.id")
    amount = check_amount(new.amount, account.currency)
    # The lock billing takes: a bill run and a payment never interleave on one account's invoices.
    uow.advisory_lock("account", account.id)
    open_invoices = billing.open_invoices(uow, account.id)
    if new.invoice_id is not None and new.invoice_id not in {i.id for i in open_invoices}:
        raise InvalidValue("paymentItem.item.id", str(new.invoice_id), f"is not an open bill of account {account.id}")
    allocations, unallocated = allocate(amount, open_invoices, new.invoice_id)
    p = Payment(
        id=new_id(),
        account_id=account.id,
        amount=amount,
        method=new.method,
        received_at=new.received_at or uow.now(),
        external_ref=new.external_ref,
        idempotency_key=new.idempotency_key,
        allocations=allocations,
        unallocated=unallocated,
        created_at=uow.now(),
    )
    uow.conn.execute(sa.insert(payment).values(**_row(p)))
    for a in allocations:
        uow.conn.execute(
            sa.insert(payment_allocation).values(
                id=new_id(), payment_id=p.id, account_id=p.account_id, invoice_id=a.invoice_id, amount=a.amount.amount
            )
        )
        billing.apply_payment(uow, a.invoice_id, a.amount)
    ledger.post_payment(uow, PaymentPosting(p.id, p.account_id, p.received_at, amount.currency, amount.amount))
    audit.record(uow, "payment.recorded", "payment", p.id, after=asdict(p))
    uow.emit(ResourceEvent.created(PAYMENT_API, "payment", p.id))
    return p


def get_payment(uow: UnitOfWork, payment_id: uuid.UUID) -> Payment:
    row = uow.conn.execute(sa.select(payment).where(payment.c.id == payment_id)).first()
    if row is None:
        raise NotFound("payment", str(payment_id))
    return _payments(uow, [row])[0]


def list_payments(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Payment], int]:
    conditions = []
    if "billingAccountId" in filters:
        conditions.append(payment.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    if "status" in filters and filters["status"] != STATUS_DONE:
        conditions.append(sa.false())
    rows, total = paged(uow.conn, sa.select(payment).where(*conditions), offset, limit, payment.c.id)
    return _payments(uow, rows), total


def _by_key(uow: UnitOfWork, key: str) -> Payment | None:
    row = uow.conn.execute(sa.select(payment).where(payment.c.idempotency_key == key)).first()
    return None if row is None else _payments(uow, [row])[0]


def _row(p: Payment) -> dict:
    return {
        "id": p.id,
        "created_at": p.created_at,
        "account_id": p.account_id,
        "amount": p.amount.amount,
        "currency": p.amount.currency,
        "method": p.method,
        "received_at": p.received_at,
        "external_ref": p.external_ref,
        "idempotency_key": p.idempotency_key,
        "unallocated": p.unallocated.amount,
    }


def _payments(uow: UnitOfWork, rows: list[sa.Row]) -> list[Payment]:
    """Payments of `rows` with their allocations, read in one query (allocation order = id order = allocation order)."""
    allocations: dict[uuid.UUID, list[Allocation]] = {r.id: [] for r in rows}
    currency = {r.id: r.currency for r in rows}
    for a in uow.conn.execute(
        sa.select(payment_allocation)
        .where(payment_allocation.c.payment_id.in_(list(allocations)))
        .order_by(payment_allocation.c.id)
    ):
        allocations[a.payment_id].append(Allocation(a.invoice_id, Money(a.amount, currency[a.payment_id])))
    return [
        Payment(
            id=r.id,
            account_id=r.account_id,
            amount=Money(r.amount, r.currency),
            method=r.method,
            received_at=r.received_at,
            external_ref=r.external_ref,
            idempotency_key=r.idempotency_key,
            allocations=tuple(allocations[r.id]),
            unallocated=Money(r.unallocated, r.currency),
            created_at=r.created_at,
        )
        for r in rows
    ]

"""Use cases for payments: record one (allocate to open invoices, post to the ledger), spend an account's credit
balance on its open invoices, read them. Never commits.

Everything that changes an account's payments or allocations takes the advisory lock ("account", id) first, the
lock billing takes too: a bill run, a payment, a refund and a reversal never interleave on one account.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from openbss.audit import service as audit
from openbss.billing import service as billing
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money, total
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.party import service as party
from openbss.payments.model import (
    STATUS_DONE,
    STATUS_FAILED,
    STATUSES,
    Allocation,
    Payment,
    allocate,
    check_amount,
    check_method,
    receipt_entry,
)
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
    payment_method_id: uuid.UUID | None = None
    # TMF676 paymentItem: bills to pay first, in order, each with the amount meant for it (None: what is left on it).
    items: tuple[tuple[uuid.UUID, Money | None], ...] = ()


def record_payment(uow: UnitOfWork, new: NewPayment, *, in_transit: bool = False, status: str = STATUS_DONE,
                   gateway: str | None = None, status_reason: str | None = None,
                   sepa: tuple[uuid.UUID, str] | None = None, only: Iterable[uuid.UUID] | None = None,
                   payment_id: uuid.UUID | None = None) -> Payment:
    """Record money received, allocate it to the account's open invoices and post it to the ledger.

    `in_transit`: collected (direct debit, card) but not on the bank statement yet. `status` "failed": a declined
    gateway attempt, kept as the trace of the try, allocating and posting nothing. `sepa`: (batch id, FRST/RCUR)
    of a direct debit collection; `only`: allocate to these bills only (what a direct debit collects).
    The same idempotency key again returns the payment already recorded (nothing is allocated twice).
    """
    check_method(new.method)
    if new.idempotency_key is not None:
        existing = existing_by_key(uow, new.idempotency_key, new.account_id, new.amount)
        if existing is not None:
            return existing
    account = party.get_billing_account(uow, new.account_id, field="account.id")
    amount = check_amount(new.amount, account.currency)
    # The lock billing takes: a bill run and a payment never interleave on one account's invoices.
    uow.advisory_lock("account", account.id)
    allocations: tuple[Allocation, ...] = ()
    unallocated = amount
    if status != STATUS_FAILED:
        open_invoices = billing.open_invoices(uow, account.id)
        named = _named_items(new, amount, {i.id for i in open_invoices}, account.id)
        if only is not None:
            wanted = set(only)
            open_invoices = [i for i in open_invoices if i.id in wanted]
        allocations, unallocated = allocate(amount, open_invoices, named=named)
    p = Payment(
        id=payment_id or new_id(), account_id=account.id, amount=amount, method=new.method,
        received_at=new.received_at or uow.now(), external_ref=new.external_ref,
        idempotency_key=new.idempotency_key, allocations=allocations,
        # A declined attempt received nothing: no credit to hold either (0 left over, 0 allocated).
        unallocated=unallocated if status != STATUS_FAILED else Money.of(0, amount.currency),
        created_at=uow.now(), status=status, status_reason=status_reason,
        payment_method_id=new.payment_method_id, in_transit=in_transit, gateway=gateway,
    )
    uow.conn.execute(sa.insert(payment).values(
        **_row(p), sepa_batch_id=sepa[0] if sepa else None, sequence_type=sepa[1] if sepa else None,
    ))
    for a in allocations:
        uow.conn.execute(sa.insert(payment_allocation).values(
            id=new_id(), payment_id=p.id, account_id=p.account_id, invoice_id=a.invoice_id, amount=a.amount.amount
        ))
        billing.apply_payment(uow, a.invoice_id, a.amount)
    if status != STATUS_FAILED:
        ledger.post(uow, receipt_entry(p))
    audit.record(uow, "payment.recorded", "payment", p.id, after=asdict(p))
    uow.emit(ResourceEvent.created(PAYMENT_API, "payment", p.id))
    return p


def _named_items(new: NewPayment, amount: Money, open_ids: set[uuid.UUID],
                 account_id: uuid.UUID) -> tuple[tuple[uuid.UUID, Money | None], ...]:
    """The bills the payer named, checked: each an open bill of the account, named once, with an amount (if any)
    positive, in the payment's currency and together not more than the payment."""
    named = new.items or (((new.invoice_id, None),) if new.invoice_id is not None else ())
    seen: set[uuid.UUID] = set()
    for n, (invoice_id, part) in enumerate(named):
        field = "paymentItem.item.id" if len(named) == 1 else f"paymentItem[{n}].item.id"
        if invoice_id not in open_ids:
            raise InvalidValue(field, str(invoice_id), f"is not an open bill of account {account_id}")
        if invoice_id in seen:
            raise InvalidValue(field, str(invoice_id), "is named twice")
        seen.add(invoice_id)
        if part is not None:
            check_amount(part, amount.currency, field=f"paymentItem[{n}].amount")
    parts = [part for _, part in named if part is not None]
    if parts and total(parts, amount.currency) > amount:
        raise InvalidValue("paymentItem.amount", str(total(parts, amount.currency).amount),
                           f"adds up to more than the payment's {amount}")
    return tuple(named)


def existing_by_key(uow: UnitOfWork, key: str, account_id: uuid.UUID, amount: Money) -> Payment | None:
    """The payment already recorded under `key` (after serializing on the key), or a Conflict when the key was used
    for another account or amount."""
    # Serializes two deliveries of the same bank line before either looks for the other.
    uow.advisory_lock("payment-key", key)
    row = uow.conn.execute(sa.select(payment).where(payment.c.idempotency_key == key)).first()
    if row is None:
        return None
    existing = read_payments(uow, [row])[0]
    if (existing.account_id, existing.amount) != (account_id, amount):
        raise Conflict(
            f"idempotency key {key!r} was already used for payment {existing.id} "
            f"of {existing.amount} to account {existing.account_id}"
        )
    return existing


def apply_credit_balance(uow: UnitOfWork, account_id: uuid.UUID) -> list[Allocation]:
    """Spend the account's credit balance (the unallocated remainders of its received payments, oldest payment
    first) on its open invoices, oldest first. Posts nothing: AR already nets the credit (see model's docstring).
    Safe to call any time, e.g. after a bill run issues invoices; returns what it allocated."""
    uow.advisory_lock("account", account_id)
    rows = uow.conn.execute(
        sa.select(payment).where(payment.c.account_id == account_id, payment.c.unallocated > 0,
                                 payment.c.status == STATUS_DONE)
        .order_by(payment.c.received_at, payment.c.id).with_for_update()
    ).all()
    if not rows:
        return []
    open_invoices = billing.open_invoices(uow, account_id)
    remaining = {i.id: i.remaining for i in open_invoices}
    spent: list[Allocation] = []
    for p in read_payments(uow, rows):
        left = [_Open(i.id, remaining[i.id]) for i in open_invoices]
        allocations, unallocated = allocate(p.unallocated, left)
        for a in allocations:
            remaining[a.invoice_id] = remaining[a.invoice_id] - a.amount
            add_allocation(uow, p, a)
            billing.apply_payment(uow, a.invoice_id, a.amount)
        if allocations:
            uow.conn.execute(sa.update(payment).where(payment.c.id == p.id).values(unallocated=unallocated.amount))
            audit.record(uow, "payment.creditApplied", "payment", p.id,
                         before={"unallocated": p.unallocated.amount},
                         after={"unallocated": unallocated.amount,
                                "allocations": [(str(a.invoice_id), a.amount.amount) for a in allocations]})
            uow.emit(ResourceEvent.attribute_changed(PAYMENT_API, "payment", p.id))
            spent += allocations
    return spent


@dataclass(frozen=True)
class _Open:
    """An open bill as allocation sees it, with what earlier payments in this pass left of it."""

    id: uuid.UUID
    remaining: Money


def apply_credit_balances(uow: UnitOfWork, at: datetime) -> dict[str, int]:
    """The worker's job: every account holding a credit balance spends it on its open bills (`apply_credit_balance`),
    so an invoice issued to an account in credit is paid from that credit without anyone asking. Accounts with
    credit and nothing open allocate nothing, cheaply (one query finds the candidates)."""
    accounts = uow.conn.scalars(
        sa.select(payment.c.account_id).where(payment.c.unallocated > 0, payment.c.status == STATUS_DONE)
        .distinct().order_by(payment.c.account_id)
    ).all()
    spent = [apply_credit_balance(uow, account_id) for account_id in accounts]
    return {"accountsInCredit": len(accounts), "billsPaidFromCredit": sum(len(s) for s in spent)}


def add_allocation(uow: UnitOfWork, p: Payment, a: Allocation) -> None:
    """One row per (payment, bill): a payment that pays a bill again (its credit after a reopening) adds to it."""
    stmt = pg_insert(payment_allocation).values(
        id=new_id(), payment_id=p.id, account_id=p.account_id, invoice_id=a.invoice_id, amount=a.amount.amount
    )
    uow.conn.execute(stmt.on_conflict_do_update(
        constraint="uq_payment_allocation_invoice",
        set_={"amount": payment_allocation.c.amount + stmt.excluded.amount},
    ))


def lock_payment(uow: UnitOfWork, payment_id: uuid.UUID, field: str | None = None) -> Payment:
    """The payment, its account locked ("account") and its row FOR UPDATE: how every change to a payment starts."""
    account_id = uow.conn.execute(sa.select(payment.c.account_id).where(payment.c.id == payment_id)).scalar()
    if account_id is None:
        raise NotFound("payment", str(payment_id), field=field)
    uow.advisory_lock("account", account_id)
    row = uow.conn.execute(sa.select(payment).where(payment.c.id == payment_id).with_for_update()).one()
    return read_payments(uow, [row])[0]


def save_amounts(uow: UnitOfWork, before: Payment, after: Payment) -> None:
    """Store what changed of a payment's amounts, status and allocations (refund, reversal, settlement)."""
    uow.conn.execute(sa.update(payment).where(payment.c.id == after.id).values(
        unallocated=after.unallocated.amount, refunded=after.refunded.amount, reversed=after.reversed.amount,
        status=after.status, status_reason=after.status_reason, in_transit=after.in_transit,
    ))
    old = {a.invoice_id: a.amount for a in before.allocations}
    for a in after.allocations:
        if old.get(a.invoice_id) != a.amount:
            uow.conn.execute(sa.update(payment_allocation).where(
                payment_allocation.c.payment_id == after.id, payment_allocation.c.invoice_id == a.invoice_id
            ).values(amount=a.amount.amount))
    audit.record(uow, "payment.changed", "payment", after.id, before=asdict(before), after=asdict(after))
    if before.status != after.status:
        uow.emit(ResourceEvent.state_changed(PAYMENT_API, "payment", after.id))
    else:
        uow.emit(ResourceEvent.attribute_changed(PAYMENT_API, "payment", after.id))


def get_payment(uow: UnitOfWork, payment_id: uuid.UUID) -> Payment:
    row = uow.conn.execute(sa.select(payment).where(payment.c.id == payment_id)).first()
    if row is None:
        raise NotFound("payment", str(payment_id))
    return read_payments(uow, [row])[0]


def list_payments(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Payment], int]:
    conditions = []
    if "billingAccountId" in filters:
        conditions.append(payment.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    if "status" in filters:
        if filters["status"] not in STATUSES:
            raise InvalidValue("status", filters["status"], f"must be one of {', '.join(STATUSES)}")
        conditions.append(payment.c.status == filters["status"])
    rows, count = paged(uow.conn, sa.select(payment).where(*conditions), offset, limit, payment.c.id)
    return read_payments(uow, rows), count


def credit_balance(uow: UnitOfWork, account_id: uuid.UUID) -> Money | None:
    """What the account holds in unallocated payments (refundable, or spendable on later invoices); None: no
    payments."""
    row = uow.conn.execute(
        sa.select(sa.func.sum(payment.c.unallocated), sa.func.min(payment.c.currency))
        .where(payment.c.account_id == account_id, payment.c.status == STATUS_DONE)
    ).one()
    return None if row[1] is None else Money(row[0], row[1])


def net_received(uow: UnitOfWork, account_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, Money]:
    """Per account, the money its payments brought in for good: received less refunded less undone (reversed,
    charged back, returned). The ledger checks AR against invoices - credit notes - this (model's docstring)."""
    stmt = (sa.select(payment.c.account_id, payment.c.currency,
                      sa.func.sum(payment.c.amount - payment.c.refunded - payment.c.reversed))
            .where(payment.c.status != STATUS_FAILED)
            .group_by(payment.c.account_id, payment.c.currency).order_by(payment.c.account_id))
    if account_ids is not None:
        stmt = stmt.where(payment.c.account_id.in_(set(account_ids)))
    return {a: Money(v, c) for a, c, v in uow.conn.execute(stmt)}


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
        "status": p.status,
        "status_reason": p.status_reason,
        "payment_method_id": p.payment_method_id,
        "in_transit": p.in_transit,
        "refunded": p.refunded.amount,
        "reversed": p.reversed.amount,
        "gateway": p.gateway,
    }


def read_payments(uow: UnitOfWork, rows: list[sa.Row]) -> list[Payment]:
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
            status=r.status,
            status_reason=r.status_reason,
            payment_method_id=r.payment_method_id,
            in_transit=r.in_transit,
            refunded=Money(r.refunded, r.currency),
            reversed=Money(r.reversed, r.currency),
            gateway=r.gateway,
        )
        for r in rows
    ]

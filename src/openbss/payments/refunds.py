"""Use cases that give money back or take a payment back: refunds (TMF676 refund), reversals, chargebacks, SEPA
returns, and the settlement of collections in transit. Never commits.

Each serializes on the account (service.lock_payment), releases allocations through billing.receivables (the
bills reopen) and posts its entry (model's docstring) in the same transaction. Each is idempotent: a refund on its
idempotency key, an undo on the payment's final status, a settlement on the payment no longer being in transit.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import receivables
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money, total
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.ledger.model import AR, BANK, IN_TRANSIT
from openbss.party import service as party
from openbss.payments import gateways
from openbss.payments.model import (
    STATUS_DONE,
    STATUS_PENDING,
    UNDO_KINDS,
    Allocation,
    Payment,
    Refund,
    check_amount,
    movement,
    take_back,
    undo_entry,
)
from openbss.payments.service import PAYMENT_API, lock_payment, read_payments, save_amounts
from openbss.payments.tables import payment, payment_refund

REFUND_FILTERS = ("billingAccountId", "paymentId")


@dataclass(frozen=True)
class NewRefund:
    account_id: uuid.UUID
    amount: Money
    payment_id: uuid.UUID | None = None  # None: out of the account's credit balance
    reason: str | None = None
    idempotency_key: str | None = None
    refunded_at: datetime | None = None


def refund(uow: UnitOfWork, new: NewRefund) -> Refund:
    """Pay money back to the customer, from a payment (its credit first, then reopening the bills it paid, newest
    first) or from the account's credit balance. Negative, zero, over-precise or over-large amounts are refused."""
    if new.idempotency_key is not None:
        uow.advisory_lock("refund-key", new.idempotency_key)
        row = uow.conn.execute(
            sa.select(payment_refund).where(payment_refund.c.idempotency_key == new.idempotency_key)
        ).first()
        if row is not None:
            existing = _refund(row)
            if (existing.account_id, existing.payment_id, existing.amount) != (new.account_id, new.payment_id,
                                                                               new.amount):
                raise Conflict(f"idempotency key {new.idempotency_key!r} was already used for refund {existing.id} "
                               f"of {existing.amount} to account {existing.account_id}")
            return existing
    account = party.get_billing_account(uow, new.account_id, field="account.id")
    amount = check_amount(new.amount, account.currency, field="totalAmount")
    uow.advisory_lock("account", account.id)
    r = Refund(id=new_id(), account_id=account.id, payment_id=new.payment_id, amount=amount, reason=new.reason,
               idempotency_key=new.idempotency_key, refunded_at=new.refunded_at or uow.now(), created_at=uow.now())
    if new.payment_id is not None:
        p = lock_payment(uow, new.payment_id, field="payment.id")
        if p.account_id != account.id:
            raise InvalidValue("payment.id", str(p.id), f"is not a payment of account {account.id}")
        if p.status != STATUS_DONE:
            raise Conflict(f"payment {p.id} is {p.status}: only a payment received (done) can be refunded")
        after, released = take_back(p, amount)
        for a in released:
            receivables.release_payment(uow, a.invoice_id, a.amount)
        save_amounts(uow, p, after)
        if p.gateway is not None:
            result = gateways.get(p.gateway).refund(gateways.RefundRequest(r.id, p.external_ref or "", amount))
            if not result.approved:
                raise Conflict(f"gateway {p.gateway} declined the refund of {amount}: {result.reason}")
            r = replace(r, gateway_ref=result.reference)
        source = IN_TRANSIT if p.in_transit else BANK
    else:
        _take_from_credit(uow, account.id, amount)
        source = BANK
    uow.conn.execute(sa.insert(payment_refund).values(
        id=r.id, created_at=r.created_at, account_id=r.account_id, payment_id=r.payment_id, amount=amount.amount,
        currency=amount.currency, reason=r.reason, idempotency_key=r.idempotency_key, refunded_at=r.refunded_at,
        gateway_ref=r.gateway_ref, status=r.status,
    ))
    ledger.post(uow, movement("refund", r.id, r.account_id, r.refunded_at, amount, AR, source, f"Refund {r.id}"))
    audit.record(uow, "refund.recorded", "refund", r.id, after=asdict(r))
    uow.emit(ResourceEvent.created(PAYMENT_API, "refund", r.id))
    return r


def _take_from_credit(uow: UnitOfWork, account_id: uuid.UUID, amount: Money) -> None:
    """Lower the unallocated remainders of the account's settled payments, oldest first, by `amount`. Payments
    still in transit are left alone: their money is not in the bank yet."""
    rows = uow.conn.execute(
        sa.select(payment).where(payment.c.account_id == account_id, payment.c.unallocated > 0,
                                 payment.c.status == STATUS_DONE, payment.c.in_transit.is_(False))
        .order_by(payment.c.received_at, payment.c.id).with_for_update()
    ).all()
    held = read_payments(uow, rows)
    balance = total((p.unallocated for p in held), amount.currency)
    if amount > balance:
        raise InvalidValue("totalAmount.value", amount.amount,
                           f"exceeds the credit balance {balance} of account {account_id}")
    left = amount
    for p in held:
        if left.is_zero():
            break
        part = min(left, p.unallocated)
        save_amounts(uow, p, replace(p, unallocated=p.unallocated - part, refunded=p.refunded + part))
        left = left - part


def undo(uow: UnitOfWork, payment_id: uuid.UUID, kind: str, reason: str | None = None,
         at: datetime | None = None) -> Payment:
    """Take a payment back: "reversal" (a bank recall, a payment booked by mistake), "chargeback" (a card scheme
    took it back) or "return" (a direct debit rejected by the debtor's bank, pain.002). Every bill it paid reopens,
    its credit is gone, and what was not refunded already leaves AR's credit side again. Undoing it again the same
    way returns it unchanged."""
    if kind not in UNDO_KINDS:
        raise InvalidValue("kind", kind, f"must be one of {', '.join(UNDO_KINDS)}")
    status = UNDO_KINDS[kind][0]
    p = lock_payment(uow, payment_id)
    if p.status == status:
        return p
    if p.status not in (STATUS_DONE, STATUS_PENDING):
        raise Conflict(f"payment {p.id} is {p.status}: it cannot take a {kind} as well")
    amount = p.refundable
    for a in p.allocations:
        if not a.amount.is_zero():
            receivables.release_payment(uow, a.invoice_id, a.amount)
    zero = Money.of(0, p.amount.currency)
    after = replace(p, allocations=tuple(Allocation(a.invoice_id, zero) for a in p.allocations), unallocated=zero,
                    reversed=p.reversed + amount, status=status, status_reason=reason)
    save_amounts(uow, p, after)
    if not amount.is_zero():  # a payment refunded in full has nothing left to take back from the ledger
        ledger.post(uow, undo_entry(p, kind, amount, at or uow.now()))
    return after


def settle(uow: UnitOfWork, payment_id: uuid.UUID, at: datetime | None = None) -> Payment:
    """A collection in transit reached the bank (the statement shows it): move its money from IN_TRANSIT to BANK
    and mark a pending direct debit done. A payment not in transit is returned unchanged."""
    p = lock_payment(uow, payment_id)
    if not p.in_transit:
        return p
    if p.status not in (STATUS_DONE, STATUS_PENDING):
        raise Conflict(f"payment {p.id} is {p.status}: nothing of it reaches the bank")
    after = replace(p, in_transit=False, status=STATUS_DONE)
    save_amounts(uow, p, after)
    if not p.refundable.is_zero():
        ledger.post(uow, movement("paymentSettlement", p.id, p.account_id, at or uow.now(), p.refundable, BANK,
                                  IN_TRANSIT, f"Settlement of payment {p.id}"))
    return after


def get_refund(uow: UnitOfWork, refund_id: uuid.UUID) -> Refund:
    row = uow.conn.execute(sa.select(payment_refund).where(payment_refund.c.id == refund_id)).first()
    if row is None:
        raise NotFound("refund", str(refund_id))
    return _refund(row)


def list_refunds(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Refund], int]:
    conditions = []
    if "billingAccountId" in filters:
        conditions.append(payment_refund.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    if "paymentId" in filters:
        conditions.append(payment_refund.c.payment_id == parse_id(filters["paymentId"], "paymentId"))
    rows, count = paged(uow.conn, sa.select(payment_refund).where(*conditions), offset, limit, payment_refund.c.id)
    return [_refund(r) for r in rows], count


def _refund(row: sa.Row) -> Refund:
    return Refund(
        id=row.id, account_id=row.account_id, payment_id=row.payment_id, amount=Money(row.amount, row.currency),
        reason=row.reason, idempotency_key=row.idempotency_key, refunded_at=row.refunded_at,
        created_at=row.created_at, gateway_ref=row.gateway_ref, status=row.status,
    )

"""Payments received from customers and how they are allocated to open invoices: pure types and rules.

Ledger decision (for the ledger's `verify` and reports): a customer's credit balance stays in AR.
An over-payment credits AR with the whole amount, so the account's AR goes negative by the unallocated
remainder, exactly as a credit note on a paid invoice does; CUSTOMER_CREDIT is not used by payments. One
account, one AR balance: what it owes (positive) or holds (negative) is the sum of its AR lines, and
`apply_credit_balance` (allocating that credit to later invoices) posts nothing, because AR already nets it.

Entries this domain posts (source_type, source_id; debit / credit, the amount):
- "payment", payment id: BANK / AR (bank transfer, cash); IN_TRANSIT / AR (SEPA direct debit, card gateway:
  collected, not yet on the bank statement). A declined gateway attempt (status "failed") posts nothing.
- "paymentSettlement", payment id: BANK / IN_TRANSIT, when the collection reaches the bank.
- "refund", refund id: AR / BANK (or IN_TRANSIT while the refunded payment is still in transit).
- "paymentReversal", "chargeback", "paymentReturn" (SEPA pain.002 reject), payment id:
  AR / BANK or IN_TRANSIT (where the payment sits), for what was not already refunded.
So per account: AR = invoices + debit notes - credit notes - (payments - refunds - reversals), and
payments.service.net_received gives the bracket per account.

Amounts of a received payment always add up: allocated + unallocated + refunded + reversed == amount (a declined
attempt, status "failed", received nothing: all four are 0).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from openbss.core.errors import InvalidValue
from openbss.core.money import Money, minor_units
from openbss.ledger.model import AR, BANK, IN_TRANSIT, JournalEntry, JournalLine

METHODS = ("bankTransfer", "card", "cash", "directDebit")

# Statuses (TMF676 leaves the values open): "pending" a direct debit sent to the bank that may still be
# rejected; "done" money received; "failed" a gateway declined it (nothing was received or posted);
# "returned" a direct debit the debtor's bank sent back (pain.002); "reversed" undone (bank recall, mistake);
# "chargedBack" a card scheme took it back.
STATUS_PENDING, STATUS_DONE, STATUS_FAILED = "pending", "done", "failed"
STATUS_RETURNED, STATUS_REVERSED, STATUS_CHARGED_BACK = "returned", "reversed", "chargedBack"
STATUSES = (STATUS_PENDING, STATUS_DONE, STATUS_FAILED, STATUS_RETURNED, STATUS_REVERSED, STATUS_CHARGED_BACK)
# Each way of undoing a payment: its final status and its journal source type.
UNDO_KINDS = {"reversal": (STATUS_REVERSED, "paymentReversal"), "chargeback": (STATUS_CHARGED_BACK, "chargeback"),
              "return": (STATUS_RETURNED, "paymentReturn")}


class Receivable(Protocol):
    """What allocation needs of an open invoice (billing.model.OpenInvoice has these)."""

    id: uuid.UUID
    remaining: Money


@dataclass(frozen=True)
class Allocation:
    invoice_id: uuid.UUID
    amount: Money


@dataclass(frozen=True)
class Payment:
    id: uuid.UUID
    account_id: uuid.UUID
    amount: Money
    method: str
    received_at: datetime
    external_ref: str | None
    idempotency_key: str | None
    allocations: tuple[Allocation, ...]
    unallocated: Money
    created_at: datetime
    status: str = STATUS_DONE
    status_reason: str | None = None
    payment_method_id: uuid.UUID | None = None
    in_transit: bool = False
    refunded: Money | None = None
    reversed: Money | None = None
    gateway: str | None = None  # the gateway that collected it (its reference is external_ref)

    def __post_init__(self) -> None:
        zero = Money(Decimal(0), self.amount.currency)
        object.__setattr__(self, "refunded", self.refunded or zero)
        object.__setattr__(self, "reversed", self.reversed or zero)

    @property
    def refundable(self) -> Money:
        """What can still be paid back: the amount less what was refunded or undone already."""
        return self.amount - self.refunded - self.reversed


@dataclass(frozen=True)
class Refund:
    id: uuid.UUID
    account_id: uuid.UUID
    payment_id: uuid.UUID | None  # None: paid out of the account's credit balance
    amount: Money
    reason: str | None
    idempotency_key: str | None
    refunded_at: datetime
    created_at: datetime
    gateway_ref: str | None = None
    status: str = STATUS_DONE


def check_method(value: str, field: str = "paymentMethod.@type") -> str:
    if value not in METHODS:
        raise InvalidValue(field, value, f"must be one of {', '.join(METHODS)}")
    return value


def check_amount(amount: Money, currency: str, field: str = "totalAmount") -> Money:
    """A payment is positive, in the account's currency and in whole minor units (cents cannot be received in part)."""
    if amount.currency != currency:
        raise InvalidValue(f"{field}.unit", amount.currency, f"must be the account's currency {currency}")
    if amount.amount <= 0:
        raise InvalidValue(f"{field}.value", amount.amount, "must be greater than zero")
    if amount.amount != amount.rounded().amount:
        raise InvalidValue(
            f"{field}.value", amount.amount, f"has more decimals than {currency} has ({minor_units(currency)})"
        )
    return amount


def allocate(
    amount: Money, open_invoices: Sequence[Receivable], preferred_invoice_id: uuid.UUID | None = None,
    named: Sequence[tuple[uuid.UUID, Money | None]] = (),
) -> tuple[tuple[Allocation, ...], Money]:
    """Spread `amount` over the invoices: the named ones first, in the order given, each up to its own amount when
    one is given (TMF676 paymentItem), then the rest in the given (oldest-first) order. `preferred_invoice_id` is
    one named invoice without an amount.

    Never allocates more than an invoice's remaining amount nor more than the payment; one allocation per invoice;
    what is left over is returned as the unallocated credit.
    """
    if preferred_invoice_id is not None and not named:
        named = ((preferred_invoice_id, None),)
    remaining = {i.id: i.remaining for i in open_invoices}
    allocated: dict[uuid.UUID, Money] = {}  # insertion order: the named first
    left = amount

    def take(invoice_id: uuid.UUID, cap: Money | None) -> None:
        nonlocal left
        part = min(left, remaining[invoice_id]) if cap is None else min(left, remaining[invoice_id], cap)
        if part.amount <= 0:
            return
        allocated[invoice_id] = allocated[invoice_id] + part if invoice_id in allocated else part
        remaining[invoice_id] = remaining[invoice_id] - part
        left = left - part

    for invoice_id, cap in named:
        if invoice_id in remaining:
            take(invoice_id, cap)
    for invoice in open_invoices:
        if left.is_zero():
            break
        take(invoice.id, None)
    return tuple(Allocation(i, a) for i, a in allocated.items()), left


def take_back(p: Payment, amount: Money, field: str = "totalAmount.value") -> tuple[Payment, tuple[Allocation, ...]]:
    """Take `amount` out of a payment for a refund: first from its unallocated credit, then from its allocations,
    newest first (the last bill it paid reopens first). Returns the payment after, and what each bill gives back."""
    if amount > p.refundable:
        raise InvalidValue(field, amount.amount, f"exceeds the {p.refundable} refundable of payment {p.id}")
    from_credit = min(amount, p.unallocated)
    left = amount - from_credit
    released = []
    kept = list(p.allocations)
    for i in reversed(range(len(kept))):
        if left.is_zero():
            break
        part = min(left, kept[i].amount)
        if part.is_zero():
            continue
        released.append(Allocation(kept[i].invoice_id, part))
        kept[i] = Allocation(kept[i].invoice_id, kept[i].amount - part)
        left = left - part
    after = replace(p, allocations=tuple(kept), unallocated=p.unallocated - from_credit, refunded=p.refunded + amount)
    return after, tuple(released)


def movement(source_type: str, source_id: uuid.UUID, account_id: uuid.UUID, posted_at: datetime, amount: Money,
             debit: str, credit: str, description: str) -> JournalEntry:
    """A two-line entry moving `amount` from `credit` to `debit`: every entry this domain posts is one."""
    return JournalEntry(
        source_type=source_type, source_id=source_id, account_id=account_id, currency=amount.currency,
        posted_at=posted_at, description=description,
        lines=(JournalLine(debit, amount.amount, Decimal(0)), JournalLine(credit, Decimal(0), amount.amount)),
    )


def receipt_entry(p: Payment) -> JournalEntry:
    return movement("payment", p.id, p.account_id, p.received_at, p.amount, IN_TRANSIT if p.in_transit else BANK,
                    AR, f"Payment {p.id}")


def undo_entry(p: Payment, kind: str, amount: Money, at: datetime) -> JournalEntry:
    source_type = UNDO_KINDS[kind][1]
    return movement(source_type, p.id, p.account_id, at, amount, AR, IN_TRANSIT if p.in_transit else BANK,
                    f"{kind.capitalize()} of payment {p.id}")

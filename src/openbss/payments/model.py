"""Payments received from customers and how they are allocated to open invoices: pure types and rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openbss.core.errors import InvalidValue
from openbss.core.money import Money, minor_units

METHODS = ("bankTransfer", "card", "cash", "directDebit")
# A recorded payment is money already received; pending or failed gateway attempts are not payments.
STATUS_DONE = "done"


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

    @property
    def status(self) -> str:
        return STATUS_DONE


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
    amount: Money, open_invoices: Sequence[Receivable], preferred_invoice_id: uuid.UUID | None = None
) -> tuple[tuple[Allocation, ...], Money]:
    """Spread `amount` over the invoices: the preferred one first, then in the given (oldest-first) order.

    Never allocates more than an invoice's remaining amount nor more than the payment; what is left over
    is returned as the unallocated credit.
    """
    ordered = sorted(open_invoices, key=lambda i: i.id != preferred_invoice_id)  # stable: keeps oldest first
    left = amount
    allocations = []
    for invoice in ordered:
        if left.is_zero():
            break
        if invoice.remaining.amount <= 0:
            continue
        part = min(left, invoice.remaining)
        allocations.append(Allocation(invoice.id, part))
        left = left - part
    return tuple(allocations), left

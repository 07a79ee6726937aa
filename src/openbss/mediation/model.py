"""Usage records as collectors hand them over, usage as stored once rated, and the rules that check them.

Field names in problems are the TMF635 names of the record (`serviceId`, `usageDate`...); each interface
(API paths, CSV columns) renames them to what its user typed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openbss.catalog.model import USAGE_UNITS
from openbss.core.errors import InvalidValue
from openbss.core.money import RATED_PLACES, RATED_QUANTUM, Money

USAGE_STATUSES = ("rated", "billed")
# NUMERIC(24,6): what does not fit would be silently changed by the database, so it is refused here.
QUANTITY_LIMIT = Decimal(10) ** (24 - RATED_PLACES)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One event as a network element or client reports it, before rating."""

    source: str
    record_key: str
    service_id: str
    usage_type: str
    usage_date: datetime
    quantity: Decimal


@dataclass(frozen=True)
class Usage:
    """A rated usage record; `invoice_id` is set when a bill run claims it (status "billed")."""

    id: uuid.UUID
    account_id: uuid.UUID
    product_id: uuid.UUID
    source: str
    record_key: str
    service_id: str
    usage_type: str
    unit: str
    usage_date: datetime
    quantity: Decimal
    charge: Money
    price_id: uuid.UUID
    status: str
    invoice_id: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True)
class Problem:
    field: str
    value: object
    reason: str

    @classmethod
    def of(cls, exc: InvalidValue) -> Problem:
        return cls(exc.field, exc.value, exc.message.removeprefix(f"{exc.field}={exc.value!r} "))


@dataclass(frozen=True)
class Rejection:
    """A record that was not stored: `line` is its line in a file, or its index in an API batch."""

    line: int
    field: str
    value: object
    reason: str


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[Rejection]

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.accepted + other.accepted,
            self.duplicates + other.duplicates,
            sorted([*self.rejected, *other.rejected], key=lambda r: r.line),
        )


@dataclass(frozen=True)
class UsageTotal:
    """Usage claimed for one invoice, summed per product and usage type."""

    product_id: uuid.UUID
    usage_type: str
    unit: str
    count: int
    quantity: Decimal
    amount: Money


def _text_problem(name: str, value: object) -> Problem | None:
    if not isinstance(value, str) or not value.strip():
        return Problem(name, value, "must not be empty")
    return None


def _quantity_problem(q: object) -> Problem | None:
    if not isinstance(q, Decimal) or not q.is_finite():
        return Problem("quantity", q, "must be a finite decimal number")
    if q < 0:
        return Problem("quantity", q, "must not be negative")
    if q >= QUANTITY_LIMIT:
        return Problem("quantity", q, f"must be less than {QUANTITY_LIMIT}")
    if q != q.quantize(RATED_QUANTUM):
        return Problem("quantity", q, f"has more than {RATED_PLACES} decimal places")
    return None


def record_problem(r: UsageRecord) -> Problem | None:
    """The first thing wrong with the record, naming the field, or None when it can be rated."""
    problem = (
        _text_problem("source", r.source)
        or _text_problem("recordKey", r.record_key)
        or _text_problem("serviceId", r.service_id)
    )
    if problem:
        return problem
    if r.usage_type not in USAGE_UNITS:
        return Problem("usageType", r.usage_type, f"must be one of {', '.join(USAGE_UNITS)}")
    if not isinstance(r.usage_date, datetime) or r.usage_date.utcoffset() is None:
        return Problem("usageDate", r.usage_date, "must be a date-time with a UTC offset")
    return _quantity_problem(r.quantity)

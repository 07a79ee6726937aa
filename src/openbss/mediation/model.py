"""Usage records as collectors hand them over, usage as stored once rated, and the rules that check them.

Field names in problems are the TMF635 names of the record (`serviceId`, `usageDate`...); each interface
(API paths, CSV columns) renames them to what its user typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from openbss.catalog.model import USAGE_UNITS
from openbss.core.errors import InvalidValue
from openbss.core.money import RATED_PLACES, RATED_QUANTUM, Money

USAGE_STATUSES = ("rated", "billed")
# NUMERIC(24,6): what does not fit would be silently changed by the database, so it is refused here.
QUANTITY_LIMIT = Decimal(10) ** (24 - RATED_PLACES)
# How far after the moment of intake a record may be dated: network elements' clocks drift by seconds,
# rarely by minutes; a record dated later was stamped by a broken clock and would be billed in a period
# that has not happened yet.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One event as a network element or client reports it, before rating."""

    source: str
    record_key: str
    service_id: str
    usage_type: str
    usage_date: datetime
    quantity: Decimal
    # Where to: the called number (E.164 digits) of a call or SMS, the APN of a data session; None if unknown.
    destination: str | None = None


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
    destination: str | None = None
    # Arrived after its account's usage for that date was billed: it is billed on the next invoice.
    late: bool = False
    zone: str | None = None  # the rate table's destination zone and time band that priced it, if any
    band: str | None = None
    allowance_used: Decimal = Decimal(0)  # units an allowance bucket covered


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

    @classmethod
    def of(cls, line: int, problem: Problem) -> Rejection:
        return cls(line, problem.field, problem.value, problem.reason)


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
    # Usage that arrived after the period it belongs to was billed (see `Usage.late`).
    late: bool = False
    # Rerating adjustments of the product's usage of this type (`UsageAdjustment`), not usage: `amount` is the
    # sum of their signed differences, `count` how many, `quantity` 0 (the usage was billed with its quantity).
    adjustment: bool = False


@dataclass(frozen=True)
class UsageAdjustment:
    """The difference a rerating found for one stored usage record: `amount` = new_charge - the record's
    charge so far (its usage charge plus earlier adjustments), signed. Billed like usage: status "rated" until
    a bill run claims it ("billed", `invoice_id`)."""

    id: uuid.UUID
    usage_id: uuid.UUID
    rerate_run_id: uuid.UUID
    account_id: uuid.UUID
    product_id: uuid.UUID
    usage_type: str
    unit: str
    usage_date: datetime
    amount: Money
    old_charge: Money
    new_charge: Money
    old_price_id: uuid.UUID
    new_price_id: uuid.UUID
    status: str = "rated"
    invoice_id: uuid.UUID | None = None


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


def record_problem(r: UsageRecord, now: datetime) -> Problem | None:
    """The first thing wrong with the record, naming the field, or None when it can be rated; `now` is
    the moment of intake (a record may be dated at most FUTURE_TOLERANCE after it)."""
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
    if r.usage_date > now + FUTURE_TOLERANCE:
        minutes = int(FUTURE_TOLERANCE.total_seconds() // 60)
        return Problem(
            "usageDate", r.usage_date.isoformat(), f"is in the future: more than {minutes} minutes after intake"
        )
    if r.destination is not None and not isinstance(r.destination, str):
        return Problem("destination", r.destination, "must be text (a called number or an APN)")
    return _quantity_problem(r.quantity)


QUARANTINE_STATUSES = ("open", "reprocessed", "discarded")


@dataclass(frozen=True)
class QuarantineEntry:
    """A rejected record kept with its reason. `payload` holds a decoded record's fields as strings (so
    `record()` rebuilds it); `raw` the text of input that could not be decoded at all."""

    id: uuid.UUID
    created_at: datetime
    source: str
    record_key: str | None
    line: int | None
    origin: str
    payload: dict[str, str | None] | None
    raw: str | None
    field: str
    value: str | None
    reason: str
    status: str
    resolved_at: datetime | None
    resolution: str | None
    usage_id: uuid.UUID | None


@dataclass(frozen=True)
class ReprocessResult:
    """What a reprocess did: `stored` entries became usage, `duplicates` were already stored (their entries
    point at that usage), `still_open` failed again (with the new reason), `raw_only` cannot be rebuilt."""

    stored: int
    duplicates: int
    still_open: int
    raw_only: int


def record_payload(r: UsageRecord) -> dict[str, str | None]:
    """The record's fields as JSON strings (dates in ISO 8601 with their offset, decimals as written)."""
    return {
        f.name: None if (v := getattr(r, f.name)) is None else v.isoformat() if isinstance(v, datetime) else str(v)
        for f in fields(UsageRecord)
    }


def payload_record(payload: Mapping[str, str | None]) -> UsageRecord:
    """The record `record_payload` wrote. A value that does not read back as its type (it was wrong when
    quarantined) is kept as text, so validation rejects it again for the same reason."""
    values: dict[str, object] = dict(payload)
    try:
        values["usage_date"] = datetime.fromisoformat(values["usage_date"])
    except (TypeError, ValueError):
        pass
    try:
        values["quantity"] = Decimal(values["quantity"])
    except (TypeError, ArithmeticError):
        pass
    return UsageRecord(**values)

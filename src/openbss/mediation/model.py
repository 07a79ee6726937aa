"""Usage records as collectors hand them over, usage as stored once rated, and the rules that check them.

Field names in problems are the TMF635 names of the record (`serviceId`, `usageDate`...); each interface
(API paths, CSV columns) renames them to what its user typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from openbss.catalog.model import USAGE_UNITS
from openbss.core.errors import InvalidValue
from openbss.core.money import RATED_PLACES, RATED_QUANTUM, Money

# "prepaid": charged online against a prepaid balance (charging/): already paid, never put on an invoice.
USAGE_STATUSES = ("rated", "billed", "prepaid")
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
    # A partial record (a long call split by the switch: 3GPP recordSequenceNumber with causeForTermination
    # "partialRecord", a softswitch's "long call" records): the call's correlation id (the switch's call id or
    # global call reference), this record's 1-based sequence number, and whether it is the call's last part.
    # Partial records are held and merged into one record per call (`mediation.correlation`) before rating.
    part_of: str | None = None
    part: int | None = None
    last_part: bool = False


@dataclass(frozen=True, slots=True)
class OnlineUsage:
    """Usage the online charging system (charging/) rated and charged: `prepaid` when a prepaid balance paid
    for it (stored with status "prepaid", never invoiced), else left for the invoice like batch-rated usage."""

    record: UsageRecord
    account_id: uuid.UUID
    product_id: uuid.UUID
    charge: Money
    price_id: uuid.UUID | None
    allowance_used: Decimal  # units unit buckets covered
    prepaid: bool


# The fields of a record that describe it as a partial record; omitted from a whole record's payload.
PART_FIELDS = ("part_of", "part", "last_part")


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
    price_id: uuid.UUID | None  # None only for online usage that unit buckets covered under no usage price
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
    """What a batch did. `accepted` counts usage records stored, a call merged from partial records once (and
    also in `calls`); `parts` counts the partial records taken in (held until their call is complete, or
    merged into a call of `calls`); a resent part is a duplicate."""

    accepted: int
    duplicates: int
    rejected: list[Rejection]
    parts: int = 0
    calls: int = 0

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.accepted + other.accepted,
            self.duplicates + other.duplicates,
            sorted([*self.rejected, *other.rejected], key=lambda r: r.line),
            self.parts + other.parts,
            self.calls + other.calls,
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
    return _quantity_problem(r.quantity) or _part_problem(r)


def _part_problem(r: UsageRecord) -> Problem | None:
    if r.part_of is None and r.part is None:
        return None if r.last_part is False else Problem("lastPart", r.last_part, "is only for a partial record (partOf)")
    if r.part_of is None:
        return Problem("partOf", r.part_of, f"is missing: part {r.part} must name the call it is part of")
    if problem := _text_problem("partOf", r.part_of):
        return problem
    if r.part is None:
        return Problem("part", r.part, f"is missing: a partial record of call {r.part_of!r} needs its sequence number")
    if not isinstance(r.part, int) or isinstance(r.part, bool) or r.part < 1:
        return Problem("part", r.part, "must be a whole number from 1")
    if not isinstance(r.last_part, bool):
        return Problem("lastPart", r.last_part, "must be true or false")
    return None


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
    """What a reprocess did: `stored` usage records were stored (a call merged from partial records counts
    once), `duplicates` entries were already stored (their entries point at that usage), `still_open` failed
    again (with the new reason), `raw_only` cannot be rebuilt, `parts` entries of partial records went back
    to correlation (held until their call is complete, or merged into a call counted in `stored`)."""

    stored: int
    duplicates: int
    still_open: int
    raw_only: int
    parts: int = 0


def record_payload(r: UsageRecord) -> dict[str, str | None]:
    """The record's fields as JSON strings (dates in ISO 8601 with their offset, decimals as written; a partial
    record's `last_part` as "true"/"false"). A whole record has no partial-record fields."""
    partial = any(getattr(r, name) not in (None, False) for name in PART_FIELDS)
    return {
        f.name: None if (v := getattr(r, f.name)) is None else v.isoformat() if isinstance(v, datetime)
        else str(v).lower() if isinstance(v, bool) else str(v)
        for f in fields(UsageRecord) if partial or f.name not in PART_FIELDS
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
    try:
        values["part"] = None if values.get("part") is None else int(values["part"])
    except ValueError:
        pass
    if "last_part" in values:
        values["last_part"] = {"true": True, "false": False}.get(values["last_part"], values["last_part"])
    return UsageRecord(**values)


@dataclass(frozen=True)
class HeldCall:
    """A call whose partial records are held, waiting for the rest: `parts` the sequence numbers held,
    `last` the number of the part marked last (None while none arrived), `quantity` their sum so far."""

    source: str
    part_of: str
    service_id: str
    usage_type: str
    parts: list[int]
    last: int | None
    quantity: Decimal
    first_received: datetime
    last_received: datetime

    @property
    def missing(self) -> str:
        """The parts still missing: "2", "2,4", "4,..." after the highest held when the last is unknown."""
        top = self.last if self.last is not None else max(self.parts)
        gaps = [str(n) for n in range(1, top + 1) if n not in self.parts]
        return ",".join(gaps + ([f"{top + 1},..."] if self.last is None else []))


# What every part of a call must share with part 1; a part that differs is another call under the same id.
_CALL_FACTS = (("serviceId", "service_id"), ("usageType", "usage_type"), ("destination", "destination"))


def merged_call(parts: Sequence[UsageRecord]) -> UsageRecord | Problem | None:
    """The call the partial records of one (source, part_of) make, given in any order without repeats: None
    while it is incomplete (no part marked last yet, or a part before it missing); the one record to rate
    once it is complete, keyed by `part_of` and dated at part 1's start with the parts' summed quantity
    (so the connect fee is charged and the increments rounded once per call); or the Problem when the parts
    cannot be one call (two last parts, a part after the last, a part that differs from part 1)."""
    by_number = {p.part: p for p in parts}
    last = sorted(p.part for p in parts if p.last_part)
    if len(last) > 1:
        return Problem("lastPart", True, f"is set on parts {', '.join(map(str, last))} of call {parts[0].part_of!r}")
    beyond = sorted(n for n in by_number if last and n > last[0])
    if beyond:
        return Problem("part", beyond[0], f"comes after part {last[0]}, the last part of call {parts[0].part_of!r}")
    if not last or len(by_number) < last[0]:
        return None
    first = by_number[1]
    for n in sorted(by_number):
        for name, attr in _CALL_FACTS:
            if getattr(by_number[n], attr) != getattr(first, attr):
                return Problem(name, getattr(by_number[n], attr),
                               f"of part {n} differs from part 1's {getattr(first, attr)!r}: "
                               f"the parts of call {first.part_of!r} disagree")  # fmt: skip
    return UsageRecord(first.source, first.part_of, first.service_id, first.usage_type, first.usage_date,
                       sum((p.quantity for p in parts), Decimal(0)), first.destination)  # fmt: skip


def incomplete_reason(parts: Sequence[int], last: int | None, since: datetime) -> str:
    """Why a call's held parts are quarantined without their call: "incomplete: parts 1,2 of ? held since ..."
    (`?` while no part marked last arrived)."""
    return (f"incomplete: parts {','.join(map(str, sorted(parts)))} of {'?' if last is None else last} "
            f"held since {since.isoformat()}")

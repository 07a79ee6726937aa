"""Online charging, pure rules: balance buckets and how a reservation is spread over them (TMF654).

A bucket holds `amount` of one unit (money in the account's currency, or seconds, bytes, messages as
catalog.USAGE_UNITS counts usage). `reserved` is held by open reservations, `used` is spent; the invariant
used + reserved <= amount is also a CHECK in the database, so no concurrent session can overspend.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openbss.core.errors import InvalidValue

MONEY_UNIT = "money"
UNITS = (MONEY_UNIT, "second", "byte", "message")

# Why a reservation is refused; the Diameter server maps them to result codes (4012, 5030, 4010, 5031).
CREDIT_LIMIT_REACHED = "creditLimitReached"
USER_UNKNOWN = "userUnknown"
SERVICE_DENIED = "serviceDenied"  # the subscription exists but is suspended (dunning, a fraud bar)
RATING_FAILED = "ratingFailed"


@dataclass(frozen=True)
class BalanceBucket:
    id: uuid.UUID
    unit: str
    amount: Decimal
    reserved: Decimal
    used: Decimal
    valid_from: datetime
    valid_to: datetime | None
    priority: int  # lower is spent first
    rollover: bool
    currency: str | None = None  # money buckets only

    @property
    def free(self) -> Decimal:
        return self.amount - self.used - self.reserved

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


def check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise InvalidValue("unit", unit, f"must be one of {', '.join(UNITS)}")
    return unit


def spending_order(buckets: Sequence[BalanceBucket]) -> list[BalanceBucket]:
    """Priority first, then the bucket that expires soonest (so nothing expires unspent that could have been
    spent), then the oldest id (stable)."""
    far = datetime.max.replace(tzinfo=None)
    return sorted(buckets, key=lambda b: (b.priority, (b.valid_to.replace(tzinfo=None) if b.valid_to else far),
                                          b.id))


def plan_holds(buckets: Sequence[BalanceBucket], wanted: Decimal, at: datetime) -> list[tuple[uuid.UUID, Decimal]]:
    """Spread `wanted` (of one unit) over the valid buckets in spending order; never more than a bucket has free.
    The holds may add up to less than `wanted` when the buckets run short."""
    if wanted < 0:
        raise InvalidValue("requested", wanted, "must not be negative")
    holds: list[tuple[uuid.UUID, Decimal]] = []
    left = wanted
    for b in spending_order([b for b in buckets if b.valid_at(at) and b.free > 0]):
        if left <= 0:
            break
        take = min(left, b.free)
        holds.append((b.id, take))
        left -= take
    return holds


def most_affordable(units: int, cost: Callable[[int], Decimal], budget: Decimal) -> int:
    """The most units (0..units) whose cost fits the budget; `cost` must not decrease with units (rate tables:
    increments, connect fees and minimums only ever add). Binary search: a few ratings, not one per unit."""
    if units <= 0 or cost(units) <= budget:
        return max(units, 0)
    low, high = 0, units  # cost(low) fits (0 costs nothing to reserve), cost(high) does not
    while high - low > 1:
        mid = (low + high) // 2
        if cost(mid) <= budget:
            low = mid
        else:
            high = mid
    return low


def spend_holds(holds: Sequence[tuple[uuid.UUID, Decimal]], spent: Decimal) -> list[tuple[uuid.UUID, Decimal]]:
    """How much of each hold (in order) a commit of `spent` uses: at most the holds' total."""
    out: list[tuple[uuid.UUID, Decimal]] = []
    left = spent
    for bucket_id, held in holds:
        take = min(left, held) if left > 0 else Decimal(0)
        out.append((bucket_id, take))
        left -= take
    return out

"""Product offerings and their prices: pure types and the rules that check a tariff before it is sold."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openbss.core.errors import InvalidValue
from openbss.core.money import RATED_PLACES, Money
from openbss.party.model import check_name

# Usage types and the unit each is measured in; mediation and rating count quantities in these units.
USAGE_UNITS = {"voice": "second", "sms": "message", "data": "byte"}
PRICE_KINDS = ("recurring", "usage")
# Proration and bill cycles in this slice are monthly; other periods arrive with their billing rules.
RECURRING_PERIODS = ("month",)
TAX_CATEGORIES = ("standard", "reduced", "zero", "exempt")
# TMF620 leaves lifecycleStatus free text; these are the stages of its user guide, in camelCase like its enums.
LIFECYCLE_STATUSES = ("inStudy", "inDesign", "inTest", "active", "launched", "retired", "obsolete", "rejected")
ORDERABLE_STATUSES = ("active", "launched")


@dataclass(frozen=True)
class Price:
    id: uuid.UUID
    offering_id: uuid.UUID
    kind: str
    amount: Money
    period: str | None
    usage_type: str | None
    unit_size: Decimal
    valid_from: datetime | None
    valid_to: datetime | None
    name: str | None = None

    def is_valid_at(self, at: datetime) -> bool:
        """Validity is half-open [valid_from, valid_to), so a successor price can start where this one ends."""
        return (self.valid_from is None or self.valid_from <= at) and (self.valid_to is None or at < self.valid_to)

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def unit(self) -> str | None:
        """The unit `unit_size` counts in: second, message or byte (None for a recurring price)."""
        return USAGE_UNITS.get(self.usage_type) if self.usage_type else None


@dataclass(frozen=True)
class ProductOffering:
    id: uuid.UUID
    name: str
    description: str | None
    lifecycle_status: str
    tax_category: str
    prices: tuple[Price, ...]
    created_at: datetime

    @property
    def is_orderable(self) -> bool:
        return self.lifecycle_status in ORDERABLE_STATUSES

    def has_price_in(self, currency: str) -> bool:
        return any(p.currency == currency for p in self.prices)

    def usage_price(self, usage_type: str, currency: str, at: datetime) -> Price | None:
        return next(
            (
                p
                for p in self.prices
                if p.kind == "usage" and p.usage_type == usage_type and p.currency == currency and p.is_valid_at(at)
            ),
            None,
        )

    def recurring_prices(self, currency: str, at: datetime) -> list[Price]:
        return [p for p in self.prices if p.kind == "recurring" and p.currency == currency and p.is_valid_at(at)]


def check_choice(value: str, choices: Sequence[str], field: str) -> str:
    if value not in choices:
        raise InvalidValue(field, value, f"must be one of {', '.join(choices)}")
    return value


def _check_places(value: Decimal, field: str) -> None:
    # NUMERIC(20,6) would round a seventh decimal away silently; refuse it instead.
    if value.as_tuple().exponent < -RATED_PLACES:
        raise InvalidValue(field, str(value), f"has more than {RATED_PLACES} decimal places")


def check_price(p: Price, field: str) -> None:
    """Check one price; `field` is its position in the request (productOfferingPrice[i])."""
    check_choice(p.kind, PRICE_KINDS, f"{field}.priceType")
    if p.amount.amount < 0:
        raise InvalidValue(f"{field}.price.value", str(p.amount.amount), "must not be negative")
    _check_places(p.amount.amount, f"{field}.price.value")
    if p.kind == "recurring":
        check_choice(p.period, RECURRING_PERIODS, f"{field}.recurringChargePeriodType")
        if p.usage_type is not None:
            raise InvalidValue(f"{field}.usageType", p.usage_type, "must be absent on a recurring price")
        if p.unit_size != 1:
            raise InvalidValue(f"{field}.unitOfMeasure.amount", str(p.unit_size), "must be 1 on a recurring price")
    else:
        check_choice(p.usage_type, tuple(USAGE_UNITS), f"{field}.usageType")
        if p.period is not None:
            raise InvalidValue(f"{field}.recurringChargePeriodType", p.period, "must be absent on a usage price")
        if p.unit_size <= 0:
            raise InvalidValue(f"{field}.unitOfMeasure.amount", str(p.unit_size), "must be greater than 0")
        _check_places(p.unit_size, f"{field}.unitOfMeasure.amount")
    for name, at in (("startDateTime", p.valid_from), ("endDateTime", p.valid_to)):
        if at is not None and at.tzinfo is None:
            raise InvalidValue(f"{field}.validFor.{name}", at.isoformat(), "must carry a time zone offset")
    if p.valid_from is not None and p.valid_to is not None and p.valid_to <= p.valid_from:
        raise InvalidValue(f"{field}.validFor.endDateTime", p.valid_to.isoformat(), "must be after startDateTime")


def _overlap(a: Price, b: Price) -> bool:
    starts_before_b_ends = b.valid_to is None or a.valid_from is None or a.valid_from < b.valid_to
    ends_after_b_starts = a.valid_to is None or b.valid_from is None or b.valid_from < a.valid_to
    return starts_before_b_ends and ends_after_b_starts


def check_prices(prices: Sequence[Price], field: str = "productOfferingPrice") -> None:
    """At least one price; per currency, at any instant at most one recurring price and one usage price
    per usage type, so rating and billing never have to choose between two tariffs."""
    if not prices:
        raise InvalidValue(field, [], "must hold at least one price")
    for i, p in enumerate(prices):
        check_price(p, f"{field}[{i}]")
        for j, q in enumerate(prices[:i]):
            if (p.kind, p.usage_type, p.currency) == (q.kind, q.usage_type, q.currency) and _overlap(p, q):
                what = " ".join(x for x in (p.kind, p.usage_type, p.currency) if x)
                problem = f"overlaps {field}[{j}], a {what} price valid at the same time"
                raise InvalidValue(f"{field}[{i}]", what, problem)


def check_offering(name: str, tax_category: str, lifecycle_status: str, prices: Sequence[Price]) -> str:
    """Check a whole offering before anything is written; returns the cleaned name."""
    clean = check_name(name)
    check_choice(tax_category, TAX_CATEGORIES, "taxCategory")
    check_choice(lifecycle_status, LIFECYCLE_STATUSES, "lifecycleStatus")
    check_prices(prices)
    return clean

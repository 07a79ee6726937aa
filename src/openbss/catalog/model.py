"""The product catalog: pure types and the rules that check a tariff before it is sold.

This module is the contract between the catalog and the engines that charge from it (rating, billing,
ordering). Everything here is pure: no I/O, no clock (instants are passed in).

Prices (`Price`, TMF620 ProductOfferingPrice), by `kind` (TMF `priceType`):

- ``oneTime``: `amount` charged once, when the product is activated.
- ``recurring``: `amount` every `period` ("day", "week", "month", "quarter", "year"; TMF
  `recurringChargePeriodType`), charged ``inAdvance`` (the default: the invoice for period P carries P+1)
  or ``inArrears`` (the invoice for P carries P), the extension attribute `chargeTiming`.
- ``usage``: charges for a usage type (voice, sms, data, counted in USAGE_UNITS). `unit_size` is the block
  the prices are quoted per (0.01 EUR per 1,000,000 bytes). `usage_model` says how a period's total
  quantity becomes a charge, see `usage_charge`:
    * ``perUnit`` (default): quantity × amount / unit_size, pro rata (what rating does per record today);
    * ``block``: amount per *started* block of unit_size (60-second blocks: 61 s cost two blocks);
    * ``graduated``: `tiers` priced separately, each unit at the price of the tier it falls in;
    * ``volume``: every unit at the price of the tier the period's total reaches.
  A `Tier` is (from_units, up_to, unit_price per unit_size[, flat_fee]): tier i covers totals q with
  from_units < q <= up_to; tiers start at 0, are contiguous and ascending, the last is unbounded. A flat fee
  is charged once when a total enters its tier (graduated) or with the tier reached (volume). For tiered
  prices `amount` is the first tier's unit price, the "from" price shown to customers.
  `included_units` are free per period (an allowance): they are deducted from the period's total before
  any model applies. Tiers and allowances work on a *period total* per subscription and usage type, so a
  rater that charges record by record charges `usage_charge(total_after) - usage_charge(total_before)`.
  A usage price may name a stored rate table (`rate_table`, TMF `pricingLogicAlgorithm` with plaSpecId
  "rateTable"): each record is then charged by the table (zones, bands, increments: rating.rules), never
  re-priced on totals; its model must be perUnit and its currency the table's; `amount` is the "from" price
  shown to customers (the catalog author's pick, e.g. the cheapest national minute), not used to charge.
  Its `included_units` (whole units) are allowance buckets per bill cycle period that rating consumes record
  by record: with `rollover`, units granted and unused in a period carry over to the next period only; with
  `allowance_scope` "hierarchy" the grants of all the hierarchy's subscriptions form one pool owned by the
  root account ("subscription", the default, keeps one bucket per subscription). See rating.service.
- ``commitment``: a minimum spend on the product's usage, `amount` per cycle month (`period` "month", TMF
  `recurringChargePeriodType`): when a bill period's usage charges of the product fall below it, billing
  tops the invoice up by the difference (billing.commitment); one per currency at a time.
- ``discount`` (a TMF price alteration): `percentage` off, or a fixed `amount` off (never below zero),
  per charge it applies to: the price *named* `applies_to` (a name, so the discount follows that price
  across its versions) or, when None, every recurring charge of the offering (of a bundle: the recurring
  charges of the offerings it bundles). It applies for
  `duration_periods` bill periods from activation (TMF `applicationDuration`; None: forever), and only when
  its conditions hold (`discount_applies`): the order carries `promotion_code` (a promotion), the customer
  also holds every offering in `requires_offerings` (a cross-product bundle discount), the customer is in
  `segment` (a loyalty tier).

Tax: a price is tax-exclusive (the net) unless `tax_included`: then `amount` is what a consumer pays with
VAT, whatever rate applies to them, and billing derives each line's net from it (billing.model); at 0 %
(exempt, reverse charge) that amount is the net. Discounts off a tax-inclusive price are tax-inclusive too.

Versions: a charge (`charge_key`) may have several prices one after the other by `valid_from`/`valid_to`
(half-open, never overlapping). New orders take the version valid at the order instant. A version that
follows another carries `change_policy`: ``keep`` (existing subscribers are grandfathered on the version
they had) or ``next_cycle`` (they move at their first bill cycle start on or after the new version's
start). `price_for_subscription` applies this.

Offerings (`ProductOffering`): lifecycle inStudy → inDesign → inTest → active/launched → retired →
obsolete (`check_transition`); only active and launched offerings are orderable, and `is_eligible` also
checks validity dates, sellability, customer segment, country (market) and sales channel, and the segment
an offering variant of a pricing experiment targets. A bundle (`is_bundle`) holds `bundled_offering_ids`
and is ordered as one product; its own prices (e.g. a bundle discount) add to its children's.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import RATED_PLACES, Money
from openbss.party.model import check_name

# Usage types and the unit each is measured in; mediation and rating count quantities in these units.
USAGE_UNITS = {"voice": "second", "sms": "message", "data": "byte"}
PRICE_KINDS = ("oneTime", "recurring", "usage", "discount", "commitment")
COMMITMENT_PERIODS = ("month",)  # a commitment is per cycle month; a quarterly period commits to three
RECURRING_PERIODS = ("day", "week", "month", "quarter", "year")
# Spellings clients use for the same periods; stored and echoed in the canonical form above.
PERIOD_ALIASES = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter",
                  "yearly": "year", "annual": "year", "annually": "year"}
CHARGE_TIMINGS = ("inAdvance", "inArrears")
USAGE_MODELS = ("perUnit", "block", "graduated", "volume")
ALLOWANCE_SCOPES = ("subscription", "hierarchy")
CHANGE_POLICIES = ("keep", "next_cycle")
TAX_CATEGORIES = ("standard", "reduced", "zero", "exempt")
# TMF620 leaves lifecycleStatus free text; these are the stages of its user guide, in camelCase like its enums.
LIFECYCLE_STATUSES = ("inStudy", "inDesign", "inTest", "active", "launched", "retired", "obsolete", "rejected")
ORDERABLE_STATUSES = ("active", "launched")
# Stages in which nothing has been sold yet, so the item may still be deleted or its prices edited in place.
DRAFT_STATUSES = ("inStudy", "inDesign", "inTest", "rejected")
TRANSITIONS = {
    "inStudy": ("inDesign", "rejected"),
    "inDesign": ("inStudy", "inTest", "active", "launched", "rejected"),
    "inTest": ("inDesign", "active", "launched", "rejected"),
    "active": ("launched", "retired"),
    "launched": ("active", "retired"),
    "retired": ("obsolete",),
    "obsolete": (),
    "rejected": (),
}


def check_choice(value: str, choices: Sequence[str], field: str) -> str:
    if value not in choices:
        raise InvalidValue(field, value, f"must be one of {', '.join(choices)}")
    return value


def check_transition(kind: str, ident: object, current: str, new: str) -> None:
    """A lifecycle change must follow TRANSITIONS; a clash with the current state is a 409 naming it."""
    check_choice(new, LIFECYCLE_STATUSES, "lifecycleStatus")
    if new != current and new not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current]) or "nothing"
        raise Conflict(f"{kind} {ident} is {current}; it can move to {allowed}, not {new}")


def normalize_period(value: str | None) -> str | None:
    return PERIOD_ALIASES.get(value, value) if value is not None else None


def _check_places(value: Decimal, field: str) -> None:
    # NUMERIC(20,6) would round a seventh decimal away silently; refuse it instead.
    if value.as_tuple().exponent < -RATED_PLACES:
        raise InvalidValue(field, str(value), f"has more than {RATED_PLACES} decimal places")


def _check_amount(value: Decimal, field: str) -> None:
    if value < 0:
        raise InvalidValue(field, str(value), "must not be negative")
    _check_places(value, field)


@dataclass(frozen=True)
class Tier:
    from_units: Decimal
    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal(0)


@dataclass(frozen=True)
class Price:
    id: uuid.UUID
    offering_id: uuid.UUID | None
    kind: str
    amount: Money | None  # None only on a percentage discount, or a draft price not yet on an offering
    period: str | None
    usage_type: str | None
    unit_size: Decimal
    valid_from: datetime | None
    valid_to: datetime | None
    name: str | None = None
    description: str | None = None
    lifecycle_status: str = "active"
    charge_timing: str | None = None
    usage_model: str | None = None
    tiers: tuple[Tier, ...] = ()
    included_units: Decimal = Decimal(0)
    percentage: Decimal | None = None
    applies_to: str | None = None
    duration_periods: int | None = None
    promotion_code: str | None = None
    requires_offerings: tuple[uuid.UUID, ...] = ()
    segment: str | None = None
    change_policy: str | None = None
    last_update: datetime | None = None
    rate_table: str | None = None
    rollover: bool = False
    allowance_scope: str | None = None  # None on a rate-table price: "subscription"
    tax_included: bool = False  # `amount` includes the VAT of the customer's jurisdiction (billing derives the net)

    def is_valid_at(self, at: datetime) -> bool:
        """Validity is half-open [valid_from, valid_to), so a successor price can start where this one ends."""
        return (self.valid_from is None or self.valid_from <= at) and (self.valid_to is None or at < self.valid_to)

    @property
    def currency(self) -> str | None:
        return self.amount.currency if self.amount is not None else None

    @property
    def unit(self) -> str | None:
        """The unit `unit_size` counts in: second, message or byte (None for a price not on usage)."""
        return USAGE_UNITS.get(self.usage_type) if self.usage_type else None

    @property
    def charge_key(self) -> tuple[Any, ...]:
        """Prices with the same key are versions of one charge and must not overlap in time. An offering has
        one recurring fee and one price per usage type (per currency); one-time fees and discounts are told
        apart by name."""
        if self.kind in ("recurring", "usage", "commitment"):
            return (self.kind, self.usage_type, self.currency)
        return (self.kind, self.name, self.currency)


@dataclass(frozen=True)
class Experiment:
    """An offering is one `variant` of pricing experiment `name`, offered to customers in `segment`."""

    name: str
    variant: str
    segment: str


@dataclass(frozen=True)
class ProductOffering:
    id: uuid.UUID
    name: str
    description: str | None
    lifecycle_status: str
    tax_category: str
    prices: tuple[Price, ...]
    created_at: datetime
    last_update: datetime | None = None
    version: str | None = None
    is_sellable: bool = True
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    is_bundle: bool = False
    bundled_offering_ids: tuple[uuid.UUID, ...] = ()
    spec_id: uuid.UUID | None = None
    # A productSpecification ref to another system's catalog, kept as given (see service.SpecRef).
    spec_ref: dict[str, Any] | None = None
    category_ids: tuple[uuid.UUID, ...] = ()
    segments: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    experiment: Experiment | None = None

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

    def one_time_prices(self, currency: str, at: datetime) -> list[Price]:
        return [p for p in self.prices if p.kind == "oneTime" and p.currency == currency and p.is_valid_at(at)]

    def discounts(self, at: datetime) -> list[Price]:
        return [p for p in self.prices if p.kind == "discount" and p.is_valid_at(at)]

    def commitment(self, currency: str, at: datetime) -> Price | None:
        """The minimum spend on usage valid at `at` in `currency`, if the offering has one."""
        return next((p for p in self.prices if p.kind == "commitment" and p.currency == currency
                     and p.is_valid_at(at)), None)


# ---------------------------------------------------------------------------------------------- prices


def _check_tiers(tiers: Sequence[Tier], field: str) -> None:
    if not tiers:
        raise InvalidValue(f"{field}.tiers", [], "must hold at least one tier for a graduated or volume price")
    expected_from = Decimal(0)
    for i, t in enumerate(tiers):
        f = f"{field}.tiers[{i}]"
        if t.from_units != expected_from:
            problem = "must be 0" if i == 0 else f"must equal tiers[{i - 1}].upTo ({expected_from}): tiers are contiguous"
            raise InvalidValue(f"{f}.from", str(t.from_units), problem)
        last = i == len(tiers) - 1
        if t.up_to is None and not last:
            raise InvalidValue(f"{f}.upTo", None, "may be open only on the last tier")
        if t.up_to is not None and last:
            raise InvalidValue(f"{f}.upTo", str(t.up_to), "must be open (absent) on the last tier, so every "
                                                           "quantity has a price")
        if t.up_to is not None and t.up_to <= t.from_units:
            raise InvalidValue(f"{f}.upTo", str(t.up_to), f"must be greater than from ({t.from_units})")
        _check_amount(t.unit_price, f"{f}.unitPrice")
        _check_amount(t.flat_fee, f"{f}.flatFee")
        expected_from = t.up_to if t.up_to is not None else expected_from


def _absent(p: Price, field: str, **attrs: Any) -> None:
    for name, value in attrs.items():
        if value not in (None, (), Decimal(0)):
            shown = [str(v) for v in value] if isinstance(value, tuple) else value
            raise InvalidValue(f"{field}.{name}", shown, f"must be absent on a {p.kind} price")


def check_price(p: Price, field: str, *, draft: bool = False) -> None:
    """Check one price; `field` is its position in the request (productOfferingPrice[i]). A `draft` price
    (created on its own, not yet on an offering) may still lack its amount."""
    check_choice(p.kind, PRICE_KINDS, f"{field}.priceType")
    check_choice(p.lifecycle_status, LIFECYCLE_STATUSES, f"{field}.lifecycleStatus")
    if p.amount is not None:
        _check_amount(p.amount.amount, f"{field}.price.value")
    elif not draft and p.kind != "discount":  # a discount takes a percentage instead: _check_discount
        raise InvalidValue(f"{field}.price", None, f"is required on a {p.kind} price")
    if p.kind == "recurring":
        if not draft or p.period is not None:
            check_choice(p.period, RECURRING_PERIODS, f"{field}.recurringChargePeriodType")
        if p.charge_timing is not None:
            check_choice(p.charge_timing, CHARGE_TIMINGS, f"{field}.chargeTiming")
    elif p.kind == "commitment":
        if not draft or p.period is not None:
            check_choice(p.period, COMMITMENT_PERIODS, f"{field}.recurringChargePeriodType")
        _absent(p, field, chargeTiming=p.charge_timing)
    elif p.period is not None:
        raise InvalidValue(f"{field}.recurringChargePeriodType", p.period, f"must be absent on a {p.kind} price")
    else:
        _absent(p, field, chargeTiming=p.charge_timing)
    if p.kind == "usage":
        _check_usage(p, field, draft)
    else:
        _absent(p, field, usageType=p.usage_type, usageModel=p.usage_model, tiers=p.tiers,
                includedUnits=p.included_units, pricingLogicAlgorithm=p.rate_table, rollover=p.rollover,
                allowanceScope=p.allowance_scope)
        if p.unit_size != 1:
            raise InvalidValue(f"{field}.unitOfMeasure.amount", str(p.unit_size), f"must be 1 on a {p.kind} price")
    if p.kind == "discount":
        _check_discount(p, field)
    else:
        _absent(p, field, percentage=p.percentage, appliesTo=p.applies_to, applicationDuration=p.duration_periods,
                promotionCode=p.promotion_code, requiresOffering=p.requires_offerings, customerSegment=p.segment)
    if p.change_policy is not None:
        check_choice(p.change_policy, CHANGE_POLICIES, f"{field}.priceChangePolicy")
    check_validity(p.valid_from, p.valid_to, f"{field}.validFor")


def _check_usage(p: Price, field: str, draft: bool) -> None:
    if not draft or p.usage_type is not None:
        check_choice(p.usage_type, tuple(USAGE_UNITS), f"{field}.usageType")
    if p.unit_size <= 0:
        raise InvalidValue(f"{field}.unitOfMeasure.amount", str(p.unit_size), "must be greater than 0")
    _check_places(p.unit_size, f"{field}.unitOfMeasure.amount")
    model = p.usage_model or "perUnit"
    check_choice(model, USAGE_MODELS, f"{field}.usageModel")
    if p.included_units < 0:
        raise InvalidValue(f"{field}.includedUnits", str(p.included_units), "must not be negative")
    _check_places(p.included_units, f"{field}.includedUnits")
    if model in ("graduated", "volume"):
        _check_tiers(p.tiers, field)
        if p.amount is not None and p.amount.amount != p.tiers[0].unit_price:
            problem = f"must equal tiers[0].unitPrice ({p.tiers[0].unit_price}), the price a tiered tariff starts at"
            raise InvalidValue(f"{field}.price.value", str(p.amount.amount), problem)
    elif p.tiers:
        raise InvalidValue(f"{field}.tiers", len(p.tiers), f"must be absent on a {model} price")
    _check_rate_table(p, field, model)


def _check_rate_table(p: Price, field: str, model: str) -> None:
    """Rollover and pools are allowances that rating keeps in buckets: only for prices rated with a table."""
    if p.rate_table is None:
        _absent(p, field, rollover=p.rollover, allowanceScope=p.allowance_scope)
        return
    if not p.rate_table.strip():
        raise InvalidValue(f"{field}.pricingLogicAlgorithm[0].name", p.rate_table, "must name a rate table")
    if model != "perUnit":
        raise InvalidValue(f"{field}.usageModel", model, "must be perUnit on a price rated with a rate table")
    if p.included_units != p.included_units.to_integral_value():
        raise InvalidValue(f"{field}.includedUnits", str(p.included_units),
                           "must be whole units on a price rated with a rate table")
    if p.allowance_scope is not None:
        check_choice(p.allowance_scope, ALLOWANCE_SCOPES, f"{field}.allowanceScope")


def _check_discount(p: Price, field: str) -> None:
    if (p.percentage is None) == (p.amount is None):
        raise InvalidValue(f"{field}.percentage", None if p.percentage is None else str(p.percentage),
                           "a discount takes either a percentage or a price (a fixed amount off), exactly one")
    if p.percentage is not None and not (0 < p.percentage <= 100):
        raise InvalidValue(f"{field}.percentage", str(p.percentage), "must be greater than 0 and at most 100")
    if p.duration_periods is not None and p.duration_periods < 1:
        raise InvalidValue(f"{field}.applicationDuration", p.duration_periods, "must be at least 1 period")
    if p.promotion_code is not None and not p.promotion_code.strip():
        raise InvalidValue(f"{field}.promotionCode", p.promotion_code, "must not be empty")


def _overlap(a: Price, b: Price) -> bool:
    starts_before_b_ends = b.valid_to is None or a.valid_from is None or a.valid_from < b.valid_to
    ends_after_b_starts = a.valid_to is None or b.valid_from is None or b.valid_from < a.valid_to
    return starts_before_b_ends and ends_after_b_starts


def check_prices(prices: Sequence[Price], field: str = "productOfferingPrice") -> None:
    """Per currency, at any instant at most one recurring price and one usage price per usage type (and one
    one-time fee or discount per name), so rating and billing never have to choose between two tariffs. A
    discount that targets a price by name needs that price on the offering."""
    for i, p in enumerate(prices):
        check_price(p, f"{field}[{i}]")
        for j, q in enumerate(prices[:i]):
            if p.charge_key == q.charge_key and _overlap(p, q):
                what = " ".join(str(x) for x in p.charge_key if x)
                problem = f"overlaps {field}[{j}], a {what} price valid at the same time"
                raise InvalidValue(f"{field}[{i}]", what, problem)
    names = {p.name for p in prices if p.kind != "discount"}
    for i, p in enumerate(prices):
        if p.kind == "discount" and p.applies_to is not None and p.applies_to not in names:
            raise InvalidValue(f"{field}[{i}].appliesTo", p.applies_to, "names no price of this offering")


def check_offering(name: str, tax_category: str, lifecycle_status: str, prices: Sequence[Price]) -> str:
    """Check a whole offering before anything is written; returns the cleaned name."""
    clean = check_name(name)
    check_choice(tax_category, TAX_CATEGORIES, "taxCategory")
    check_choice(lifecycle_status, LIFECYCLE_STATUSES, "lifecycleStatus")
    check_prices(prices)
    return clean


def check_bundle(offering_id: uuid.UUID, is_bundle: bool, children: Sequence[ProductOffering]) -> None:
    """A bundle holds at least two other offerings, none of them a bundle itself (one level keeps ordering
    and billing of a bundle a flat list of products); a plain offering holds none."""
    if not is_bundle:
        if children:
            raise InvalidValue("bundledProductOffering", [str(c.id) for c in children],
                               "must be empty unless isBundle is true")
        return
    if len(children) < 2:
        raise InvalidValue("bundledProductOffering", [str(c.id) for c in children],
                           "must hold at least two offerings in a bundle")
    for i, c in enumerate(children):
        if c.id == offering_id:
            raise InvalidValue(f"bundledProductOffering[{i}].id", str(c.id), "is the bundle itself")
        if c.is_bundle:
            raise InvalidValue(f"bundledProductOffering[{i}].id", str(c.id), f"is the bundle {c.name}; bundles "
                                                                               "do not nest")
    if len({c.id for c in children}) != len(children):
        raise InvalidValue("bundledProductOffering", [str(c.id) for c in children], "holds an offering twice")


# --------------------------------------------------------------------------------------------- charges


def _ceil_div(a: Decimal, b: Decimal) -> Decimal:
    return Decimal(math.ceil(a / b))


def usage_charge(price: Price, quantity: Decimal) -> Money:
    """The charge for one period's total `quantity` (in the usage type's unit) under a usage price, kept to
    6 decimals. Examples with unit_size 1,000,000 bytes (1 MB) and 1 GB = 1000 MB:
    graduated tiers (0-1000 MB at 0.01, above at 0.005), 1500 MB: 1000 × 0.01 + 500 × 0.005 = 12.50;
    volume with the same tiers, 1500 MB: 1500 × 0.005 = 7.50; block of 60 s at 0.06, 61 s: 2 × 0.06."""
    if price.kind != "usage" or price.amount is None:
        raise InvalidValue("priceType", price.kind, "is not a usage price with an amount")
    currency = price.amount.currency
    q = max(quantity - price.included_units, Decimal(0))
    model = price.usage_model or "perUnit"
    if model == "perUnit":
        amount = q * price.amount.amount / price.unit_size
    elif model == "block":
        amount = _ceil_div(q, price.unit_size) * price.amount.amount
    elif model == "graduated":
        amount = Decimal(0)
        for t in price.tiers:
            top = q if t.up_to is None else min(q, t.up_to)
            if top > t.from_units:
                amount += (top - t.from_units) * t.unit_price / price.unit_size + t.flat_fee
    else:  # volume
        tier = next((t for t in price.tiers if t.up_to is None or q <= t.up_to), price.tiers[-1])
        amount = q * tier.unit_price / price.unit_size + tier.flat_fee if q > 0 else Decimal(0)
    return Money(amount, currency).rated()


def discount_applies(
    discount: Price, *, segment: str | None, held_offering_ids: Iterable[uuid.UUID], promotion_code: str | None,
    at: datetime,
) -> bool:
    """Whether the discount's conditions hold for a customer at `at` (validity, promotion code, the other
    offerings of a cross-product bundle, loyalty segment). Its duration is counted by `discount_amount`."""
    held = set(held_offering_ids)
    return (
        discount.kind == "discount"
        and discount.is_valid_at(at)
        and (discount.promotion_code is None or discount.promotion_code == promotion_code)
        and all(o in held for o in discount.requires_offerings)
        and (discount.segment is None or discount.segment == segment)
    )


def discount_amount(discount: Price, charge: Money, period_index: int) -> Money:
    """The amount a discount takes off `charge` in the `period_index`-th bill period since activation
    (0-based), as a positive Money: a percentage of the charge, or a fixed amount capped at the charge, and
    nothing once `duration_periods` have passed."""
    if discount.duration_periods is not None and period_index >= discount.duration_periods:
        return Money(Decimal(0), charge.currency)
    if discount.percentage is not None:
        return Money(charge.amount * discount.percentage / 100, charge.currency).rated()
    assert discount.amount is not None  # check_price: a discount has a percentage or an amount
    if discount.amount.currency != charge.currency:
        raise InvalidValue("price.unit", discount.amount.currency, f"differs from the charge's {charge.currency}")
    return Money(min(discount.amount.amount, charge.amount), charge.currency)


# ------------------------------------------------------------------------------------ versions over time


def price_for_subscription(
    versions: Sequence[Price], subscribed_at: datetime, at: datetime,
    cycle_start_on_or_after: Callable[[datetime], datetime],
) -> Price | None:
    """The version of one charge that applies at `at` to a subscription that started at `subscribed_at`.

    `versions` are the prices of one charge (same `charge_key`); `cycle_start_on_or_after(t)` gives the
    subscription's first bill-cycle start at or after t (from billing's cycle rules). The subscription starts
    on the version valid at `subscribed_at`; each later version that has started by `at` moves it on only when
    that version's `change_policy` is ``next_cycle``, from the first cycle start on or after its start; under
    ``keep`` it stays grandfathered on what it had. None when no version was valid at subscription.
    """
    ordered = sorted(versions, key=lambda p: (p.valid_from is not None, p.valid_from or subscribed_at))
    current = next((p for p in ordered if p.is_valid_at(subscribed_at)), None)
    if current is None:
        return None
    for p in ordered:
        if p.valid_from is None or current.valid_from is not None and p.valid_from <= current.valid_from:
            continue
        if p.valid_from > at or p.valid_from <= subscribed_at:
            continue
        if p.change_policy == "next_cycle" and cycle_start_on_or_after(p.valid_from) <= at:
            current = p
    return current


# --------------------------------------------------------------------------------------------- selling


def is_eligible(
    offering: ProductOffering, segment: str | None, country: str | None, channel: str | None, at: datetime,
) -> tuple[bool, str]:
    """Whether a customer in `segment`, in `country` (ISO 3166 alpha-2), ordering through `channel` may order
    the offering at `at`; the reason names what fails (or "eligible"). Empty lists on the offering mean "any"."""
    checks: list[tuple[bool, str]] = [
        (offering.is_orderable, f"is {offering.lifecycle_status}, not orderable"),
        (offering.is_sellable, "is not sellable on its own"),
        (offering.valid_from is None or offering.valid_from <= at,
         f"is on sale from {offering.valid_from.isoformat() if offering.valid_from else ''}"),
        (offering.valid_to is None or at < offering.valid_to,
         f"was on sale until {offering.valid_to.isoformat() if offering.valid_to else ''}"),
        (not offering.segments or segment in offering.segments,
         f"is for customer segments {', '.join(offering.segments)}, not {segment}"),
        (not offering.countries or country in offering.countries,
         f"is sold in {', '.join(offering.countries)}, not {country}"),
        (not offering.channels or channel in offering.channels,
         f"is sold through {', '.join(offering.channels)}, not {channel}"),
        (offering.experiment is None or offering.experiment.segment == segment,
         f"is variant {offering.experiment.variant if offering.experiment else ''} of experiment "
         f"{offering.experiment.name if offering.experiment else ''}, offered to segment "
         f"{offering.experiment.segment if offering.experiment else ''}, not {segment}"),
    ]
    for ok, reason in checks:
        if not ok:
            return False, reason
    return True, "eligible"


# ------------------------------------------------------------------------- specifications and structure


@dataclass(frozen=True)
class CharacteristicValue:
    value: Any
    value_type: str | None = None
    is_default: bool = False
    unit_of_measure: str | None = None


@dataclass(frozen=True)
class Characteristic:
    name: str
    value_type: str | None = None
    description: str | None = None
    configurable: bool = False
    min_cardinality: int = 0
    max_cardinality: int = 1
    values: tuple[CharacteristicValue, ...] = ()


def check_characteristics(chars: Sequence[Characteristic], field: str = "productSpecCharacteristic") -> None:
    seen: set[str] = set()
    for i, c in enumerate(chars):
        f = f"{field}[{i}]"
        check_name(c.name, f"{f}.name")
        if c.name in seen:
            raise InvalidValue(f"{f}.name", c.name, "is used by another characteristic of this specification")
        seen.add(c.name)
        if c.min_cardinality < 0:
            raise InvalidValue(f"{f}.minCardinality", c.min_cardinality, "must not be negative")
        if c.max_cardinality < max(c.min_cardinality, 1):
            raise InvalidValue(f"{f}.maxCardinality", c.max_cardinality,
                               f"must be at least 1 and at least minCardinality ({c.min_cardinality})")
        if sum(v.is_default for v in c.values) > 1:
            raise InvalidValue(f"{f}.productSpecCharacteristicValue", len(c.values), "has more than one default")


@dataclass(frozen=True)
class ProductSpecification:
    id: uuid.UUID
    name: str
    description: str | None
    brand: str | None
    version: str | None
    lifecycle_status: str
    valid_from: datetime | None
    valid_to: datetime | None
    characteristics: tuple[Characteristic, ...]
    created_at: datetime
    last_update: datetime
    product_number: str | None = None


@dataclass(frozen=True)
class Category:
    id: uuid.UUID
    name: str
    description: str | None
    parent_id: uuid.UUID | None
    version: str | None
    lifecycle_status: str
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime
    last_update: datetime
    sub_category_ids: tuple[uuid.UUID, ...] = field(default=())

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


@dataclass(frozen=True)
class Catalog:
    id: uuid.UUID
    name: str
    description: str | None
    catalog_type: str | None
    version: str | None
    lifecycle_status: str
    valid_from: datetime | None
    valid_to: datetime | None
    category_ids: tuple[uuid.UUID, ...]
    created_at: datetime
    last_update: datetime


def check_validity(valid_from: datetime | None, valid_to: datetime | None, field: str = "validFor") -> None:
    for name, at in (("startDateTime", valid_from), ("endDateTime", valid_to)):
        if at is not None and at.tzinfo is None:
            raise InvalidValue(f"{field}.{name}", at.isoformat(), "must carry a time zone offset")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise InvalidValue(f"{field}.endDateTime", valid_to.isoformat(), "must be after startDateTime")


def check_parent(category_id: uuid.UUID, parent_id: uuid.UUID | None, parent_of: Callable[[uuid.UUID], Any]) -> None:
    """A category's parent chain must not come back to the category (`parent_of(id)` gives a parent id)."""
    seen = {category_id}
    at = parent_id
    while at is not None:
        if at in seen:
            raise InvalidValue("parentId", str(parent_id), f"would make category {category_id} its own ancestor")
        seen.add(at)
        at = parent_of(at)

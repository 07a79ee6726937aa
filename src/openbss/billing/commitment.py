"""Minimum spend commitments: the top-up line when a product's usage charges in a bill period fall below the
commitment of its offering (catalog price kind "commitment", TMF620 priceType "commitment"). Pure, no I/O.

Decisions:
- The commitment is on the product's USAGE charges, not its total: recurring charges on an invoice are billed
  in advance for the next period while usage is billed in arrears for this one, so a "total of the period"
  would mix two periods; usage is what a minimum spend commits a customer to in telecom tariffs.
- Spent = the product's usage lines on this invoice (late usage and rerating adjustments included: they are
  what the customer is charged for usage on it), each as rounded on its line.
- Committed = the price's amount per cycle month x the months of the period (a quarter: 3), prorated by the
  days the product was charged in the period (its charged spans: not before activation, not after
  cancellation, not while suspended with charges stopped): amount x months x days lived / days in the period,
  rounded once. So a final bill, whose products ended during the period, commits to the prorated amount.
- The version is the one valid at the period's start (or when the product moved to the offering, if later);
  of a bundle, the first of its offerings that has one. The line is taxed like the product (the offering's tax
  category), in the price's terms (`tax_included`), in arrears: its service period is the days lived.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from openbss.billing.charges import Charge, Context, components
from openbss.billing.periods import BillPeriod
from openbss.billing.spans import charged_spans, date_ranges, day_ordinals
from openbss.core.money import Money, total

if TYPE_CHECKING:
    from openbss.catalog.model import Price
    from openbss.ordering.model import Product


def _commitment(ctx: Context, product: Product, period: BillPeriod) -> Price | None:
    spans = charged_spans(product, ctx.subject.events, ctx.payer.time_zone)
    since = spans[-1].since if spans else product.start_at
    at = max(period.start_at, since)
    for component in components(ctx.offering(product.offering_id), ctx.subject.offerings):
        price = component.commitment(ctx.currency, at)
        if price is not None:
            return price
    return None


def _lived(ctx: Context, product: Product, period: BillPeriod) -> set[int]:
    """The days of `period` the product was charged for (day ordinals)."""
    days: set[int] = set()
    for span in charged_spans(product, ctx.subject.events, ctx.payer.time_zone):
        end = period.end if span.end is None else min(span.end, period.end)
        if span.start < end:
            days |= day_ordinals(max(span.start, period.start), end)
    return days


def commitment_charges(ctx: Context, period: BillPeriod, usage: Sequence[Charge]) -> list[Charge]:
    """One top-up per product whose usage charges on this invoice (`usage`) fall below its commitment, in product
    order: committed - spent."""
    charges = []
    for product in ctx.subject.products:
        price = _commitment(ctx, product, period)
        lived = _lived(ctx, product, period) if price is not None else set()
        if price is None or not lived:
            continue
        # Multiply before dividing, as for recurring charges: 20.00 x 3 x 92 / 92 is exactly 60.00.
        committed = Money(price.amount.amount * period.months * len(lived) / period.days,
                          ctx.currency).rounded(ctx.rounding)
        spent = total((c.net for c in usage if c.product_id == product.id), ctx.currency)
        if spent >= committed:
            continue
        offering = ctx.offering(product.offering_id)
        (first, _), (_, end) = date_ranges(lived)[0], date_ranges(lived)[-1]
        share = "" if len(lived) == period.days else f" ({len(lived)}/{period.days} days)"
        charges.append(Charge(
            "commitment", f"{ctx.label}{offering.name}: minimum spend {committed} on usage{share}, "
            f"usage charged {spent}", product.id, offering.id, offering.tax_category, None, Decimal(1), "each",
            first, end, committed - spent, tax_included=price.tax_included,
        ))
    return charges

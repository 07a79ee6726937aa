"""Usage charges on an invoice, in arrears: one line per product and usage type, priced per record or on the
period's total (see billing.generator for the rules). Pure, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from openbss.billing.charges import Charge, Context, components, cycle_start_on_or_after
from openbss.billing.periods import BillPeriod
from openbss.billing.spans import charged_spans
from openbss.catalog.model import price_for_subscription, usage_charge
from openbss.core.errors import InvalidValue
from openbss.core.money import total

if TYPE_CHECKING:
    from openbss.catalog.model import Price
    from openbss.mediation.model import UsageTotal
    from openbss.ordering.model import Product


def usage_price(ctx: Context, product: Product, usage_type: str, period: BillPeriod) -> Price | None:
    """The usage price a period's total is re-priced with: of the product's offering, or for a bundle without
    one, of the first bundled offering that has one (as rating finds it); the version the subscription has at
    the start of `period`, or at its move to the offering when later (`price_for_subscription`: keep or
    next_cycle, so one version holds for a whole period). None when the offering has no such price."""
    tz, bcd = ctx.payer.time_zone, ctx.payer.bill_cycle_day
    spans = charged_spans(product, ctx.subject.events, tz)
    since = spans[-1].since if spans else product.start_at
    at = max(period.start_at, since)
    for component in components(ctx.offering(product.offering_id), ctx.subject.offerings):
        versions = [p for p in component.prices
                    if p.kind == "usage" and p.usage_type == usage_type and p.currency == ctx.currency]
        if versions:
            price = price_for_subscription(versions, since, at, lambda t: cycle_start_on_or_after(t, bcd, tz))
            return price or component.usage_price(usage_type, ctx.currency, at)
    return None


def priced_on_totals(price: Price | None) -> bool:
    """Whether a usage price charges a period's total rather than each record: an allowance, blocks or tiers.
    Never a price rated with a rate table: rating charged each record by the table (zones, bands, increments)
    and already took its included units from allowance buckets, so its usage is the sum of the records."""
    return price is not None and price.rate_table is None and (
        (price.usage_model or "perUnit") != "perUnit" or price.included_units > 0)


def usage_charges(ctx: Context, period: BillPeriod) -> list[Charge]:
    """One charge per product and usage type, in product order, rounded once. A price per unit without an
    allowance charges the sum of the rated records (each rated to 6 decimals); a price with an allowance,
    blocks or tiers charges `usage_charge` of the total quantity claimed (late usage of earlier periods
    counts with this period's: see the module docstring). Rerating adjustments of a product's usage type
    follow its usage line on a line of their own, the sum of their signed differences (a credit when
    negative), never re-priced: quantity = the records adjusted."""
    products = {p.id: p for p in ctx.subject.products}
    grouped: dict[tuple[uuid.UUID, str, bool], list[UsageTotal]] = {}
    for u in ctx.subject.usage_totals:
        if u.product_id not in products:
            raise InvalidValue("usage.productId", str(u.product_id), "is not a product of this account")
        grouped.setdefault((u.product_id, u.usage_type, u.adjustment), []).append(u)
    rank = {product_id: i for i, product_id in enumerate(products)}
    charges = []
    for (product_id, usage_type, adjustment), totals in sorted(
            grouped.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1], kv[0][2])):
        # Usage is the offering's the product has now: rated usage carries no offering of its own.
        product = products[product_id]
        offering = ctx.offering(product.offering_id)
        if adjustment:
            charges.append(Charge(
                "usage", f"{ctx.label}{offering.name}, {usage_type} usage rerating adjustment", product_id,
                offering.id, offering.tax_category, usage_type, Decimal(sum(u.count for u in totals)), "each",
                None, None, total((u.amount for u in totals), ctx.currency).rounded(ctx.rounding)))
            continue
        quantity, unit = sum((u.quantity for u in totals), Decimal(0)), totals[0].unit
        price = usage_price(ctx, product, usage_type, period)
        description = f"{ctx.label}{offering.name}, {usage_type} usage"
        if any(u.late for u in totals):  # arrived after its period was billed: priced with this period's
            late = "late," if all(u.late for u in totals) else "with late usage"
            description += f" ({late} from before {period.start.isoformat()})"
        if priced_on_totals(price):
            if period.months > 1:  # included units are per cycle month, as rating's buckets: a quarter has 3
                price = replace(price, included_units=price.included_units * period.months)
            net = usage_charge(price, quantity)
            if price.included_units:
                description += f" ({price.included_units.normalize():f} {unit}s included)"
        else:
            net = total((u.amount for u in totals), ctx.currency)
        charges.append(Charge(
            "usage", description, product_id, offering.id, offering.tax_category, usage_type, quantity, unit,
            None, None, net.rounded(ctx.rounding), tax_included=price is not None and price.tax_included,
        ))
    return charges

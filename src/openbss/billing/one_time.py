"""One-time charges of one product on an invoice: the one-time prices of the offering it started on, and the
early-termination fee of an immediate cancellation. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from openbss.billing.charges import Charge, Context, components
from openbss.billing.periods import BillPeriod, local_date
from openbss.core.errors import InvalidValue
from openbss.core.money import Money

if TYPE_CHECKING:
    from openbss.billing.model import InvoiceLine
    from openbss.ordering.model import Product


def one_time_charges(ctx: Context, period: BillPeriod, product: Product, existing: Sequence[InvoiceLine]) -> list[Charge]:
    """One-time prices of the offering the product started on, billed once on the invoice of the period its
    life started in (or the first one after), and the early-termination fee of an immediate cancellation."""
    tz = ctx.payer.time_zone
    done = {line.kind for line in existing if line.product_id == product.id}
    charges = []
    for e in ctx.subject.events:
        if e.product_id != product.id or local_date(e.at, tz) >= period.end:
            continue
        day = local_date(e.at, tz)
        if e.kind in ("activated", "trial_started") and "oneTime" not in done:
            offering = ctx.offering(e.offering_id)
            for component in components(offering, ctx.subject.offerings):
                for price in component.one_time_prices(ctx.currency, e.at):
                    charges.append(Charge(
                        "oneTime", f"{ctx.label}{component.name}: {price.name or 'one-time charge'}, {day.isoformat()}",
                        product.id, offering.id, offering.tax_category, None, Decimal(1), "each", day,
                        day + timedelta(days=1), price.amount.rounded(ctx.rounding), tax_included=price.tax_included))
        fee = e.details.get("earlyTerminationFee")
        if e.kind == "cancelled" and fee and "fee" not in done:
            offering = ctx.offering(e.offering_id)
            amount = Money.of(fee["value"], fee["unit"])
            if amount.currency != ctx.currency:
                raise InvalidValue("earlyTerminationFee.unit", amount.currency, f"differs from the account's {ctx.currency}")
            charges.append(Charge(
                "fee", f"{ctx.label}{offering.name}: early-termination fee, cancelled {day.isoformat()}", product.id,
                offering.id, offering.tax_category, None, Decimal(1), "each", day, day + timedelta(days=1),
                amount.rounded(ctx.rounding)))
    return charges

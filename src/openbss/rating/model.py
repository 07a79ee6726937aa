"""Pure rating rules: turn a measured quantity into a charge with a catalog usage price."""

from __future__ import annotations

import decimal
from decimal import Decimal

from openbss.catalog.model import Price
from openbss.core.errors import InvalidValue
from openbss.core.money import Money

# Enough digits that quantity x amount / unit size is exact before the one rounding to 6 decimals,
# even for NUMERIC(24,6) quantities (the default 28 digits could round twice).
_PRECISION = 60


def rate(quantity: Decimal, price: Price) -> Money:
    """quantity / unit_size x amount, quantized once to 6 decimals half-up (`Money.rated`): one record per unit
    at the price's `amount` (for tiered prices the first tier's, the "from" price), whatever its usage model.
    Allowances, blocks and tiers apply to a bill period's total, which billing re-prices with
    `catalog.model.usage_charge` (see billing.model); for those prices the record's charge is an estimate."""
    if not isinstance(quantity, Decimal) or not quantity.is_finite():
        raise InvalidValue("quantity", quantity, "must be a finite decimal number")
    if quantity < 0:
        raise InvalidValue("quantity", quantity, "must not be negative")
    with decimal.localcontext(prec=_PRECISION):
        # Multiply before dividing: a price per 60 seconds or per 1,000,000 bytes then stays exact.
        amount = quantity * price.amount.amount / price.unit_size
    return Money(amount, price.amount.currency).rated()

"""Pure rating rules: a measured quantity charged at a catalog usage price, and allowance buckets."""

from __future__ import annotations

import decimal
import uuid
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True)
class Bucket:
    """Included units of one owner (a product, or the root account of a hierarchy pool) for one usage type in
    one bill cycle period [period_start, period_end). Units are consumed rolled-over first (they expire at the
    period's end, while the granted ones could roll over), so `used` splits as `used_rolled_over` then
    `used_granted`; what rolls over to the next period (with rollover) is `unused_granted`."""

    id: uuid.UUID
    owner_kind: str  # "product" or "account"
    owner_id: uuid.UUID
    account_id: uuid.UUID
    price_id: uuid.UUID
    usage_type: str
    unit: str
    period_start: datetime
    period_end: datetime
    granted: Decimal
    rolled_over: Decimal
    used: Decimal

    @property
    def left(self) -> Decimal:
        return self.granted + self.rolled_over - self.used

    @property
    def used_granted(self) -> Decimal:
        return max(self.used - self.rolled_over, Decimal(0))

    @property
    def unused_granted(self) -> Decimal:
        return self.granted - self.used_granted


def rollover_from(previous: Bucket | None, previous_grant: Decimal) -> Decimal:
    """Units carried into a period from the one before: its granted units left unused (never its own
    rolled-over ones, which expire). Without a bucket for that period nothing was used: all of its grant."""
    return previous_grant if previous is None else previous.unused_granted

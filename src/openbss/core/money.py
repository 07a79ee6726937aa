"""Money: a Decimal amount with an ISO 4217 currency, never a float.

Rated amounts keep up to 6 decimals; amounts on documents are rounded once, per line, to the
currency's minor units (from Babel's CLDR data) with a named rounding mode.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache

from babel.numbers import get_currency_precision, list_currencies

from openbss.core.errors import InvalidValue

RATED_PLACES = 6
RATED_QUANTUM = Decimal(1).scaleb(-RATED_PLACES)

ROUNDING_MODES = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
}
DEFAULT_ROUNDING = "half_up"


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str, field: str = "currency") -> str:
    """Return the ISO 4217 code, or raise InvalidValue naming the field."""
    if isinstance(code, str) and code in _known_currencies():  # the codes are upper case: "eur" is not one
        return code
    raise InvalidValue(field, code, "is not an ISO 4217 currency code")


@cache
def minor_units(currency: str) -> int:
    """Digits after the decimal point for the currency: JPY 0, EUR 2, KWD 3."""
    return get_currency_precision(check_currency(currency))


def rounding_mode(name: str) -> str:
    try:
        return ROUNDING_MODES[name]
    except KeyError:
        raise InvalidValue("rounding", name, f"must be one of {', '.join(ROUNDING_MODES)}") from None


def to_decimal(value: object, field: str = "amount") -> Decimal:
    """Parse a decimal from str/int/Decimal; floats are refused because they cannot hold cents exactly."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidValue(field, value, "must be a decimal string or integer, not a float")
    try:
        result = Decimal(value) if not isinstance(value, Decimal) else value
    except (decimal.InvalidOperation, TypeError, ValueError):
        raise InvalidValue(field, value, "is not a decimal number") from None
    if not result.is_finite():
        raise InvalidValue(field, value, "is not a finite number")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def of(cls, amount: object, currency: str, field: str = "amount") -> Money:
        return cls(to_decimal(amount, field), check_currency(currency))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidValue("currency", other.currency, f"does not match {self.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply Money by Decimal or int, never float")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def rated(self) -> Money:
        """Quantize to the 6 decimals rated usage keeps (half-up: the rating convention)."""
        return Money(self.amount.quantize(RATED_QUANTUM, rounding=decimal.ROUND_HALF_UP), self.currency)

    def rounded(self, mode: str = DEFAULT_ROUNDING) -> Money:
        """Round to the currency's minor units with the named mode; done once per document line."""
        quantum = Decimal(1).scaleb(-minor_units(self.currency))
        return Money(self.amount.quantize(quantum, rounding=rounding_mode(mode)), self.currency)

    def __str__(self) -> str:
        # Show at least the currency's minor units and no storage padding: 28031.880000 EUR reads 28031.88 EUR,
        # a rated 0.123456 EUR keeps its six places.
        places = max(minor_units(self.currency), -self.amount.normalize().as_tuple().exponent)
        return f"{self.amount.quantize(Decimal(1).scaleb(-places))} {self.currency}"


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum Money values in one currency; an empty sum is zero in that currency."""
    result = Money.zero(currency)
    for m in amounts:
        result = result + m
    return result

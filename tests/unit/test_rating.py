import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.catalog.model import Price
from openbss.core.errors import InvalidValue
from openbss.core.money import Money
from openbss.rating.model import rate


def usage_price(amount: str, unit_size: int | str = 1, usage_type: str = "voice", currency: str = "EUR") -> Price:
    return Price(
        id=uuid.uuid4(),
        offering_id=uuid.uuid4(),
        kind="usage",
        amount=Money.of(amount, currency),
        period=None,
        usage_type=usage_type,
        unit_size=Decimal(unit_size),
        valid_from=None,
        valid_to=None,
    )


@pytest.mark.parametrize(
    "quantity, price, expected",
    [
        ("125", usage_price("0.0020"), "0.250000"),  # 125 s x 0.0020 EUR/s
        ("1500000", usage_price("0.0100", 1_000_000), "0.015000"),  # 1.5 MB x 0.01 EUR per 1,000,000 bytes
        ("1", usage_price("0.0100", 1_000_000), "0.000000"),  # 1 byte x 0.01 / 1e6 = 0.00000001, below 6 decimals
        ("50", usage_price("0.0100", 1_000_000), "0.000001"),  # 50 / 1e6 x 0.01 = 0.0000005 -> half-up to 0.000001
        ("49", usage_price("0.0100", 1_000_000), "0.000000"),  # 0.00000049 -> half-up down to 0
        ("61", usage_price("0.10", 60), "0.101667"),  # 61 s at 0.10 per minute: 0.1016666... -> 0.101667
        ("3", usage_price("0.09", usage_type="sms"), "0.270000"),  # 3 messages x 0.09
        ("0", usage_price("0.0020"), "0.000000"),  # nothing used, nothing charged
    ],
)
def test_rate_is_quantity_over_unit_size_times_amount_rounded_once(quantity, price, expected):
    assert rate(Decimal(quantity), price) == Money(Decimal(expected), "EUR")


def test_rate_keeps_the_price_currency():
    assert rate(Decimal(100), usage_price("1", currency="JPY")) == Money(Decimal("100.000000"), "JPY")  # 100 x 1


def test_rate_rounds_once_on_the_exact_value():
    # 1 s at 0.000165 per 30 s: 1 x 0.000165 / 30 = 0.0000055 exactly, a half, so half-up gives 0.000006.
    # Dividing first (1/30 = 0.0333...3, cut at 28 digits) lands on 0.0000054999... and rounds to 0.000005.
    assert rate(Decimal(1), usage_price("0.000165", 30)) == Money(Decimal("0.000006"), "EUR")


@pytest.mark.parametrize("quantity", [Decimal(-1), Decimal("-0.000001"), Decimal("NaN"), Decimal("Infinity")])
def test_rate_refuses_negative_or_non_finite_quantity(quantity):
    with pytest.raises(InvalidValue) as err:
        rate(quantity, usage_price("0.0020"))
    assert err.value.field == "quantity"


quantities = st.decimals(min_value=0, max_value=Decimal("1e12"), places=6, allow_nan=False, allow_infinity=False)
prices = st.builds(
    usage_price,
    amount=st.decimals(min_value=0, max_value=100, places=6).map(str),
    unit_size=st.sampled_from([1, 60, 1000, 1_000_000, "0.5"]),
)


@given(a=quantities, b=quantities, price=prices)
def test_rating_is_additive_within_one_rounding_step(a, b, price):
    # Each rate() rounds once by at most half a micro-unit, so the two sides differ by at most 1e-6.
    split = rate(a, price) + rate(b, price)
    assert abs(split.amount - rate(a + b, price).amount) <= Decimal("0.000001")


@given(price=prices)
def test_zero_in_zero_out(price):
    assert rate(Decimal(0), price).is_zero()


@given(a=quantities, b=quantities, price=prices)
def test_rating_is_monotone_in_quantity(a, b, price):
    low, high = sorted((a, b))
    assert rate(low, price) <= rate(high, price)


@given(q=quantities, price=prices)
def test_rated_amount_has_six_decimals(q, price):
    assert rate(q, price).amount.as_tuple().exponent == -6

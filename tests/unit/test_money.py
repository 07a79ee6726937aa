from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.core.errors import InvalidValue
from openbss.core.money import Money, minor_units, total


def test_minor_units_come_from_cldr():
    assert (minor_units("EUR"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)


@pytest.mark.parametrize(
    "amount, currency, mode, expected",
    [
        ("2.345", "EUR", "half_up", "2.35"),  # the 5 rounds away from zero
        ("2.345", "EUR", "half_even", "2.34"),  # banker's rounding keeps the even 4
        ("-2.345", "EUR", "half_up", "-2.35"),  # symmetric for credits
        ("1234.5", "JPY", "half_up", "1235"),  # yen has no minor unit
        ("1.23456", "KWD", "half_up", "1.235"),  # dinar has three
        ("0.004999", "EUR", "half_up", "0.00"),
        ("2.341", "EUR", "ceiling", "2.35"),
        ("2.349", "EUR", "down", "2.34"),
    ],
)
def test_rounding_modes(amount, currency, mode, expected):
    assert Money.of(amount, currency).rounded(mode) == Money(Decimal(expected), currency)


def test_rated_keeps_six_decimals():
    assert Money.of("0.12345649", "EUR").rated().amount == Decimal("0.123456")
    assert Money.of("0.1234565", "EUR").rated().amount == Decimal("0.123457")


def test_bad_input_names_field_and_value():
    with pytest.raises(InvalidValue, match=r"currency='EURO' is not an ISO 4217"):
        Money.of("1.00", "EURO")
    with pytest.raises(InvalidValue, match=r"price='abc' is not a decimal"):
        Money.of("abc", "EUR", field="price")
    with pytest.raises(InvalidValue, match="not a float"):
        Money.of(0.1, "EUR")


def test_no_mixing_currencies():
    with pytest.raises(InvalidValue, match="does not match EUR"):
        Money.of("1", "EUR") + Money.of("1", "USD")


cents = st.integers(min_value=-10**12, max_value=10**12).map(lambda c: Decimal(c).scaleb(-2))
rated = st.integers(min_value=0, max_value=10**14).map(lambda c: Decimal(c).scaleb(-6))


@given(st.lists(cents, max_size=50))
def test_sum_of_rounded_lines_is_exact(amounts):
    # Amounts already in cents stay unchanged by rounding, so the total is exactly their sum.
    lines = [Money(a, "EUR").rounded() for a in amounts]
    assert total(lines, "EUR").amount == sum(amounts, Decimal(0))


@given(rated)
def test_rounding_moves_at_most_half_a_cent(amount):
    r = Money(amount, "EUR").rounded("half_up").amount
    assert abs(r - amount) <= Decimal("0.005")
    assert r == r.quantize(Decimal("0.01"))


@given(rated, st.sampled_from(["half_up", "half_even", "down", "up"]))
def test_rounding_is_idempotent(amount, mode):
    once = Money(amount, "EUR").rounded(mode)
    assert once.rounded(mode) == once

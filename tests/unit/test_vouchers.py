"""Pure rules of vouchers and balances: PINs and their salted hashes, use thresholds, quantities."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.charging.balances import check_quantity, shown, thresholds_reached, unit_of, units_code
from openbss.charging.vouchers import (
    PIN_DIGITS,
    check_value,
    format_pin,
    new_pin,
    normalize_pin,
    not_a_voucher,
    pin_hash,
)
from openbss.core.errors import InvalidValue
from openbss.core.money import Money

D = Decimal


def test_pins_are_16_digits_zero_padded():
    assert new_pin(lambda n: 42) == "0000000000000042"
    assert len(new_pin()) == PIN_DIGITS and new_pin().isdigit()


@pytest.mark.parametrize("typed, expected", [
    ("1234 5678 9012 3456", "1234567890123456"),
    ("1234-5678-9012-3456", "1234567890123456"),
    ("123456789012345", None),  # 15 digits
    ("12345678901234567", None),
    ("1234567890abcdef", None),
    ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", None),  # Arabic-Indic digits are digits to str.isdigit, not PINs
    (None, None),
    (1234567890123456, None),
])
def test_normalize_pin(typed, expected):
    assert normalize_pin(typed) == expected


def test_format_pin_groups_by_four_and_normalizes_back():
    pin = "0000111122223333"
    assert format_pin(pin) == "0000 1111 2222 3333"
    assert normalize_pin(format_pin(pin)) == pin


def test_the_hash_depends_on_the_batch_salt_and_is_not_the_pin():
    pin = "1234567890123456"
    a, b = pin_hash("00" * 16, pin), pin_hash("01" * 16, pin)
    assert a != b and pin not in a and len(a) == 64
    assert pin_hash("00" * 16, pin) == a  # deterministic: the look-up key


def test_the_refusal_never_shows_the_pin():
    e = not_a_voucher()
    assert (e.field, e.value) == ("voucher", "***")
    assert e.message.startswith("voucher='***' is not a valid voucher")


def test_voucher_values_are_positive_and_in_minor_units():
    assert check_value(Money.of("10.00", "EUR")) == Money.of("10.00", "EUR")
    with pytest.raises(InvalidValue, match="amount"):
        check_value(Money.of("0", "EUR"))
    with pytest.raises(InvalidValue, match="minor units"):
        check_value(Money.of("10.5", "JPY"))  # JPY has no minor units


@pytest.mark.parametrize("amount, used, reached", [
    ("10.00", "7.99", set()),  # 79.9 %
    ("10.00", "8.00", {80}),  # 8.00 / 10.00 = 80 %
    ("10.00", "10.00", {80, 100}),
    ("3", "3", {80, 100}),
    ("0", "0", set()),  # an empty bucket announces nothing
])
def test_thresholds_reached(amount, used, reached):
    assert thresholds_reached(D(amount), D(used)) == reached


@given(st.decimals(min_value=0, max_value=10**9, places=6), st.decimals(min_value=0, max_value=10**9, places=6))
def test_thresholds_grow_with_use(amount, used):
    """More use never reaches fewer thresholds, and 100 % is reached exactly when nothing is left unused."""
    assert thresholds_reached(amount, used) <= thresholds_reached(amount, used + 1)
    assert (100 in thresholds_reached(amount, used)) == (amount > 0 and used >= amount)


def test_quantities_money_to_minor_units_units_whole():
    assert check_quantity("10.50", "money", "EUR", "amount") == D("10.50")
    assert check_quantity(-5, "money", "EUR", "amount", signed=True) == D(-5)
    assert check_quantity(600, "second", None, "amount") == 600
    for value, unit, currency in [("1.234", "money", "EUR"), ("1.5", "second", None), ("-1", "money", "EUR"),
                                  ("0", "byte", None)]:
        with pytest.raises(InvalidValue, match="^amount="):
            check_quantity(value, unit, currency, "amount")
    assert (shown(D("9.99"), "money", "EUR"), shown(D("1200.000000"), "second", None)) == ("9.99", "1200")


def test_usage_types_and_units():
    assert [unit_of(t) for t in ("monetary", "voice", "data", "sms")] == ["money", "second", "byte", "message"]
    assert (units_code("money", "EUR"), units_code("byte", None)) == ("EUR", "byte")
    with pytest.raises(InvalidValue, match="usageType='other'"):
        unit_of("other")

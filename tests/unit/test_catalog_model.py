"""Pure tariff rules: what a price and an offering must hold before anything is written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from openbss.catalog.model import Price, ProductOffering, check_offering, check_prices
from openbss.core.errors import InvalidValue
from openbss.core.money import Money

OFFER = uuid.UUID(int=1)
JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)


def price(kind="usage", amount="0.0020", currency="EUR", period=None, usage_type="voice", unit_size="1",
          valid_from=None, valid_to=None) -> Price:
    return Price(uuid.uuid4(), OFFER, kind, Money.of(amount, currency), period, usage_type, Decimal(unit_size),
                 valid_from, valid_to)


def monthly(amount="30.00", currency="EUR", **kw) -> Price:
    return price("recurring", amount, currency, "month", None, **kw)


def problem(prices) -> InvalidValue:
    with pytest.raises(InvalidValue) as e:
        check_prices(prices)
    return e.value


def test_a_full_mobile_tariff_passes():
    check_prices([monthly(), price(usage_type="voice"), price("usage", "0.09", usage_type="sms"),
                  price("usage", "0.01", usage_type="data", unit_size="1000000")])


@pytest.mark.parametrize(
    "bad, field, value",
    [
        (price(amount="-0.01"), "productOfferingPrice[0].price.value", "-0.01"),
        (monthly(amount="-30"), "productOfferingPrice[0].price.value", "-30"),
        (price(amount="0.0000001"), "productOfferingPrice[0].price.value", "1E-7"),
        (price(kind="setup"), "productOfferingPrice[0].priceType", "setup"),
        (price("recurring", "30", period="fortnight", usage_type=None),
         "productOfferingPrice[0].recurringChargePeriodType", "fortnight"),
        (price("oneTime", "49", usage_type="voice"), "productOfferingPrice[0].usageType", "voice"),
        (price("recurring", "30", period=None, usage_type=None), "productOfferingPrice[0].recurringChargePeriodType",
         None),
        (price("recurring", "30", period="month", usage_type="voice"), "productOfferingPrice[0].usageType", "voice"),
        (monthly(unit_size="2"), "productOfferingPrice[0].unitOfMeasure.amount", "2"),
        (price(usage_type="mms"), "productOfferingPrice[0].usageType", "mms"),
        (price(usage_type=None), "productOfferingPrice[0].usageType", None),
        (price(period="month"), "productOfferingPrice[0].recurringChargePeriodType", "month"),
        (price(unit_size="0"), "productOfferingPrice[0].unitOfMeasure.amount", "0"),
        (price(unit_size="-60"), "productOfferingPrice[0].unitOfMeasure.amount", "-60"),
        (price(valid_from=datetime(2026, 1, 1)), "productOfferingPrice[0].validFor.startDateTime",
         "2026-01-01T00:00:00"),
        (price(valid_from=FEB, valid_to=JAN), "productOfferingPrice[0].validFor.endDateTime", JAN.isoformat()),
    ],
)
def test_a_bad_price_is_refused_naming_field_and_value(bad, field, value):
    e = problem([bad])
    assert (e.field, e.value) == (field, value)


def test_a_zero_price_is_allowed():
    check_prices([monthly(amount="0")])


def test_an_offering_may_be_designed_before_it_has_prices():
    check_prices([])


@pytest.mark.parametrize(
    "second",
    [monthly(amount="25.00"), price(amount="0.0030"), monthly(valid_from=JAN), price(valid_to=FEB)],
    ids=["two-recurring", "two-voice", "open-start-overlaps", "open-end-overlaps"],
)
def test_two_prices_for_the_same_charge_at_the_same_time_are_refused(second):
    e = problem([monthly(), price(), second])
    assert e.field == "productOfferingPrice[2]"
    assert "overlaps productOfferingPrice[" in e.message


def test_the_same_charge_is_allowed_in_another_currency_or_a_later_period():
    check_prices([
        monthly(), monthly("35.00", "CHF"),
        price(valid_to=FEB), price(amount="0.0030", valid_from=FEB),  # back to back: [..., FEB) and [FEB, ...)
        price(usage_type="sms"), price(usage_type="data"),
    ])


def test_check_offering_names_the_offering_fields():
    with pytest.raises(InvalidValue) as e:
        check_offering("  ", "standard", "active", [monthly()])
    assert e.value.field == "name"
    with pytest.raises(InvalidValue) as e:
        check_offering("Mobile M", "luxury", "active", [monthly()])
    assert (e.value.field, e.value.value) == ("taxCategory", "luxury")
    with pytest.raises(InvalidValue) as e:
        check_offering("Mobile M", "standard", "sold", [monthly()])
    assert (e.value.field, e.value.value) == ("lifecycleStatus", "sold")
    assert check_offering("  Mobile M ", "reduced", "launched", [monthly()]) == "Mobile M"


def test_validity_is_half_open():
    p = price(valid_from=JAN, valid_to=FEB)
    assert not p.is_valid_at(datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert p.is_valid_at(JAN)
    assert not p.is_valid_at(FEB)
    assert price().is_valid_at(MAR)


def test_offering_picks_the_price_valid_at_an_instant():
    old, new = price(amount="0.0020", valid_to=FEB), price(amount="0.0030", valid_from=FEB)
    chf = monthly("35.00", "CHF")
    offer = ProductOffering(OFFER, "Mobile M", None, "active", "standard", (monthly(), chf, old, new), JAN)
    assert offer.usage_price("voice", "EUR", JAN) == old
    assert offer.usage_price("voice", "EUR", FEB) == new
    assert offer.usage_price("sms", "EUR", FEB) is None
    assert offer.usage_price("voice", "CHF", FEB) is None
    assert offer.recurring_prices("CHF", MAR) == [chf]
    assert offer.has_price_in("CHF") and not offer.has_price_in("USD")
    assert offer.prices[2].unit == "second"

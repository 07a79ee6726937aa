"""The pricing model billing and rating will charge from: tiers, blocks, allowances, discounts, price versions
under each change policy, eligibility and lifecycle. Every amount is worked out beside the assertion."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from openbss.catalog.model import (
    Experiment,
    Price,
    ProductOffering,
    Tier,
    check_bundle,
    check_price,
    check_prices,
    check_transition,
    discount_amount,
    discount_applies,
    is_eligible,
    price_for_subscription,
    usage_charge,
)
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money

OFFER = uuid.UUID(int=1)
BROADBAND = uuid.UUID(int=2)
MB = Decimal(1_000_000)
JAN, FEB, MAR, APR = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4))


def usage(model="perUnit", amount="0.01", unit_size=MB, tiers=(), included="0", **kw) -> Price:
    return Price(uuid.uuid4(), OFFER, "usage", Money.of(amount, "EUR"), None, "data", Decimal(unit_size), None, None,
                 name="Data", usage_model=model, tiers=tuple(tiers), included_units=Decimal(included), **kw)


def fee(amount="30.00", name="Monthly fee", valid_from=None, valid_to=None, policy=None, **kw) -> Price:
    return Price(uuid.uuid4(), OFFER, "recurring", Money.of(amount, "EUR"), "month", None, Decimal(1), valid_from,
                 valid_to, name=name, change_policy=policy, **kw)


def discount(percentage=None, amount=None, **kw) -> Price:
    return Price(uuid.uuid4(), OFFER, "discount", Money.of(amount, "EUR") if amount else None, None, None,
                 Decimal(1), None, None, name=kw.pop("name", "Discount"),
                 percentage=Decimal(percentage) if percentage else None, **kw)


# 0-1000 MB at 0.01 per MB, 1000-5000 MB at 0.005, above 5000 MB at 0.002 plus a 1.00 flat fee on entering it
TIERS = (Tier(Decimal(0), 1000 * MB, Decimal("0.01")), Tier(1000 * MB, 5000 * MB, Decimal("0.005")),
         Tier(5000 * MB, None, Decimal("0.002"), Decimal("1.00")))


@pytest.mark.parametrize(
    "price, quantity, expected",
    [
        (usage(), 1500 * MB, "15.000000"),  # 1500 MB × 0.01
        (usage(), 1, "0.000000"),  # 1 byte × 0.01 / 1,000,000 = 0.00000001, kept to 6 decimals
        (usage("block", "0.06", 60), Decimal(61), "0.120000"),  # 61 s start two 60-second blocks: 2 × 0.06
        (usage("block", "0.06", 60), Decimal(60), "0.060000"),  # exactly one block
        (usage("graduated", tiers=TIERS), 1500 * MB, "12.500000"),  # 1000 × 0.01 + 500 × 0.005
        (usage("graduated", tiers=TIERS), 6000 * MB, "33.000000"),  # 10 + 4000 × 0.005 + 1.00 + 1000 × 0.002
        (usage("volume", tiers=TIERS), 1500 * MB, "7.500000"),  # all 1500 MB at the tier reached: × 0.005
        (usage("volume", tiers=TIERS), 1000 * MB, "10.000000"),  # 1000 MB is still tier one (upTo inclusive)
        (usage("volume", tiers=TIERS), 6000 * MB, "13.000000"),  # 6000 × 0.002 + the tier's 1.00 flat fee
        (usage("volume", tiers=TIERS), Decimal(0), "0.000000"),
        (usage(included=500 * MB), 1500 * MB, "10.000000"),  # 500 MB free: (1500 - 500) × 0.01
        (usage(included=500 * MB), 400 * MB, "0.000000"),  # inside the allowance
        (usage("graduated", tiers=TIERS, included=500 * MB), 1500 * MB, "10.000000"),  # 1000 chargeable, tier one
    ],
    ids=["per-unit", "per-unit-tiny", "block-started", "block-exact", "graduated", "graduated-flat-fee", "volume",
         "volume-boundary", "volume-flat-fee", "volume-zero", "allowance", "inside-allowance", "allowance-tiers"],
)
def test_usage_charge_for_a_period_total(price, quantity, expected):
    check_price(price, "p")
    assert usage_charge(price, Decimal(quantity)) == Money(Decimal(expected), "EUR")


@pytest.mark.parametrize(
    "tiers, field, value",
    [
        ((), "p.tiers", []),
        ((Tier(Decimal(1), None, Decimal("0.01")),), "p.tiers[0].from", "1"),
        ((Tier(Decimal(0), Decimal(10), Decimal("0.01")), Tier(Decimal(11), None, Decimal("0.01"))),
         "p.tiers[1].from", "11"),  # a gap between 10 and 11
        ((Tier(Decimal(0), Decimal(10), Decimal("0.01")), Tier(Decimal(5), None, Decimal("0.01"))),
         "p.tiers[1].from", "5"),  # overlapping
        ((Tier(Decimal(0), Decimal(0), Decimal("0.01")), Tier(Decimal(0), None, Decimal("0.01"))),
         "p.tiers[0].upTo", "0"),  # not ascending
        ((Tier(Decimal(0), None, Decimal("0.01")), Tier(Decimal(0), None, Decimal("0.01"))),
         "p.tiers[0].upTo", None),
        ((Tier(Decimal(0), Decimal(10), Decimal("0.01")),), "p.tiers[0].upTo", "10"),  # last tier bounded
        ((Tier(Decimal(0), None, Decimal("-0.01")),), "p.tiers[0].unitPrice", "-0.01"),
    ],
)
def test_tiers_must_start_at_zero_be_contiguous_ascending_and_open_ended(tiers, field, value):
    with pytest.raises(InvalidValue) as e:
        check_price(usage("graduated", tiers=tiers), "p")
    assert (e.value.field, e.value.value) == (field, value)


def test_a_tiered_price_shows_its_first_tier_and_only_tiered_models_take_tiers():
    with pytest.raises(InvalidValue) as e:
        check_price(usage("volume", amount="0.02", tiers=TIERS), "p")
    assert e.value.message == "p.price.value='0.02' must equal tiers[0].unitPrice (0.01), the price a tiered tariff " \
                              "starts at"
    with pytest.raises(InvalidValue) as e:
        check_price(usage("perUnit", tiers=TIERS), "p")
    assert e.value.field == "p.tiers"


@pytest.mark.parametrize("period", ["day", "week", "month", "quarter", "year"])
def test_recurring_periods_and_charge_timing(period):
    check_price(replace(fee(), period=period, charge_timing="inArrears"), "p")
    with pytest.raises(InvalidValue) as e:
        check_price(replace(fee(), charge_timing="whenever"), "p")
    assert (e.value.field, e.value.value) == ("p.chargeTiming", "whenever")


def test_one_time_prices_carry_no_period_and_need_an_amount():
    setup = replace(fee("49.00", "Activation"), kind="oneTime", period=None)
    check_price(setup, "p")
    with pytest.raises(InvalidValue) as e:
        check_price(replace(setup, amount=None), "p")
    assert e.value.message == "p.price=None is required on a oneTime price"
    check_price(replace(setup, amount=None), "p", draft=True)  # a draft may be priced later


@pytest.mark.parametrize(
    "bad, field",
    [
        (discount(), "p.percentage"),  # neither percentage nor amount
        (discount("10", "5.00"), "p.percentage"),  # both
        (discount("0"), "p.percentage"),
        (discount("100.5"), "p.percentage"),
        (discount("10", duration_periods=0), "p.applicationDuration"),
        (discount("10", promotion_code=" "), "p.promotionCode"),
        (replace(fee(), percentage=Decimal(10)), "p.percentage"),  # only discounts take a percentage
    ],
)
def test_a_bad_discount_is_refused_naming_the_field(bad, field):
    with pytest.raises(InvalidValue) as e:
        check_price(bad, "p")
    assert e.value.field == field


def test_a_discount_must_target_a_price_of_its_offering():
    check_prices([fee(), discount("10", applies_to="Monthly fee")])
    with pytest.raises(InvalidValue) as e:
        check_prices([fee(), discount("10", applies_to="Data")])
    assert e.value.message == "productOfferingPrice[1].appliesTo='Data' names no price of this offering"


def test_discount_conditions_promotion_bundle_and_loyalty():
    promo = discount("50", promotion_code="WELCOME3", duration_periods=3)
    bundle = discount("10", requires_offerings=(BROADBAND,))
    gold = discount(amount="5.00", segment="gold")
    who = {"segment": "gold", "held_offering_ids": [OFFER], "promotion_code": None, "at": JAN}
    assert [discount_applies(d, **who) for d in (promo, bundle, gold)] == [False, False, True]
    who |= {"segment": "standard", "held_offering_ids": [OFFER, BROADBAND], "promotion_code": "WELCOME3"}
    assert [discount_applies(d, **who) for d in (promo, bundle, gold)] == [True, True, False]
    assert not discount_applies(replace(promo, valid_to=JAN), **who)


def test_discount_amounts_per_period():
    charge = Money.of("30.00", "EUR")
    promo = discount("50", duration_periods=3)
    # 50 % of 30.00 = 15.00 in periods 0, 1, 2 (three months), nothing from the fourth
    assert [discount_amount(promo, charge, i).amount for i in range(4)] == [15, 15, 15, 0]
    assert discount_amount(discount("10"), charge, 120) == Money.of("3.00", "EUR")  # forever: 10 % of 30.00
    assert discount_amount(discount(amount="45.00"), charge, 0) == charge  # capped: never below zero


# A monthly bill cycle starting on the 1st: the first cycle start on or after t.
def cycle_start(t: datetime) -> datetime:
    first = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first if first == t else (first + timedelta(days=32)).replace(day=1)


MID_FEB = datetime(2026, 2, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "policy, subscribed, at, expected",
    [
        ("keep", JAN, MAR, "30.00"),  # grandfathered on the January price
        ("keep", datetime(2026, 2, 20, tzinfo=UTC), MAR, "35.00"),  # ordered after the change: new price
        ("next_cycle", JAN, datetime(2026, 2, 20, tzinfo=UTC), "30.00"),  # change on 15 Feb, cycle starts 1 Mar
        ("next_cycle", JAN, MAR, "35.00"),  # moved at the 1 March cycle start
        ("next_cycle", JAN, datetime(2026, 2, 14, tzinfo=UTC), "30.00"),  # before the change
    ],
)
def test_price_for_subscription_under_each_change_policy(policy, subscribed, at, expected):
    versions = [fee("30.00", valid_to=MID_FEB), fee("35.00", valid_from=MID_FEB, policy=policy)]
    check_prices(versions)
    assert price_for_subscription(versions, subscribed, at, cycle_start).amount == Money.of(expected, "EUR")


def test_price_for_subscription_follows_a_chain_of_versions():
    v1 = fee("30.00", valid_to=FEB)
    v2 = fee("35.00", valid_from=FEB, valid_to=MAR, policy="next_cycle")
    v3 = fee("40.00", valid_from=MAR, policy="keep")
    versions = [v3, v1, v2]
    assert price_for_subscription(versions, JAN, datetime(2026, 1, 20, tzinfo=UTC), cycle_start) == v1
    assert price_for_subscription(versions, JAN, APR, cycle_start) == v2  # moved to v2, then kept it
    assert price_for_subscription(versions, datetime(2026, 3, 5, tzinfo=UTC), APR, cycle_start) == v3
    assert price_for_subscription([fee(valid_from=FEB)], JAN, APR, cycle_start) is None


def offering(**kw) -> ProductOffering:
    return ProductOffering(OFFER, "Mobile M", None, kw.pop("status", "active"), "standard", (fee(),), JAN, **kw)


@pytest.mark.parametrize(
    "o, expected",
    [
        (offering(), (True, "eligible")),
        (offering(status="inDesign"), (False, "is inDesign, not orderable")),
        (offering(is_sellable=False), (False, "is not sellable on its own")),
        (offering(valid_from=MAR), (False, "is on sale from 2026-03-01T00:00:00+00:00")),
        (offering(valid_to=FEB), (False, "was on sale until 2026-02-01T00:00:00+00:00")),
        (offering(segments=("business",)), (False, "is for customer segments business, not consumer")),
        (offering(countries=("AT", "CH")), (False, "is sold in AT, CH, not DE")),
        (offering(channels=("shop",)), (False, "is sold through shop, not web")),
        (offering(segments=("consumer",), countries=("DE",), channels=("web", "shop")), (True, "eligible")),
        (offering(experiment=Experiment("price-test", "B", "students")),
         (False, "is variant B of experiment price-test, offered to segment students, not consumer")),
    ],
)
def test_is_eligible_names_the_reason(o, expected):
    assert is_eligible(o, "consumer", "DE", "web", FEB) == expected


@pytest.mark.parametrize(
    "current, new, ok",
    [("inDesign", "active", True), ("active", "retired", True), ("inDesign", "launched", True),
     ("launched", "retired", True), ("active", "inDesign", False), ("retired", "active", False),
     ("active", "active", True)],
)
def test_lifecycle_transitions(current, new, ok):
    if ok:
        check_transition("productOffering", "X", current, new)
    else:
        with pytest.raises(Conflict) as e:
            check_transition("productOffering", "X", current, new)
        assert e.value.message.startswith(f"productOffering X is {current}; it can move to ")


def test_a_bundle_holds_two_plain_offerings():
    mobile, fibre = offering(), replace(offering(), id=BROADBAND)
    check_bundle(uuid.UUID(int=3), True, [mobile, fibre])
    for children, message in [
        ([mobile], "must hold at least two offerings in a bundle"),
        ([mobile, mobile], "holds an offering twice"),
        ([mobile, replace(fibre, is_bundle=True)], "do not nest"),
    ]:
        with pytest.raises(InvalidValue) as e:
            check_bundle(uuid.UUID(int=3), True, children)
        assert message in e.value.message
    with pytest.raises(InvalidValue) as e:
        check_bundle(uuid.UUID(int=3), False, [mobile])
    assert e.value.field == "bundledProductOffering"

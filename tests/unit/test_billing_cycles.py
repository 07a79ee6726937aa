"""Bill cycles: monthly, quarterly and annual periods, calendar or anniversary aligned; grace; what the generator
bills on a quarterly cycle; minimum spend top-ups (billing.periods, billing.generator, billing.commitment)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from openbss.billing import tax
from openbss.billing.model import Subscriptions, generate
from openbss.billing.periods import (
    BillCycle,
    BillPeriod,
    charge_term,
    check_closed,
    closing_problem,
    cycle_containing,
    due_period,
    events_horizon,
)
from openbss.catalog.model import Price, ProductOffering, check_price
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money
from openbss.mediation.model import UsageTotal
from openbss.ordering.model import Product
from openbss.party.model import BillingAccount, check_account, check_bill_frequency

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cycle(frequency="quarter", alignment="calendar", anchor=None, bcd=15, grace=0) -> BillCycle:
    return BillCycle(bcd, "Europe/Berlin", frequency, alignment, anchor, grace)


# --- periods ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("frequency", "alignment", "anchor", "due_months"), [
    ("month", "calendar", None, list(range(1, 13))),
    ("quarter", "calendar", None, [1, 4, 7, 10]),
    ("quarter", "anniversary", date(2025, 2, 1), [2, 5, 8, 11]),
    ("year", "calendar", None, [1]),
    ("year", "anniversary", date(2024, 9, 1), [9]),
])
def test_a_period_is_due_only_in_the_months_its_cycle_starts_in(frequency, alignment, anchor, due_months):
    c = cycle(frequency, alignment, anchor)
    assert [m for m in range(1, 13) if due_period(f"2026-{m:02d}", c) is not None] == due_months


def test_quarterly_and_annual_periods_run_from_the_bill_cycle_day():
    q = due_period("2026-04", cycle("quarter"))
    assert (q.start, q.end, q.days, q.months) == (date(2026, 4, 15), date(2026, 7, 15), 91, 3)  # 16+31+30+14
    assert (q.next().start, q.next().end) == (date(2026, 7, 15), date(2026, 10, 15))
    y = due_period("2026-09", cycle("year", "anniversary", date(2024, 9, 1), bcd=1))
    assert (y.start, y.end, y.days, y.months) == (date(2026, 9, 1), date(2027, 9, 1), 365, 12)


def test_the_cycle_period_containing_a_day():
    assert cycle_containing(date(2026, 5, 20), cycle("quarter")).start == date(2026, 4, 15)
    assert cycle_containing(date(2026, 4, 14), cycle("quarter")).start == date(2026, 1, 15)  # before the BCD
    feb = cycle("quarter", "anniversary", date(2025, 2, 1))
    assert cycle_containing(date(2026, 1, 20), feb).start == date(2025, 11, 15)
    assert cycle_containing(date(2026, 1, 20), cycle("year")).start == date(2026, 1, 15)


def test_price_quarters_and_years_follow_an_anniversary_cycle():
    # Calendar: the quarter holding 2026-05-20 starts with April's cycle month; anchored in February, with May's.
    assert charge_term("quarter", date(2026, 5, 20), 15, "UTC", date(2026, 1, 1)).start == date(2026, 4, 15)
    assert charge_term("quarter", date(2026, 5, 20), 15, "UTC", date(2026, 1, 1), 2).start == date(2026, 5, 15)
    year = charge_term("year", date(2026, 5, 20), 1, "UTC", date(2026, 1, 1), 9)
    assert (year.start, year.end) == (date(2025, 9, 1), date(2026, 9, 1))


def test_the_events_horizon_covers_a_year_term_starting_in_the_next_period():
    month = BillPeriod(date(2026, 10, 1), date(2026, 11, 1), "UTC")
    quarter = BillPeriod(date(2026, 10, 1), date(2027, 1, 1), "UTC")
    assert events_horizon(month) == utc(2027, 11, 1)  # 12 months after the end, as before cycles
    assert events_horizon(quarter) == utc(2028, 3, 1)  # a year term starting 2027-03-01 (in the next quarter)


def test_grace_days_hold_the_bill_run_back_after_the_period_closes():
    period = due_period("2026-10", cycle("quarter", bcd=1, grace=3))  # [2026-10-01, 2027-01-01) Berlin
    with pytest.raises(Conflict, match=r"runs until 2026-12-31T23:00:00\+00:00 \(and 3 grace days .*before it "
                                       "closes"):
        check_closed("2026-10", "ACC-000001", period, 3, utc(2026, 12, 31, 22))
    with pytest.raises(Conflict, match=r"closed at 2026-12-31T23:00:00\+00:00 but its 3 grace days for late usage "
                                       r"run until 2027-01-03T23:00:00\+00:00"):
        check_closed("2026-10", "ACC-000001", period, 3, utc(2027, 1, 3, 22, 59))
    assert closing_problem("2026-10", "ACC-000001", period, 3, utc(2027, 1, 3, 23)) is None
    # Without grace the message is the one a bill run always gave.
    assert closing_problem("2026-10", "ACC-1", period, 0, utc(2026, 12, 1)) == (
        "period='2026-10' of billing account ACC-1 runs until 2026-12-31T23:00:00+00:00 and cannot be billed "
        "before it closes")


# --- the account's cycle fields -------------------------------------------------------------------------------


def account(frequency="month", alignment="calendar", anchor=None, bcd=1, grace=0) -> BillingAccount:
    return BillingAccount(uuid.uuid4(), "ACC-000001", "Ada", uuid.uuid4(), "EUR", "DE", bcd, "Europe/Berlin",
                          "active", T0, bill_frequency=frequency, cycle_alignment=alignment, cycle_anchor=anchor,
                          grace_days=grace)


@pytest.mark.parametrize(("changes", "field", "value"), [
    ({"bill_frequency": "fortnight"}, "billStructure.cycleSpecification.frequency", "fortnight"),
    ({"cycle_alignment": "lunar"}, "billStructure.cycleSpecification.alignment", "lunar"),
    ({"cycle_anchor": date(2026, 3, 5)}, "billStructure.cycleSpecification.anchorMonth", "2026-03-05"),
    ({"grace_days": 61}, "billStructure.cycleSpecification.graceDays", 61),
    ({"grace_days": -1}, "billStructure.cycleSpecification.graceDays", -1),
])
def test_bad_cycle_values_are_refused_naming_the_field(changes, field, value):
    with pytest.raises(InvalidValue) as e:
        check_account(replace(account(), **changes))
    assert (e.value.field, e.value.value) == (field, value)


def test_tmf_frequency_spellings_are_stored_as_period_names():
    assert [check_bill_frequency(v) for v in ("monthly", "quarterly", "yearly", "annual", "quarter")] == [
        "month", "quarter", "year", "year", "quarter"]


# --- the generator on a quarterly cycle -----------------------------------------------------------------------


def offering(monthly="30.00", commitment=None, category="standard") -> ProductOffering:
    oid = uuid.uuid4()
    prices = [Price(uuid.uuid4(), oid, "recurring", Money.of(monthly, "EUR"), "month", None, Decimal(1), None, None)]
    if commitment is not None:
        prices.append(Price(uuid.uuid4(), oid, "commitment", Money.of(commitment, "EUR"), "month", None, Decimal(1),
                            None, None))
    return ProductOffering(oid, "Mobile M", None, "active", category, tuple(prices), T0)


def product(acc, off, start: datetime, end: datetime | None = None) -> Product:
    return Product(uuid.uuid4(), acc.id, off.id, uuid.uuid4(), "+491511234567", "active", start, end, T0)


def usage(p, amount) -> UsageTotal:
    return UsageTotal(p.id, "voice", "second", 1, Decimal(60), Money.of(amount, "EUR"))


def run(acc, period, products, usage_totals=()):
    subject = Subscriptions(acc, [p for p, _ in products], {o.id: o for _, o in products}, (), list(usage_totals))
    return generate(subject, due_period(period, BillCycle(acc.bill_cycle_day, acc.time_zone, acc.bill_frequency,
                                                          acc.cycle_alignment, acc.cycle_anchor)), [], tax.rate,
                    "half_up")


def lines(draft):
    return [(line.kind, line.service_start, line.service_end, line.net.amount) for line in draft.lines]


def test_a_monthly_price_on_a_quarterly_cycle_bills_the_next_quarter_in_advance():
    acc = account("quarter")
    off = offering()
    p = product(acc, off, utc(2026, 11, 9, 23))  # 2026-11-10 in Berlin, during the quarter [Oct 1, Jan 1)
    draft = run(acc, "2026-10", [(p, off)])
    assert lines(draft) == [
        ("recurring", date(2026, 11, 10), date(2026, 12, 1), Decimal("21.00")),  # 30.00 x 21/30 = 21.00
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), Decimal("30.00")),  # December, whole
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), Decimal("30.00")),  # next quarter in advance: January
        ("recurring", date(2027, 2, 1), date(2027, 3, 1), Decimal("30.00")),  # February
        ("recurring", date(2027, 3, 1), date(2027, 4, 1), Decimal("30.00")),  # March
    ]
    assert draft.net_total.amount == Decimal("141.00")  # 21.00 + 4 x 30.00
    assert (draft.issue_date, draft.period.end) == (date(2027, 1, 1), date(2027, 1, 1))


def test_usage_below_the_commitment_is_topped_up_prorated_by_the_days_the_product_lived():
    acc = account("quarter")
    off = offering(commitment="20.00")
    p = product(acc, off, utc(2026, 11, 9, 23))  # lives 2026-11-10 .. 2026-12-31: 52 of the quarter's 92 days
    draft = run(acc, "2026-10", [(p, off)], [usage(p, "12.50")])
    top_up = [line for line in draft.lines if line.kind == "commitment"]
    # Committed: 20.00 x 3 months x 52/92 = 33.913043... -> 33.91; usage 12.50; top-up 33.91 - 12.50 = 21.41.
    assert [(line.service_start, line.service_end, line.net.amount) for line in top_up] == [
        (date(2026, 11, 10), date(2027, 1, 1), Decimal("21.41"))]
    assert top_up[0].tax_category == "standard" and top_up[0].tax_rate == Decimal("0.19")


def test_usage_at_or_above_the_commitment_adds_no_line():
    acc = account()
    off = offering(commitment="20.00")
    p = product(acc, off, utc(2026, 9, 1))
    assert "commitment" not in [k for k, *_ in lines(run(acc, "2026-10", [(p, off)], [usage(p, "20.00")]))]


def test_a_commitment_is_a_monthly_minimum_with_an_amount():
    oid = uuid.uuid4()
    weekly = Price(uuid.uuid4(), oid, "commitment", Money.of("5.00", "EUR"), "week", None, Decimal(1), None, None)
    with pytest.raises(InvalidValue) as e:
        check_price(weekly, "productOfferingPrice[1]")
    assert (e.value.field, e.value.value) == ("productOfferingPrice[1].recurringChargePeriodType", "week")
    with pytest.raises(InvalidValue) as e:
        check_price(replace(weekly, period="month", amount=None), "productOfferingPrice[1]")
    assert e.value.field == "productOfferingPrice[1].price"

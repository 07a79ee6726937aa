"""The pure invoice generator: bill cycle periods, proration, advance/arrears, VAT grouping and rounding."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from openbss.billing import tax
from openbss.billing.model import Subscriptions, charged_spans, generate
from openbss.billing.periods import Term, charge_term, cycle_period, period_containing
from openbss.catalog.model import Price, ProductOffering
from openbss.core.errors import InvalidValue
from openbss.core.money import Money
from openbss.mediation.model import UsageTotal
from openbss.ordering.model import Product, ProductEvent
from openbss.party.model import BillingAccount

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def account(currency="EUR", country="DE", bcd=1, tz="Europe/Berlin") -> BillingAccount:
    return BillingAccount(uuid.uuid4(), "ACC-000001", "Ada", uuid.uuid4(), currency, country, bcd, tz, "active", T0)


def offering(monthly="30.00", currency="EUR", category="standard", name="Mobile M") -> ProductOffering:
    oid = uuid.uuid4()
    price = Price(uuid.uuid4(), oid, "recurring", Money.of(monthly, currency), "month", None, Decimal(1), None, None)
    return ProductOffering(oid, name, None, "active", category, (price,), T0)


def product(acc, off, start: datetime, end: datetime | None = None) -> Product:
    return Product(uuid.uuid4(), acc.id, off.id, uuid.uuid4(), "+491511234567", "active", start, end, T0)


def usage(p, usage_type, amount, currency="EUR", quantity="1") -> UsageTotal:
    return UsageTotal(p.id, usage_type, "second", 1, Decimal(quantity), Money.of(amount, currency))


def run(acc, period, products, existing=(), usage_totals=(), rounding="half_up"):
    """Products without events: charged from start_at to end_at."""
    subject = Subscriptions(acc, [p for p, _ in products], {o.id: o for _, o in products}, (), list(usage_totals))
    return generate(subject, cycle_period(period, acc.bill_cycle_day, acc.time_zone), list(existing), tax.rate,
                    rounding)


def recurring(draft):
    return [(l.service_start, l.service_end, l.net.amount) for l in draft.lines if l.kind == "recurring"]


# --- bill cycle periods -------------------------------------------------------------------------------------


def test_bcd_15_period_is_named_by_the_month_it_starts_in_and_crosses_dst_end():
    p = cycle_period("2026-10", 15, "Europe/Berlin")
    assert (p.start, p.end, p.days) == (date(2026, 10, 15), date(2026, 11, 15), 31)
    assert p.start_at == utc(2026, 10, 14, 22)  # 00:00 CEST (+02:00)
    assert p.end_at == utc(2026, 11, 14, 23)  # 00:00 CET (+01:00): DST ended on 2026-10-25


def test_bcd_1_berlin_and_new_york_periods_in_utc():
    oct_berlin = cycle_period("2026-10", 1, "Europe/Berlin")
    assert (oct_berlin.start_at, oct_berlin.end_at) == (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))
    # New York leaves DST at 02:00 on 2026-11-01, so that day's midnight is still EDT (-04:00).
    oct_ny = cycle_period("2026-10", 1, "America/New_York")
    assert (oct_ny.start_at, oct_ny.end_at) == (utc(2026, 10, 1, 4), utc(2026, 11, 1, 4))
    nov_ny = cycle_period("2026-11", 1, "America/New_York")
    assert (nov_ny.start_at, nov_ny.end_at, nov_ny.days) == (utc(2026, 11, 1, 4), utc(2026, 12, 1, 5), 30)
    # DST starts 2026-03-08: the March period is 30 days and 23 hours long.
    mar_ny = cycle_period("2026-03", 1, "America/New_York")
    assert mar_ny.end_at - mar_ny.start_at == utc(2026, 4, 1, 4) - utc(2026, 3, 1, 5)


def test_month_ends_and_year_ends():
    assert (cycle_period("2026-12", 1, "UTC").end, cycle_period("2026-12", 15, "UTC").end) == (
        date(2027, 1, 1), date(2027, 1, 15))
    feb = cycle_period("2027-02", 28, "UTC")
    assert (feb.start, feb.end, feb.days) == (date(2027, 2, 28), date(2027, 3, 28), 28)
    assert period_containing(date(2026, 1, 10), 15, "UTC").start == date(2025, 12, 15)
    assert period_containing(date(2026, 1, 15), 15, "UTC").start == date(2026, 1, 15)
    assert period_containing(date(2026, 3, 1), 1, "UTC").next().start == date(2026, 4, 1)


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-10", "october", ""])
def test_period_must_be_yyyy_mm(bad):
    with pytest.raises(InvalidValue) as e:
        cycle_period(bad, 1, "UTC")
    assert e.value.field == "period" and e.value.value == bad


# --- recurring charges: in advance, prorated by local calendar day ------------------------------------------


def test_first_invoice_prorates_activation_and_bills_next_period_in_advance():
    acc, off = account(), offering()
    # 2026-10-09 23:30 UTC is already 2026-10-10 01:30 in Berlin: the local date decides.
    p = product(acc, off, utc(2026, 10, 9, 23, 30))
    draft = run(acc, "2026-10", [(p, off)])
    assert recurring(draft) == [
        (date(2026, 10, 10), date(2026, 11, 1), Decimal("21.29")),  # 30.00 × 22/31 = 21.290322… → 21.29
        (date(2026, 11, 1), date(2026, 12, 1), Decimal("30.00")),  # November in advance
    ]
    assert draft.lines[0].quantity == Decimal("0.709677")  # 22/31
    assert draft.lines[0].description == "Mobile M, 2026-10-10 to 2026-10-31 (22/31 days)"
    assert (draft.issue_date, draft.due_date) == (date(2026, 11, 1), date(2026, 11, 15))  # period end; + 14 days
    assert draft.net_total.amount == Decimal("51.29")  # 21.29 + 30.00
    assert draft.tax_total.amount == Decimal("9.75")  # 51.29 × 0.19 = 9.7451 → 9.75
    assert draft.gross_total.amount == Decimal("61.04")  # 51.29 + 9.75


def test_later_invoice_bills_only_the_next_period_in_advance():
    acc, off = account(), offering()
    p = product(acc, off, utc(2026, 10, 10, 8))
    first = run(acc, "2026-10", [(p, off)])
    second = run(acc, "2026-11", [(p, off)], existing=first.lines)
    assert recurring(second) == [(date(2026, 12, 1), date(2027, 1, 1), Decimal("30.00"))]
    assert run(acc, "2026-10", [(p, off)], existing=[*first.lines, *second.lines]) is None


def test_missed_runs_are_caught_up_and_end_at_stops_charges():
    acc, off = account(bcd=15), offering()
    p = product(acc, off, utc(2026, 8, 20, 10), end=utc(2026, 11, 1, 10))
    draft = run(acc, "2026-10", [(p, off)])
    assert recurring(draft) == [
        (date(2026, 8, 20), date(2026, 9, 15), Decimal("25.16")),  # 30.00 × 26/31 = 25.161290… → 25.16
        (date(2026, 9, 15), date(2026, 10, 15), Decimal("30.00")),  # 30 of 30 days
        (date(2026, 10, 15), date(2026, 11, 1), Decimal("16.45")),  # 30.00 × 17/31 = 16.451612… → 16.45
    ]


def test_nothing_to_bill_gives_no_invoice():
    acc, off = account(), offering()
    later = product(acc, off, utc(2026, 12, 5, 10))  # starts after the end of P+1 (2026-12-01)
    assert run(acc, "2026-10", [(later, off)]) is None
    assert run(acc, "2026-10", []) is None


# --- VAT: rounded per line, taxed per (category, rate) group ------------------------------------------------


def test_lines_round_once_and_vat_is_per_category_group():
    acc, mobile, magazine = account(), offering("10.00"), offering("4.99", category="reduced", name="Magazine")
    p1, p2 = product(acc, mobile, utc(2026, 9, 30, 22)), product(acc, magazine, utc(2026, 9, 30, 22))
    thirds = [usage(p1, t, "0.333333") for t in ("voice", "sms", "data")]
    draft = run(acc, "2026-10", [(p1, mobile), (p2, magazine)], usage_totals=thirds)
    assert [l.net.amount for l in draft.lines if l.kind == "usage"] == [Decimal("0.33")] * 3  # 0.333333 → 0.33 each
    assert [(t.tax_category, t.tax_rate, t.taxable.amount, t.tax.amount) for t in draft.taxes] == [
        ("reduced", Decimal("0.07"), Decimal("9.98"), Decimal("0.70")),  # 4.99 × 2 = 9.98; × 0.07 = 0.6986 → 0.70
        # 10.00 × 2 + 0.33 × 3 = 20.99 (not 21.00: lines are rounded before they are added);
        # × 0.19 = 3.9881 → 3.99 (per-line tax would give 1.90 × 2 + 0.06 × 3 = 3.98)
        ("standard", Decimal("0.19"), Decimal("20.99"), Decimal("3.99")),
    ]
    assert draft.net_total.amount == Decimal("30.97")  # 9.98 + 20.99
    assert draft.tax_total.amount == Decimal("4.69")  # 0.70 + 3.99
    assert draft.gross_total.amount == Decimal("35.66")  # 30.97 + 4.69


def test_usage_is_one_line_per_product_and_type_rounded_after_summing():
    acc, off = account(), offering("0.00")
    p = product(acc, off, utc(2026, 9, 30, 22))
    parts = [usage(p, "voice", "0.004", quantity="2"), usage(p, "voice", "0.004", quantity="2")]
    draft = run(acc, "2026-10", [(p, off)], usage_totals=parts)
    (voice,) = [l for l in draft.lines if l.kind == "usage"]
    assert (voice.quantity, voice.net.amount) == (Decimal("4"), Decimal("0.01"))  # 0.004 + 0.004 = 0.008 → 0.01


def test_rounding_mode_is_applied_per_line():
    acc, off = account(), offering()
    p = product(acc, off, utc(2026, 10, 9, 22))
    draft = run(acc, "2026-10", [(p, off)], rounding="up")
    assert recurring(draft)[0][2] == Decimal("21.30")  # 30.00 × 22/31 = 21.290322… → 21.30 rounding up


def test_jpy_account_rounds_to_whole_yen():
    acc, off = account(currency="JPY"), offering("3000", currency="JPY")
    p = product(acc, off, utc(2026, 10, 10, 8))
    draft = run(acc, "2026-10", [(p, off)])
    assert recurring(draft) == [
        (date(2026, 10, 10), date(2026, 11, 1), Decimal("2129")),  # 3000 × 22/31 = 2129.03… → 2129
        (date(2026, 11, 1), date(2026, 12, 1), Decimal("3000")),
    ]
    assert draft.tax_total.amount == Decimal("975")  # 5129 × 0.19 = 974.51 → 975
    assert draft.gross_total.amount == Decimal("6104")  # 5129 + 975


def test_missing_tax_rate_is_invalid_for_the_account():
    acc, off = account(country="US"), offering()
    with pytest.raises(InvalidValue) as e:
        run(acc, "2026-10", [(product(acc, off, utc(2026, 10, 10, 8)), off)])
    assert (e.value.field, e.value.value) == ("country", "US")


def test_price_in_another_currency_is_invalid_for_the_account():
    acc, off = account(currency="USD"), offering()
    with pytest.raises(InvalidValue) as e:
        run(acc, "2026-10", [(product(acc, off, utc(2026, 10, 10, 8)), off)])
    assert e.value.field == "currency" and "priced in EUR" in e.value.message


def test_tax_table_history_and_zero_categories():
    assert tax.rate("DE", "standard", date(2020, 8, 1)) == Decimal("0.16")  # the 2020 German cut
    assert tax.rate("DE", "standard", date(2026, 11, 1)) == Decimal("0.19")
    assert tax.rate("IE", "reduced", date(2026, 11, 1)) == Decimal("0.135")
    assert tax.rate("US", "exempt", date(2026, 11, 1)) == Decimal(0)
    with pytest.raises(InvalidValue):
        tax.rate("FR", "standard", date(2000, 1, 1))


# --- events, promotion codes, tax exemption, bundles --------------------------------------------------------


def event(p, kind, at, offering_id=None, **details) -> ProductEvent:
    return ProductEvent(uuid.uuid4(), p.id, p.account_id, kind, at, offering_id or p.offering_id, None, details)


def test_charged_spans_follow_trial_suspension_and_cancellation():
    acc, off = account(), offering()
    p = product(acc, off, utc(2026, 10, 1, 8))
    events = [
        event(p, "trial_started", utc(2026, 10, 1, 8)),
        event(p, "trial_converted", utc(2026, 10, 15, 8)),
        event(p, "suspended", utc(2026, 10, 20, 8), chargeDuringSuspension=False),
        event(p, "resumed", utc(2026, 10, 25, 8), chargeDuringSuspension=False),
        event(p, "suspended", utc(2026, 11, 2, 8), chargeDuringSuspension=True),  # charges go on
        event(p, "cancelled", utc(2026, 11, 10, 8), when="immediate"),
    ]
    assert [(s.start, s.end) for s in charged_spans(p, events, acc.time_zone)] == [
        (date(2026, 10, 15), date(2026, 10, 20)), (date(2026, 10, 25), date(2026, 11, 10))]
    draft = generate(Subscriptions(acc, [p], {off.id: off}, events), cycle_period("2026-10", 1, acc.time_zone),
                     [], tax.rate, "half_up")
    assert recurring(draft) == [
        (date(2026, 10, 15), date(2026, 10, 20), Decimal("4.84")),  # 30.00 × 5/31 = 4.838… → 4.84
        (date(2026, 10, 25), date(2026, 11, 1), Decimal("6.77")),  # 30.00 × 7/31 = 6.774… → 6.77
        (date(2026, 11, 1), date(2026, 11, 10), Decimal("9.00")),  # 30.00 × 9/30
    ]


def promo_offering(code: str | None) -> ProductOffering:
    oid = uuid.uuid4()
    fee = Price(uuid.uuid4(), oid, "recurring", Money.of("30.00", "EUR"), "month", None, Decimal(1), None, None)
    promo = Price(uuid.uuid4(), oid, "discount", Money.of("5.00", "EUR"), None, None, Decimal(1), None, None,
                  name="Autumn", duration_periods=1, promotion_code=code)
    return ProductOffering(oid, "Mobile M", None, "active", "standard", (fee, promo), T0)


@pytest.mark.parametrize(("ordered_with", "off"), [("AUTUMN", Decimal("-5.00")), (None, None), ("OTHER", None)])
def test_a_promotion_needs_its_code_on_the_activation(ordered_with, off):
    acc, offer = account(), promo_offering("AUTUMN")
    p = product(acc, offer, utc(2026, 10, 1, 8))
    activated = event(p, "activated", p.start_at, **({"promotionCode": ordered_with} if ordered_with else {}))
    draft = generate(Subscriptions(acc, [p], {offer.id: offer}, [activated]),
                     cycle_period("2026-10", 1, acc.time_zone), [], tax.rate, "half_up")
    discounts = [l.net.amount for l in draft.lines if l.kind == "discount"]
    # a fixed 5.00 off for one period: October only, never November
    assert discounts == ([] if off is None else [off])


def test_tax_exempt_account_is_billed_at_zero_in_the_exempt_category():
    acc = replace(account(), tax_exemption=[{"reason": "diplomatic mission", "certificateNumber": "X-1"}])
    off = offering()
    draft = run(acc, "2026-10", [(product(acc, off, utc(2026, 9, 30, 22)), off)])
    assert {(l.tax_category, l.tax_rate) for l in draft.lines} == {("exempt", Decimal(0))}
    assert [(t.tax_category, t.taxable.amount, t.tax.amount) for t in draft.taxes] == [
        ("exempt", Decimal("60.00"), Decimal("0"))]  # October + November, no VAT
    assert draft.gross_total.amount == Decimal("60.00")


def test_a_bundle_is_charged_its_own_and_its_offerings_prices():
    acc, mobile, tv = account(), offering("30.00"), offering("15.00", name="TV")
    bundle = replace(offering("0.00", name="Home Duo"), prices=(), is_bundle=True,
                     bundled_offering_ids=(mobile.id, tv.id))
    p = product(acc, bundle, utc(2026, 9, 30, 22))
    subject = Subscriptions(acc, [p], {o.id: o for o in (bundle, mobile, tv)})
    draft = generate(subject, cycle_period("2026-10", 1, acc.time_zone), [], tax.rate, "half_up")
    assert [(l.description, l.net.amount) for l in draft.lines] == [
        ("Mobile M, 2026-10-01 to 2026-10-31", Decimal("30.00")), ("TV, 2026-10-01 to 2026-10-31", Decimal("15.00")),
        ("Mobile M, 2026-11-01 to 2026-11-30", Decimal("30.00")), ("TV, 2026-11-01 to 2026-11-30", Decimal("15.00")),
    ]
    assert {l.offering_id for l in draft.lines} == {bundle.id}  # the product's offering: credits find them


# --- recurring periods and timing ---------------------------------------------------------------------------


def priced(period, amount, timing="inAdvance", name="Service") -> ProductOffering:
    oid = uuid.uuid4()
    price = Price(uuid.uuid4(), oid, "recurring", Money.of(amount, "EUR"), period, None, Decimal(1), None, None,
                  charge_timing=timing)
    return ProductOffering(oid, name, None, "active", "standard", (price,), T0)


def test_terms_of_each_period():
    anchor = date(2026, 10, 10)
    assert charge_term("day", date(2026, 10, 12), 1, "Europe/Berlin", anchor) == Term(date(2026, 10, 12),
                                                                                      date(2026, 10, 13))
    # Weeks run from the anchor, also backwards: 8 October is in the week of 3 to 9 October.
    assert charge_term("week", date(2026, 10, 8), 1, "Europe/Berlin", anchor) == Term(date(2026, 10, 3),
                                                                                       date(2026, 10, 10))
    # BCD 15: 20 November is in the cycle period from 15 November, of the quarter from 15 October.
    assert charge_term("quarter", date(2026, 11, 20), 15, "Europe/Berlin", anchor) == Term(date(2026, 10, 15),
                                                                                            date(2027, 1, 15))
    # 10 January 2027 is in the period from 15 December 2026, so in the year 2026 of that cycle.
    year = charge_term("year", date(2027, 1, 10), 15, "Europe/Berlin", anchor)
    assert (year, year.days) == (Term(date(2026, 1, 15), date(2027, 1, 15)), 365)


def test_quarterly_in_arrears_is_billed_once_the_quarter_has_ended():
    acc, off = account(), priced("quarter", "90.00", "inArrears")
    p = product(acc, off, utc(2026, 9, 30, 22))  # 1 October in Berlin
    assert run(acc, "2026-10", [(p, off)]) is None  # the quarter October to December is still running
    assert run(acc, "2026-11", [(p, off)]) is None
    december = run(acc, "2026-12", [(p, off)])
    assert [(l.service_start, l.service_end, l.net.amount, l.quantity, l.unit) for l in december.lines] == [
        (date(2026, 10, 1), date(2027, 1, 1), Decimal("90.00"), Decimal("1"), "quarter"),
    ]


def test_quarterly_in_arrears_bills_the_days_used_when_the_product_stops_mid_quarter():
    acc, off = account(), priced("quarter", "92.00", "inArrears")
    p = product(acc, off, utc(2026, 9, 30, 22), end=utc(2026, 11, 15, 23))  # ends on 16 November in Berlin
    assert run(acc, "2026-10", [(p, off)]) is None  # days after October are still due
    # 1 October to 15 November is 46 of the quarter's 92 days: 92.00 × 46/92 = 46.00
    assert recurring(run(acc, "2026-11", [(p, off)])) == [(date(2026, 10, 1), date(2026, 11, 16), Decimal("46.00"))]


def test_an_annual_fee_cancelled_mid_year_is_credited_by_day():
    acc, ip, mobile = account(), priced("year", "120.00", name="Static IP"), priced("month", "200.00")
    p = product(acc, ip, utc(2026, 9, 30, 22))
    october = run(acc, "2026-10", [(p, ip)])
    # 1 October to 31 December is 92 of 2026's 365 days: 120.00 × 92/365 = 30.246… → 30.25
    assert recurring(october) == [(date(2026, 10, 1), date(2027, 1, 1), Decimal("30.25"))]
    december = run(acc, "2026-12", [(p, ip)], existing=october.lines)
    assert recurring(december) == [(date(2027, 1, 1), date(2028, 1, 1), Decimal("120.00"))]
    ended = replace(p, end_at=utc(2027, 2, 16, 23))  # the last day is 16 February
    m = product(acc, mobile, utc(2026, 12, 31, 23))  # something to set the credit against
    february = run(acc, "2027-02", [(ended, ip), (m, mobile)], existing=[*october.lines, *december.lines])
    credit = february.lines[0]
    # 17 February to 31 December: 365 − 31 − 16 = 318 days not used: 120.00 × 318/365 = 104.547… → 104.55 back
    assert (credit.service_start, credit.service_end, credit.net.amount, credit.quantity) == (
        date(2027, 2, 17), date(2028, 1, 1), Decimal("-104.55"), Decimal("-0.871233"))
    assert credit.description == "Credit: Static IP, 2027-02-17 to 2027-12-31 (318/365 days not used)"


def test_daily_in_advance_counts_the_days_of_the_next_period():
    acc, off = account(), priced("day", "1.50", name="Day pass")
    p = product(acc, off, utc(2026, 10, 19, 22))  # 20 October
    draft = run(acc, "2026-10", [(p, off)])
    assert [(l.description, l.quantity, l.net.amount) for l in draft.lines] == [
        ("Day pass, 2026-10-20 to 2026-10-31 (12 days)", Decimal("12"), Decimal("18.00")),  # 12 × 1.50
        ("Day pass, 2026-11-01 to 2026-11-30 (30 days)", Decimal("30"), Decimal("45.00")),  # 30 × 1.50
    ]


def test_weekly_in_arrears_counts_a_week_in_the_period_it_ends_in():
    acc, off = account(), priced("week", "7.00", "inArrears", name="Weekly")
    p = product(acc, off, utc(2026, 10, 9, 22))  # Saturday 10 October: weeks run Saturday to Friday
    october = run(acc, "2026-10", [(p, off)])
    # Weeks ended by 31 October: 10-16, 17-23, 24-30 October; the week from 31 October ends in November.
    assert [(l.description, l.net.amount) for l in october.lines] == [
        ("Weekly, 2026-10-10 to 2026-10-30 (3 weeks)", Decimal("21.00"))]
    november = run(acc, "2026-11", [(p, off)], existing=october.lines)
    # 31 October to 27 November: 4 weeks; the week from 28 November ends in December.
    assert recurring(november) == [(date(2026, 10, 31), date(2026, 11, 28), Decimal("28.00"))]


def test_a_bundle_bills_each_offering_by_its_own_period():
    acc, tv, ip = account(), priced("month", "15.00", name="TV"), priced("year", "120.00", name="Static IP")
    bundle = replace(priced("month", "10.00", name="Home"), is_bundle=True, bundled_offering_ids=(tv.id, ip.id))
    p = product(acc, bundle, utc(2026, 9, 30, 22))
    subject = Subscriptions(acc, [p], {o.id: o for o in (bundle, tv, ip)})
    october = generate(subject, cycle_period("2026-10", 1, acc.time_zone), [], tax.rate, "half_up")
    assert [(l.description, l.net.amount) for l in october.lines] == [
        ("Home, 2026-10-01 to 2026-10-31", Decimal("10.00")), ("TV, 2026-10-01 to 2026-10-31", Decimal("15.00")),
        ("Static IP, 2026-10-01 to 2026-12-31 (92/365 days)", Decimal("30.25")),  # 120.00 × 92/365
        ("Home, 2026-11-01 to 2026-11-30", Decimal("10.00")), ("TV, 2026-11-01 to 2026-11-30", Decimal("15.00")),
    ]
    assert [l.component_id for l in october.lines] == [bundle.id, tv.id, ip.id, bundle.id, tv.id]
    november = generate(subject, cycle_period("2026-11", 1, acc.time_zone), october.lines, tax.rate, "half_up")
    # The static IP is billed to the end of the year: only the monthly charges of December.
    assert [l.description for l in november.lines] == ["Home, 2026-12-01 to 2026-12-31", "TV, 2026-12-01 to 2026-12-31"]
    # Lines billed before components were recorded (all monthly then) count for every charge of their offering.
    legacy = [replace(l, component_id=None) for l in october.lines if l.component_id != ip.id]
    duo = replace(subject, offerings={**subject.offerings, bundle.id: replace(bundle, bundled_offering_ids=(tv.id,))})
    assert [l.description for l in generate(duo, cycle_period("2026-11", 1, acc.time_zone), legacy, tax.rate,
                                            "half_up").lines] == ["Home, 2026-12-01 to 2026-12-31",
                                                                  "TV, 2026-12-01 to 2026-12-31"]


# --- usage priced on period totals --------------------------------------------------------------------------


def usage_offering(**price) -> ProductOffering:
    off = offering()
    usage_price = Price(uuid.uuid4(), off.id, "usage", Money.of(price.pop("amount"), "EUR"), None, "voice",
                        Decimal(price.pop("unit_size", 1)), None, None, **price)
    return replace(off, prices=(*off.prices, usage_price))


@pytest.mark.parametrize(("price", "net"), [
    # per unit without an allowance: the sum of the rated records, whatever the price says now
    ({"amount": "0.0020"}, Decimal("1.23")),
    # 100 s included: (400 − 100) × 0.0020 = 0.60
    ({"amount": "0.0020", "included_units": Decimal(100)}, Decimal("0.60")),
    # started 60-second blocks of the period's 400 s: 7 × 0.10 = 0.70
    ({"amount": "0.10", "unit_size": 60, "usage_model": "block"}, Decimal("0.70")),
])
def test_usage_is_repriced_on_the_period_total_only_for_allowances_blocks_and_tiers(price, net):
    acc, off = account(), usage_offering(**price)
    p = product(acc, off, utc(2026, 9, 30, 22))
    totals = [usage(p, "voice", "1.00", quantity="250"), usage(p, "voice", "0.23", quantity="150")]
    draft = run(acc, "2026-10", [(p, off)], usage_totals=totals)
    assert [l.net.amount for l in draft.lines if l.kind == "usage"] == [net]

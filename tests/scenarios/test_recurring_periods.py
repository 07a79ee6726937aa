"""Recurring prices by period and timing: a monthly fee in arrears, an annual fee in advance, a weekly pass.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) takes three products on Saturday 2026-10-10:
"Fibre 100" (40.00 EUR a month, in arrears: the invoice for a period carries that period), "Static IP"
(120.00 EUR a year, in advance; years are the 12 bill periods from January's, so activation in October is
prorated by day to the end of 2026) and "Sports Pass" (2.50 EUR a week, in advance; weeks run from the
activation day, Saturday to Friday, and a week counts in the bill period it starts in). On 2027-02-17
(a Wednesday) she cancels the fibre and the pass.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.money import Money
from openbss.ordering import service as ordering
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc


def recurring_offering(u, name: str, amount: str, period: str, timing: str):
    price = NewPrice(kind="recurring", amount=Money.of(amount, "EUR"), period=period, charge_timing=timing, name=name)
    return catalog.create_offering(u, NewOffering(name=name, prices=[price]))


def descriptions(inv):
    return [line.description for line in inv.lines]


def test_monthly_in_arrears_annual_in_advance_and_a_weekly_pass(engine, uow, clock):
    with uow() as u:
        fibre_offer = recurring_offering(u, "Fibre 100", "40.00", "month", "inArrears")
        ip_offer = recurring_offering(u, "Static IP", "120.00", "year", "inAdvance")
        pass_offer = recurring_offering(u, "Sports Pass", "2.50", "week", "inAdvance")
        ada = factories.account(u)
    # Ordered a minute apart (11:00 to 11:02 in Berlin), so the products, and their lines, come in this order.
    products = []
    for minute, offer, service_id in ((0, fibre_offer, "fibre-1"), (1, ip_offer, "ip-1"), (2, pass_offer, "tv-1")):
        clock.move_to(utc(2026, 10, 10, 9, minute))
        with uow() as u:
            products.append(factories.subscribe(u, ada.id, offer.id, service_id))
    fibre, _, sports = products

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    assert lines(october) == [
        # In arrears: October's own days, 40.00 × 22/31 = 28.387… → 28.39 (nothing for November yet)
        ("recurring", date(2026, 10, 10), date(2026, 11, 1), D("28.39")),
        # The year 2026 is [2026-01-01, 2027-01-01), 365 days; 10 Oct to 31 Dec is 22 + 30 + 31 = 83 of them:
        # 120.00 × 83/365 = 27.287… → 27.29
        ("recurring", date(2026, 10, 10), date(2027, 1, 1), D("27.29")),
        # Weeks starting in October: 10, 17, 24, 31 October: 4 × 2.50 = 10.00 (the last one runs to 6 November)
        ("recurring", date(2026, 10, 10), date(2026, 11, 7), D("10.00")),
        # In advance, weeks starting in November: 7, 14, 21, 28 November: 4 × 2.50 = 10.00
        ("recurring", date(2026, 11, 7), date(2026, 12, 5), D("10.00")),
    ]
    assert descriptions(october) == [
        "Fibre 100, 2026-10-10 to 2026-10-31 (22/31 days)",
        "Static IP, 2026-10-10 to 2026-12-31 (83/365 days)",
        "Sports Pass, 2026-10-10 to 2026-11-06 (4 weeks)",
        "Sports Pass, 2026-11-07 to 2026-12-04 (4 weeks)",
    ]
    assert [(line.quantity, line.unit) for line in october.lines] == [
        (D("0.709677"), "month"), (D("0.227397"), "year"), (D("4"), "week"), (D("4"), "week"),
    ]
    # 28.39 + 27.29 + 10.00 + 10.00 = 75.68; × 0.19 = 14.3792 → 14.38; 75.68 + 14.38 = 90.06
    assert totals(october) == (D("75.68"), D("14.38"), D("90.06"))

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, ada.id, date(2026, 11, 1))
    assert lines(november) == [
        ("recurring", date(2026, 11, 1), date(2026, 12, 1), D("40.00")),  # November in arrears: 40.00 × 30/30
        # Static IP: billed to the end of 2026 already, nothing until the invoice before 2027 starts
        ("recurring", date(2026, 12, 5), date(2027, 1, 2), D("10.00")),  # 5, 12, 19, 26 December: 4 × 2.50
    ]
    # 40.00 + 10.00 = 50.00; × 0.19 = 9.50; 59.50
    assert totals(november) == (D("50.00"), D("9.50"), D("59.50"))

    bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    december = invoice_of(uow, ada.id, date(2026, 12, 1))
    assert lines(december) == [
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("40.00")),  # December in arrears
        # The next period starts the year 2027 [2027-01-01, 2028-01-01): billed once, in full, in advance
        ("recurring", date(2027, 1, 1), date(2028, 1, 1), D("120.00")),
        # Weeks starting in January 2027: 2, 9, 16, 23, 30 January: 5 × 2.50 = 12.50
        ("recurring", date(2027, 1, 2), date(2027, 2, 6), D("12.50")),
    ]
    assert descriptions(december)[1:] == [
        "Static IP, 2027-01-01 to 2027-12-31", "Sports Pass, 2027-01-02 to 2027-02-05 (5 weeks)",
    ]
    # 40.00 + 120.00 + 12.50 = 172.50; × 0.19 = 32.775 → 32.78; 172.50 + 32.78 = 205.28
    assert totals(december) == (D("172.50"), D("32.78"), D("205.28"))

    bill(engine, clock, "2027-01", utc(2027, 2, 1, 2))
    assert lines(invoice_of(uow, ada.id, date(2027, 1, 1))) == [
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), D("40.00")),  # January in arrears
        ("recurring", date(2027, 2, 6), date(2027, 3, 6), D("10.00")),  # 6, 13, 20, 27 February: 4 × 2.50
    ]

    clock.move_to(utc(2027, 2, 17, 9))  # 10:00 on Wednesday 17 February in Berlin
    with uow() as u:
        ordering.cancel_product(u, fibre.id)
        ordering.cancel_product(u, sports.id)

    bill(engine, clock, "2027-02", utc(2027, 3, 1, 2))
    february = invoice_of(uow, ada.id, date(2027, 2, 1))
    assert lines(february) == [
        # In arrears, the last days used: 1-16 February, 40.00 × 16/28 = 22.857… → 22.86
        ("recurring", date(2027, 2, 1), date(2027, 2, 17), D("22.86")),
        # The pass was billed 6 February to 5 March (28 days, 10.00); 17 February to 5 March is 17 days not used:
        # 10.00 × 17/28 = 6.071… → 6.07 back
        ("recurring", date(2027, 2, 17), date(2027, 3, 6), D("-6.07")),
    ]
    assert descriptions(february) == [
        "Fibre 100, 2027-02-01 to 2027-02-16 (16/28 days)",
        "Credit: Sports Pass, 2027-02-17 to 2027-03-05 (17 days not used)",
    ]
    assert february.lines[1].quantity == D("-2.428571")  # 17/7 weeks
    # 22.86 − 6.07 = 16.79; × 0.19 = 3.1901 → 3.19; 16.79 + 3.19 = 19.98
    assert totals(february) == (D("16.79"), D("3.19"), D("19.98"))

    # Nothing more is due: the static IP's 2027 is paid, the fibre and the pass have ended.
    bill(engine, clock, "2027-03", utc(2027, 4, 1, 2))
    assert invoice_of(uow, ada.id, date(2027, 3, 1)) is None

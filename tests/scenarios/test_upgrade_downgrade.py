"""Upgrade on day 10 of a 30-day month, then a downgrade on day 10 of a 31-day month, with proration.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) takes "Mobile M" (30.00 EUR a month, billed in
advance) on 2026-10-01, upgrades to "Mobile L" (45.00) on 2026-11-10 and downgrades to "Mobile S" (20.00)
on 2026-12-10. The day of a change is the new offering's. What was billed in advance for the old
offering's unused days comes back as a negative recurring line that names the line it reverses.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.ordering import service as ordering
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc


def test_upgrade_mid_cycle_then_downgrade(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))  # 11:00 in Berlin
    with uow() as u:
        m = factories.offering(u, "Mobile M", "30.00", usage={})
        l_ = factories.offering(u, "Mobile L", "45.00", usage={})
        s = factories.offering(u, "Mobile S", "20.00", usage={})
        ada = factories.account(u)
        product = factories.subscribe(u, ada.id, m.id, "+491511234567")

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    assert lines(october) == [
        ("recurring", date(2026, 10, 1), date(2026, 11, 1), D("30.00")),  # October: 30.00 × 31/31
        ("recurring", date(2026, 11, 1), date(2026, 12, 1), D("30.00")),  # November in advance: 30.00 × 30/30
    ]
    november_in_advance = october.lines[1]

    clock.move_to(utc(2026, 11, 10, 9))  # 10:00 on 10 November in Berlin
    with uow() as u:
        ordering.change_offering(u, product.id, l_.id)

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, ada.id, date(2026, 11, 1))
    assert lines(november) == [
        # Mobile M billed for all of November; used 1-9 November: 30.00 × 21/30 = 21.00 back for 10-30 November
        ("recurring", date(2026, 11, 10), date(2026, 12, 1), D("-21.00")),
        # Mobile L from 10 November: 45.00 × 21/30 = 31.50
        ("recurring", date(2026, 11, 10), date(2026, 12, 1), D("31.50")),
        # December in advance on Mobile L: 45.00 × 31/31
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("45.00")),
    ]
    credit = november.lines[0]
    assert (credit.reverses_id, credit.offering_id, credit.quantity) == (november_in_advance.id, m.id, D("-0.7"))
    assert credit.description == "Credit: Mobile M, 2026-11-10 to 2026-11-30 (21/30 days not used)"
    assert (credit.tax_category, credit.tax_rate) == ("standard", D("0.19"))  # VAT follows the line
    assert november.lines[1].description == "Mobile L, 2026-11-10 to 2026-11-30 (21/30 days)"
    # −21.00 + 31.50 + 45.00 = 55.50; × 0.19 = 10.545 → 10.55; 55.50 + 10.55 = 66.05
    assert totals(november) == (D("55.50"), D("10.55"), D("66.05"))

    clock.move_to(utc(2026, 12, 10, 9))
    with uow() as u:
        ordering.change_offering(u, product.id, s.id)

    bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    december = invoice_of(uow, ada.id, date(2026, 12, 1))
    assert december.number == "INV-2027-000001"
    assert lines(december) == [
        # Mobile L billed for all of December, used 1-9 December: 45.00 × 22/31 = 31.935… → 31.94 back
        ("recurring", date(2026, 12, 10), date(2027, 1, 1), D("-31.94")),
        # Mobile S from 10 December: 20.00 × 22/31 = 14.193… → 14.19
        ("recurring", date(2026, 12, 10), date(2027, 1, 1), D("14.19")),
        # January in advance on Mobile S
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), D("20.00")),
    ]
    # −31.94 + 14.19 + 20.00 = 2.25; × 0.19 = 0.4275 → 0.43; 2.25 + 0.43 = 2.68
    assert totals(december) == (D("2.25"), D("0.43"), D("2.68"))

    # Nothing is credited or charged twice: January bills February only.
    bill(engine, clock, "2027-01", utc(2027, 2, 1, 2))
    assert lines(invoice_of(uow, ada.id, date(2027, 1, 1))) == [
        ("recurring", date(2027, 2, 1), date(2027, 3, 1), D("20.00")),
    ]

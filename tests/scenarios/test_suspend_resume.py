"""Suspend and resume, without and with recurring charges during the suspension.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) has "Mobile M" (30.00 EUR a month) and "Mobile S"
(20.00) from 2026-10-01. Both are suspended from 5 to 15 November: Mobile M without charges (its
suspended days, billed in advance, come back), Mobile S with charges (nothing changes).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.ordering import service as ordering
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc


def test_suspended_days_are_not_charged_unless_the_suspension_keeps_charges(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        m = factories.offering(u, "Mobile M", "30.00", usage={})
        s = factories.offering(u, "Mobile S", "20.00", usage={})
        ada = factories.account(u)
        free = factories.subscribe(u, ada.id, m.id, "+491511234567")
        charged = factories.subscribe(u, ada.id, s.id, "+491511234568")

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    assert totals(invoice_of(uow, ada.id, date(2026, 10, 1)))[0] == D("100.00")  # (30.00 + 20.00) × 2 months

    clock.move_to(utc(2026, 11, 5, 9))  # 10:00 on 5 November in Berlin
    with uow() as u:
        ordering.suspend_product(u, free.id, charge_during_suspension=False)
        ordering.suspend_product(u, charged.id, charge_during_suspension=True)
    clock.move_to(utc(2026, 11, 15, 9))
    with uow() as u:
        ordering.resume_product(u, free.id)
        ordering.resume_product(u, charged.id)

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, ada.id, date(2026, 11, 1))
    assert lines(november) == [
        # Mobile M was suspended 5-14 November without charges: 30.00 × 10/30 = 10.00 back
        ("recurring", date(2026, 11, 5), date(2026, 11, 15), D("-10.00")),
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("30.00")),  # December in advance
        # Mobile S kept its charges while suspended: December in advance only
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("20.00")),
    ]
    assert [line.product_id for line in november.lines] == [free.id, free.id, charged.id]
    assert november.lines[0].description == "Credit: Mobile M, 2026-11-05 to 2026-11-14 (10/30 days not used)"
    # −10.00 + 30.00 + 20.00 = 40.00; × 0.19 = 7.60; 40.00 + 7.60 = 47.60
    assert totals(november) == (D("40.00"), D("7.60"), D("47.60"))


def test_a_credit_larger_than_the_charges_waits_for_the_next_invoice(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        m = factories.offering(u, "Mobile M", "30.00", usage={})
        ada = factories.account(u)
        product = factories.subscribe(u, ada.id, m.id, "+491511234567")
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))  # October and November: 60.00
    clock.move_to(utc(2026, 11, 26, 9))
    with uow() as u:
        ordering.suspend_product(u, product.id)

    # Still suspended at the November run: 30.00 × 5/30 = 5.00 would come back and nothing is charged, so
    # there is no invoice (a negative one would be a credit note).
    summary = bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    assert (summary.invoices_created, summary.skipped) == (0, 1)
    assert invoice_of(uow, ada.id, date(2026, 11, 1)) is None

    clock.move_to(utc(2026, 12, 3, 9))
    with uow() as u:
        ordering.resume_product(u, product.id)
    bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    december = invoice_of(uow, ada.id, date(2026, 12, 1))
    assert lines(december) == [
        ("recurring", date(2026, 11, 26), date(2026, 12, 1), D("-5.00")),  # 30.00 × 5/30, 26-30 November back
        ("recurring", date(2026, 12, 3), date(2027, 1, 1), D("28.06")),  # 30.00 × 29/31 = 28.064… → 28.06
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), D("30.00")),  # January in advance
    ]
    # −5.00 + 28.06 + 30.00 = 53.06; × 0.19 = 10.0814 → 10.08; 53.06 + 10.08 = 63.14
    assert totals(december) == (D("53.06"), D("10.08"), D("63.14"))

"""Cancellation immediately with an early-termination fee, and at the end of the term without one.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) orders on 2026-10-01 "Mobile M" (30.00 EUR a month) on
a 24-month term with a 150.00 early-termination fee, and "Mobile S" (20.00) on a 2-month term. She cancels
Mobile M at once on 2026-11-20 and Mobile S at the end of its term (2026-12-01 10:00 Berlin time).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.core.money import Money
from openbss.ordering import service as ordering
from openbss.ordering.model import NewTerm
from openbss.ordering.service import NewOrder, NewOrderItem
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc


def test_cancel_now_with_fee_and_at_end_of_term(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        m = factories.offering(u, "Mobile M", "30.00", usage={})
        s = factories.offering(u, "Mobile S", "20.00", usage={})
        ada = factories.account(u)
        order = ordering.place_order(u, NewOrder(ada.id, [
            NewOrderItem(m.id, "+491511234567", term=NewTerm(24), early_termination_fee=Money.of("150.00", "EUR")),
            NewOrderItem(s.id, "+491511234568", term=NewTerm(2)),
        ]))
        contract, short = order.products

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    # (30.00 + 20.00) × (October + November in advance) = 100.00
    assert totals(invoice_of(uow, ada.id, date(2026, 10, 1)))[0] == D("100.00")

    clock.move_to(utc(2026, 11, 20, 9))  # 10:00 on 20 November in Berlin
    with uow() as u:
        ordering.cancel_product(u, contract.id)
        ordering.cancel_product(u, short.id, at_end_of_term=True)  # ends 2026-12-01 10:00 Berlin time

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, ada.id, date(2026, 11, 1))
    assert lines(november) == [
        # the fee of the 24-month term, cancelled after 2 months, on its own line
        ("fee", date(2026, 11, 20), date(2026, 11, 21), D("150.00")),
        # Mobile M billed for all of November, ended on 20 November: 30.00 × 11/30 = 11.00 back for 20-30 November
        ("recurring", date(2026, 11, 20), date(2026, 12, 1), D("-11.00")),
        # Mobile S ends with its term on 1 December: no December in advance, no fee, nothing to credit
    ]
    assert november.lines[0].description == "Mobile M: early-termination fee, cancelled 2026-11-20"
    assert [line.product_id for line in november.lines] == [contract.id, contract.id]
    # 150.00 − 11.00 = 139.00; × 0.19 = 26.41; 139.00 + 26.41 = 165.41
    assert totals(november) == (D("139.00"), D("26.41"), D("165.41"))

    summary = bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    assert (summary.invoices_created, summary.skipped) == (0, 1)  # both products have ended

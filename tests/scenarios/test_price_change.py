"""A price change under each policy, side by side.

Two offerings cost 30.00 EUR a month until 2026-11-15 and 35.00 from then on. "Plan Keep"'s new price
carries the policy `keep` (existing subscribers are grandfathered at 30.00), "Plan Move"'s `next_cycle`
(they move at their first bill cycle start on or after 15 November: 1 December). Ada (DE, bill-cycle day
1, Europe/Berlin, 19 % VAT) has both from 2026-10-01; Blaise orders Plan Keep on 2026-11-20 and pays the
new price.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.money import Money
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc

CHANGE = utc(2026, 11, 14, 23)  # 2026-11-15 00:00 in Berlin


def plan(u, name, policy):
    return catalog.create_offering(u, NewOffering(name=name, prices=[
        NewPrice(kind="recurring", amount=Money.of("30.00", "EUR"), period="month", valid_to=CHANGE),
        NewPrice(kind="recurring", amount=Money.of("35.00", "EUR"), period="month", valid_from=CHANGE,
                 change_policy=policy),
    ]))


def test_keep_and_next_cycle(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        keep, move = plan(u, "Plan Keep", "keep"), plan(u, "Plan Move", "next_cycle")
        ada = factories.account(u)
        kept = factories.subscribe(u, ada.id, keep.id, "+491511234567")
        moved = factories.subscribe(u, ada.id, move.id, "+491511234568")

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    assert lines(invoice_of(uow, ada.id, date(2026, 10, 1))) == [
        ("recurring", date(2026, 10, 1), date(2026, 11, 1), D("30.00")),  # Plan Keep, October
        ("recurring", date(2026, 11, 1), date(2026, 12, 1), D("30.00")),  # Plan Keep, November (before the change)
        ("recurring", date(2026, 10, 1), date(2026, 11, 1), D("30.00")),  # Plan Move, October
        ("recurring", date(2026, 11, 1), date(2026, 12, 1), D("30.00")),  # Plan Move, November
    ]

    clock.move_to(utc(2026, 11, 20, 9))
    with uow() as u:
        blaise = factories.account(u, "Blaise")
        factories.subscribe(u, blaise.id, keep.id, "+491511234569")

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, ada.id, date(2026, 11, 1))
    assert lines(november) == [
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("30.00")),  # keep: grandfathered at 30.00
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("35.00")),  # next_cycle: 35.00 from 1 December
    ]
    assert [line.product_id for line in november.lines] == [kept.id, moved.id]
    # 30.00 + 35.00 = 65.00; × 0.19 = 12.35; 65.00 + 12.35 = 77.35
    assert totals(november) == (D("65.00"), D("12.35"), D("77.35"))
    assert lines(invoice_of(uow, blaise.id, date(2026, 11, 1))) == [
        # a new subscriber takes the price valid when ordering: 35.00 × 11/30 = 12.833… → 12.83 (20-30 November)
        ("recurring", date(2026, 11, 20), date(2026, 12, 1), D("12.83")),
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("35.00")),  # December in advance
    ]

    bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    assert lines(invoice_of(uow, ada.id, date(2026, 12, 1))) == [
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), D("30.00")),  # keep: still 30.00
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), D("35.00")),  # next_cycle: 35.00
    ]

"""A tax-inclusive offer over two months, amounts worked out by hand.

"Stream+" costs 9.99 EUR a month including VAT (price.taxIncludedAmount), billed in advance. Ada (DE, 19 %)
subscribes on 2026-10-01. Rule (billing.model): each line's net = round(gross / 1.19), the VAT group keeps the
gross: VAT = sum of (gross - net), so the customer pays exactly 9.99 a month.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.money import Money
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc


def test_tax_inclusive_offer_over_two_months(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        offering = catalog.create_offering(u, NewOffering(name="Stream+", prices=[
            NewPrice(kind="recurring", amount=Money.of("9.99", "EUR"), period="month", tax_included=True)]))
        account = factories.account(u)
        factories.subscribe(u, account.id, offering.id, "+491511234567")

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, account.id, date(2026, 10, 1))
    assert lines(october) == [
        # 9.99 / 1.19 = 8.394957… → 8.39 (October)
        ("recurring", date(2026, 10, 1), date(2026, 11, 1), Decimal("8.39")),
        # 9.99 / 1.19 → 8.39 (November in advance)
        ("recurring", date(2026, 11, 1), date(2026, 12, 1), Decimal("8.39")),
    ]
    # net 8.39 + 8.39 = 16.78; VAT (9.99 - 8.39) × 2 = 3.20 (not round(16.78 × 0.19) = 3.19); gross 2 × 9.99 = 19.98
    assert totals(october) == (Decimal("16.78"), Decimal("3.20"), Decimal("19.98"))

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, account.id, date(2026, 11, 1))
    # December in advance: net 8.39, VAT 9.99 - 8.39 = 1.60, gross 9.99
    assert lines(november) == [("recurring", date(2026, 12, 1), date(2027, 1, 1), Decimal("8.39"))]
    assert totals(november) == (Decimal("8.39"), Decimal("1.60"), Decimal("9.99"))

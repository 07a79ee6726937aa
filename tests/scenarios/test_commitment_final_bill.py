"""A minimum spend commitment through three months, ending in a final bill on termination.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) subscribes on 2026-09-10 to "Mobile M Commit": 30.00 EUR a
month in advance, voice 0.0020 EUR/s, and a minimum spend of 10.00 EUR a month on usage (TMF620 priceType
"commitment"). Rule (billing.commitment): top-up = 10.00 x days lived / days in the period - usage charged,
when positive; taxed like the product.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from openbss.billing.final_bill import final_bill
from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.errors import Conflict
from openbss.core.money import Money
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.ordering import service as ordering
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc

MSISDN = "+491511234567"


def call(u, key: str, at, seconds: int) -> None:
    result = mediation.ingest(u, [UsageRecord("msc-1", key, MSISDN, "voice", at, D(seconds), "+4930123456")])
    assert result.accepted == 1, result


def commit_offering(u):
    return catalog.create_offering(u, NewOffering(name="Mobile M Commit", tax_category="standard", prices=[
        NewPrice(kind="recurring", amount=Money.of("30.00", "EUR"), period="month"),
        NewPrice(kind="usage", amount=Money.of("0.0020", "EUR"), usage_type="voice"),
        NewPrice(kind="commitment", amount=Money.of("10.00", "EUR"), period="month"),
    ]))


def test_usage_topped_up_to_the_commitment_then_a_final_bill_on_termination(engine, uow, clock):
    clock.move_to(utc(2026, 9, 9, 22))  # 2026-09-10 00:00 in Berlin
    with uow() as u:
        ada = factories.account(u)
        product = factories.subscribe(u, ada.id, commit_offering(u).id, MSISDN)
    clock.move_to(utc(2026, 9, 20, 12))
    with uow() as u:
        call(u, "sep", utc(2026, 9, 20, 10), 1000)

    bill(engine, clock, "2026-09", utc(2026, 10, 1, 2))
    september = invoice_of(uow, ada.id, date(2026, 9, 1))
    assert lines(september) == [
        ("recurring", date(2026, 9, 10), date(2026, 10, 1), D("21.00")),  # 30.00 x 21/30
        ("recurring", date(2026, 10, 1), date(2026, 11, 1), D("30.00")),  # October in advance
        ("usage", None, None, D("2.00")),  # 1000 s x 0.0020
        # committed 10.00 x 21/30 = 7.00 (lived 10 to 30 September); 7.00 - 2.00 = 5.00
        ("commitment", date(2026, 9, 10), date(2026, 10, 1), D("5.00")),
    ]
    assert september.lines[3].description == (
        "Mobile M Commit: minimum spend 7.00 EUR on usage (21/30 days), usage charged 2.00 EUR")
    # 21.00 + 30.00 + 2.00 + 5.00 = 58.00; x 0.19 = 11.02; 69.02
    assert totals(september) == (D("58.00"), D("11.02"), D("69.02"))

    clock.move_to(utc(2026, 10, 15, 12))
    with uow() as u:
        call(u, "oct", utc(2026, 10, 15, 10), 6000)
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    # November in advance 30.00; usage 6000 s x 0.0020 = 12.00, above the 10.00 committed: no top-up
    assert lines(october) == [("recurring", date(2026, 11, 1), date(2026, 12, 1), D("30.00")),
                              ("usage", None, None, D("12.00"))]
    assert totals(october) == (D("42.00"), D("7.98"), D("49.98"))  # 42.00 x 0.19 = 7.98

    clock.move_to(utc(2026, 11, 10, 12))
    with uow() as u:
        call(u, "nov", utc(2026, 11, 10, 10), 1000)
        # The account still has a live subscription: no final bill, and the refusal names it.
        with pytest.raises(Conflict, match=rf"subscriptions still active: \{MSISDN} \(product {product.id}, active\)"):
            final_bill(u, ada.id)

    clock.move_to(utc(2026, 11, 25, 23))  # 2026-11-26 00:00 in Berlin: charged 1 to 25 November
    with uow() as u:
        ordering.cancel_product(u, product.id)
    clock.move_to(utc(2026, 11, 27, 9))
    with uow() as u:
        final = final_bill(u, ada.id)
    assert (final.period_start, final.period_end, final.issue_date) == (
        date(2026, 11, 1), date(2026, 11, 26), date(2026, 11, 27))  # cut at the termination, issued today
    assert lines(final) == [
        ("recurring", date(2026, 11, 26), date(2026, 12, 1), D("-5.00")),  # November's 30.00 x 5/30 given back
        ("usage", None, None, D("2.00")),  # 1000 s x 0.0020
        # committed 10.00 x 25/30 = 8.333... -> 8.33 (lived 1 to 25 November); 8.33 - 2.00 = 6.33
        ("commitment", date(2026, 11, 1), date(2026, 11, 26), D("6.33")),
    ]
    # -5.00 + 2.00 + 6.33 = 3.33; x 0.19 = 0.6327 -> 0.63; 3.96
    assert totals(final) == (D("3.33"), D("0.63"), D("3.96"))

    # The regular run of November finds the account billed; asking again finds nothing left.
    summary = bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    assert (summary.invoices_created, summary.invoices_existing) == (0, 1)
    assert invoice_of(uow, ada.id, date(2026, 11, 1)).number == final.number
    with uow() as u:
        assert final_bill(u, ada.id) is None  # December's period: nothing to bill

"""One customer's first two months, through the services with a moving clock; amounts worked out by hand.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) subscribes to "Mobile M" (30.00 EUR a month, voice
0.0020 EUR/s, SMS 0.09 EUR, data 0.01 EUR per 1,000,000 bytes) on 2026-10-10.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from openbss.billing import service as billing
from openbss.ledger import service as ledger
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories

MSISDN = "+491511234567"
_keys = itertools.count(1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def use(u, usage_type: str, at: datetime, quantity: int) -> None:
    record = UsageRecord("msc-1", f"r{next(_keys)}", MSISDN, usage_type, at, Decimal(quantity))
    result = mediation.ingest(u, [record])
    assert result.accepted == 1, result


def lines(inv):
    return [
        (line.line_no, line.kind, line.usage_type, line.quantity, line.service_start, line.service_end, line.net.amount)
        for line in inv.lines
    ]


def bill_run(engine, clock, period):
    return billing.run_bill_run(engine, period, clock=clock, rounding="half_up")


def test_one_customer_two_months(engine, uow, clock):
    clock.move_to(utc(2026, 10, 10, 8))  # 10:00 in Berlin
    with uow() as u:
        offering = factories.offering(u)
        account = factories.account(u)
        product = factories.subscribe(u, account.id, offering.id, MSISDN)

    clock.move_to(utc(2026, 10, 31, 23, 45))  # the usage is in: none is dated in the future
    with uow() as u:
        for seconds in (1200, 2000, 525):  # 3,725 s of calls
            use(u, "voice", utc(2026, 10, 12, 9), seconds)
        for _ in range(41):
            use(u, "sms", utc(2026, 10, 15, 12), 1)
        use(u, "sms", utc(2026, 10, 31, 22, 30), 1)  # 23:30 on Oct 31 in Berlin (CET): the 42nd October SMS
        use(u, "sms", utc(2026, 10, 31, 23, 30), 1)  # 00:30 on Nov 1 in Berlin: November's
        use(u, "data", utc(2026, 10, 20, 18), 2_345_678_901)

    clock.move_to(utc(2026, 11, 1, 2))
    summary = bill_run(engine, clock, "2026-10")
    assert (summary.accounts, summary.invoices_created, summary.skipped, summary.errors) == (1, 1, 0, [])
    with uow() as u:
        (oct_id,) = [i.id for i in billing.list_invoices(u, {}, 0, 10)[0]]
        october = billing.get_invoice(u, oct_id)
    assert (october.number, october.account_id) == ("INV-2026-000001", account.id)
    assert (october.period_start, october.period_end) == (date(2026, 10, 1), date(2026, 11, 1))
    assert (october.issue_date, october.due_date, october.state) == (date(2026, 11, 1), date(2026, 11, 15), "sent")
    assert all(l.product_id == product.id and l.tax_rate == Decimal("0.19") for l in october.lines)
    assert lines(october) == [
        # 30.00 × 22/31 = 21.290322… → 21.29 (Oct 10 to Oct 31 is 22 of October's 31 days)
        (1, "recurring", None, Decimal("0.709677"), date(2026, 10, 10), date(2026, 11, 1), Decimal("21.29")),
        # November in advance: 30.00 × 30/30
        (2, "recurring", None, Decimal("1"), date(2026, 11, 1), date(2026, 12, 1), Decimal("30.00")),
        # 2,345,678,901 / 1,000,000 × 0.01 = 23.45678901 → rated 23.456789 → 23.46
        (3, "usage", "data", Decimal("2345678901"), None, None, Decimal("23.46")),
        # 42 × 0.09 = 3.78
        (4, "usage", "sms", Decimal("42"), None, None, Decimal("3.78")),
        # (1,200 + 2,000 + 525) s = 3,725 s × 0.0020 = 7.45
        (5, "usage", "voice", Decimal("3725"), None, None, Decimal("7.45")),
    ]
    assert october.net_total.amount == Decimal("85.98")  # 21.29 + 30.00 + 23.46 + 3.78 + 7.45
    assert [(t.tax_category, t.taxable.amount, t.tax.amount) for t in october.taxes] == [
        ("standard", Decimal("85.98"), Decimal("16.34")),  # 85.98 × 0.19 = 16.3362 → 16.34
    ]
    assert october.tax_total.amount == Decimal("16.34")
    assert october.gross_total.amount == Decimal("102.32")  # 85.98 + 16.34
    assert summary.gross["EUR"].amount == Decimal("102.32")
    with uow() as u:
        assert ledger.ar_balance(u, account.id).amount == Decimal("102.32")

    # Late October usage arrives after the run; running 2026-10 again creates nothing and claims nothing.
    clock.move_to(utc(2026, 11, 2, 9))
    with uow() as u:
        use(u, "voice", utc(2026, 10, 20, 9), 100)
    again = bill_run(engine, clock, "2026-10")
    assert (again.invoices_created, again.invoices_existing, again.errors) == (0, 1, [])
    with uow() as u:
        assert billing.list_invoices(u, {}, 0, 10)[1] == 1
        assert billing.get_invoice(u, oct_id) == october
        assert ledger.ar_balance(u, account.id).amount == Decimal("102.32")

    clock.move_to(utc(2026, 11, 30, 12))
    with uow() as u:
        use(u, "voice", utc(2026, 11, 5, 9), 600)
        for _ in range(9):
            use(u, "sms", utc(2026, 11, 6, 9), 1)
        use(u, "data", utc(2026, 11, 7, 9), 500_000_000)

    clock.move_to(utc(2026, 12, 1, 2))
    november_run = bill_run(engine, clock, "2026-11")
    assert (november_run.invoices_created, november_run.errors) == (1, [])
    with uow() as u:
        invoices, total = billing.list_invoices(u, {"billingAccountId": str(account.id)}, 0, 10)
        november = billing.get_invoice(u, next(i.id for i in invoices if i.id != oct_id))
        ar = ledger.ar_balance(u, account.id)
    assert total == 2
    assert (november.number, november.issue_date, november.due_date) == (
        "INV-2026-000002", date(2026, 12, 1), date(2026, 12, 15))
    assert lines(november) == [
        # only December in advance: October and November are billed already
        (1, "recurring", None, Decimal("1"), date(2026, 12, 1), date(2027, 1, 1), Decimal("30.00")),
        # 500,000,000 / 1,000,000 × 0.01 = 5.00
        (2, "usage", "data", Decimal("500000000"), None, None, Decimal("5.00")),
        # 1 SMS at 00:30 on Nov 1 Berlin time + 9 = 10 × 0.09 = 0.90
        (3, "usage", "sms", Decimal("10"), None, None, Decimal("0.90")),
        # late October 100 s + November 600 s = 700 s × 0.0020 = 1.40
        (4, "usage", "voice", Decimal("700"), None, None, Decimal("1.40")),
    ]
    assert november.net_total.amount == Decimal("37.30")  # 30.00 + 5.00 + 0.90 + 1.40
    assert november.tax_total.amount == Decimal("7.09")  # 37.30 × 0.19 = 7.087 → 7.09
    assert november.gross_total.amount == Decimal("44.39")  # 37.30 + 7.09
    assert ar.amount == Decimal("146.71")  # 102.32 + 44.39

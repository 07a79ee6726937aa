"""Usage that arrives after its period was billed: marked late, billed on the next invoice on a line that
says so.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) subscribes to "Mobile M" (30.00 EUR a month, voice
0.0020 EUR/s, SMS 0.09 EUR, data 0.01 EUR per 1,000,000 bytes) on 2026-09-01.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, totals, utc

MSISDN = "+491511234567"


def call(u, key: str, at, seconds: int):
    result = mediation.ingest(u, [UsageRecord("msc-1", key, MSISDN, "voice", at, D(seconds), "+4930123456")])
    assert result.accepted == 1, result
    return mediation.find_usage(u, "msc-1", key)


def usage_lines(inv):
    return [(line.description, line.quantity, line.net.amount) for line in inv.lines if line.kind == "usage"]


def test_september_call_imported_after_september_was_billed_goes_on_october_marked_late(engine, uow, clock):
    clock.move_to(utc(2026, 8, 31, 22))  # midnight in Berlin
    with uow() as u:
        ada = factories.account(u)
        factories.subscribe(u, ada.id, factories.offering(u).id, MSISDN)

    clock.move_to(utc(2026, 9, 20, 12))
    with uow() as u:
        assert call(u, "on-time", utc(2026, 9, 20, 10), 100).late is False

    bill(engine, clock, "2026-09", utc(2026, 10, 1, 2))
    september = invoice_of(uow, ada.id, date(2026, 9, 1))
    # 100 s × 0.0020 = 0.20
    assert usage_lines(september) == [("Mobile M, voice usage", D("100"), D("0.20"))]

    clock.move_to(utc(2026, 10, 3, 12))  # the switch's file for September 29th arrives late
    with uow() as u:
        late = call(u, "late", utc(2026, 9, 29, 10), 250)
        on_time = call(u, "october", utc(2026, 10, 2, 10), 50)
    assert (late.late, on_time.late) == (True, False)  # September was billed through 2026-09-30T22:00Z

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    # One line per product and usage type, priced as before: (250 + 50) s × 0.0020 = 0.60; the line says
    # that late usage from before October is on it.
    assert usage_lines(october) == [
        ("Mobile M, voice usage (with late usage from before 2026-10-01)", D("300"), D("0.60"))]
    # November in advance 30.00 + usage 0.60 = 30.60; × 0.19 = 5.814 → 5.81; 36.41
    assert totals(october) == (D("30.60"), D("5.81"), D("36.41"))

    clock.move_to(utc(2026, 11, 2, 12))
    with uow() as u:
        call(u, "late-only", utc(2026, 10, 31, 10), 500)
    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    # Only late usage: 500 s × 0.0020 = 1.00
    assert usage_lines(invoice_of(uow, ada.id, date(2026, 11, 1))) == [
        ("Mobile M, voice usage (late, from before 2026-11-01)", D("500"), D("1.00"))]

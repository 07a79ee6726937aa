"""Shared by the credit-note and dispute tests: an account billed for October 2026 with recurring and usage lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from openbss.billing import service as billing
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories

MSISDN = "+491510000001"


def billed_october(uow, clock):
    """Ada (DE, 19 %, Europe/Berlin, BCD 1) with Mobile M (30.00/month) from 2026-10-01 and 1,000 s of October
    calls; returns (account, October invoice). Lines: 1 October 30.00, 2 November in advance 30.00, 3 voice
    1,000 s x 0.0020 = 2.00; net 62.00, VAT 62.00 x 0.19 = 11.78, gross 73.78."""
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, MSISDN)
    clock.move_to(datetime(2026, 10, 20, 9, tzinfo=UTC))
    with uow() as u:
        record = UsageRecord("msc-1", "call-1", MSISDN, "voice", datetime(2026, 10, 12, 9, tzinfo=UTC), Decimal(1000))
        assert mediation.ingest(u, [record]).accepted == 1
    clock.move_to(datetime(2026, 11, 1, 6, tzinfo=UTC))  # October has closed in Berlin
    with uow() as u:
        invoice = billing.bill_account(u, account.id, "2026-10")
    assert [line.net.amount for line in invoice.lines] == [Decimal("30.00"), Decimal("30.00"), Decimal("2.00")]
    assert invoice.gross_total.amount == Decimal("73.78")  # 62.00 + 11.78
    return account, invoice

"""Issued bills for the TMF678 kit, which only reads customerBill and appliedCustomerBillingRate: it takes the
first bill of the list (its id, href and first billDocument id) and the first applied rate (id, isBilled) and
reads them back by `id` and `isBilled`. Two accounts billed, so the `id` filter has something to leave out.

Made through the services as in production: order, usage through mediation, the bill run of a closed month.
The clock is fixed in a past month (October 2025), so the period has closed whatever day the kit runs on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from openbss.billing import service as billing
from openbss.core.clock import FixedClock
from openbss.db.uow import unit_of_work
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories

PERIOD = "2025-10"


def seed_bills(engine: sa.Engine) -> None:
    clock = FixedClock(datetime(2025, 10, 1, 9, tzinfo=UTC))
    lines = {"Ada Lovelace": "+4915100000001", "Grace Hopper": "+4915100000002"}
    with unit_of_work(engine, actor="conformance-seed", clock=clock) as u:
        offering = factories.offering(u)
        accounts = [factories.account(u, name) for name in lines]
        for account, msisdn in zip(accounts, lines.values(), strict=True):
            factories.subscribe(u, account.id, offering.id, msisdn)
    clock.move_to(datetime(2025, 10, 12, 9, tzinfo=UTC))
    with unit_of_work(engine, actor="conformance-seed", clock=clock) as u:
        calls = [UsageRecord("msc-1", f"call-{i}", msisdn, "voice", clock.now(), Decimal(600))
                 for i, msisdn in enumerate(lines.values())]
        result = mediation.ingest(u, calls)
        assert result.accepted == len(calls), result
    clock.move_to(datetime(2025, 11, 1, 6, tzinfo=UTC))  # October has closed in Berlin
    with unit_of_work(engine, actor="conformance-seed", clock=clock) as u:
        for account in accounts:
            invoice = billing.bill_account(u, account.id, PERIOD)
            assert invoice is not None and invoice.lines, account

"""billrun: a bill run over many accounts, each with a mobile subscription and a month of rated usage.

Reference: the same number of minimal per-account transactions (take the account's advisory lock, insert
one row, commit), measured in the same run: the floor any one-transaction-per-account bill run pays.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from benchmarks.harness import report, scratch_database
from openbss.api.events import install
from openbss.billing.service import run_bill_run
from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.config import load_settings
from openbss.core.clock import FixedClock
from openbss.core.money import Money
from openbss.db.uow import unit_of_work
from openbss.mediation.model import UsageRecord
from openbss.mediation.service import ingest
from openbss.ordering.service import NewOrder, NewOrderItem, place_order
from openbss.party.service import NewBillingAccount, NewCustomer, create_billing_account, create_customer

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1000"))
RECORDS_PER_ACCOUNT = int(os.environ.get("BENCH_RECORDS_PER_ACCOUNT", "50"))
START = datetime(2026, 9, 20, 9, tzinfo=UTC)


def seed(engine) -> None:
    eur = lambda v: Money.of(v, "EUR")  # noqa: E731
    clock = FixedClock(START)
    with unit_of_work(engine, actor="bench", clock=clock) as u:
        offer = create_offering(u, NewOffering("Mobile M", prices=[
            NewPrice("recurring", eur("30.00"), period="month", name="monthly fee"),
            NewPrice("usage", eur("0.0020"), usage_type="voice"),
            NewPrice("usage", eur("0.09"), usage_type="sms"),
        ]))
    for i in range(ACCOUNTS):
        with unit_of_work(engine, actor="bench", clock=clock) as u:
            c = create_customer(u, NewCustomer(f"Bench {i}"))
            acc = create_billing_account(u, NewBillingAccount(c.id, f"Bench {i}", "EUR", "DE", 1, "Europe/Berlin"))
            place_order(u, NewOrder(acc.id, [NewOrderItem(offer.id, f"+49151{i:08d}")], requested_start=START))
        # October's calls arrive once October is over (intake refuses records dated in its future).
        with unit_of_work(engine, actor="bench", clock=FixedClock(datetime(2026, 11, 1, 1, tzinfo=UTC))) as u:
            result = ingest(u, [UsageRecord("bench", f"{i}-{n}", f"+49151{i:08d}", ("voice", "sms")[n % 2],
                                   datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=n), Decimal(60 + n))
                       for n in range(RECORDS_PER_ACCOUNT)])
            assert result.accepted == RECORDS_PER_ACCOUNT, result.rejected[:3]


def reference(engine) -> float:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_reference (account int PRIMARY KEY, at timestamptz)"))
    t = time.perf_counter()
    for i in range(ACCOUNTS):
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": i})
            conn.execute(sa.text("INSERT INTO bench_reference VALUES (:i, now())"), {"i": i})
    return ACCOUNTS / (time.perf_counter() - t)


def main() -> None:
    install(load_settings())
    with scratch_database() as engine:
        seed(engine)
        clock = FixedClock(datetime(2026, 11, 1, 2, tzinfo=UTC))
        t = time.perf_counter()
        summary = run_bill_run(engine, "2026-10", clock=clock, rounding="half_up")
        rate = ACCOUNTS / (time.perf_counter() - t)
        assert summary.invoices_created == ACCOUNTS and not summary.errors, summary
        floor = reference(engine)
    report("billrun", "accounts/s", rate, "one minimal transaction per account, accounts/s", floor,
           accounts=ACCOUNTS, usage_records_per_account=RECORDS_PER_ACCOUNT,
           gross_eur=str(summary.gross["EUR"].amount))


if __name__ == "__main__":
    main()

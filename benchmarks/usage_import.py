"""usage-import: CSV usage intake (parse, validate, look up subscription and price, rate, store deduplicated).

Reference: PostgreSQL COPY of the same number of stored usage rows into a scratch table, measured in the
same run on the same server: the floor any row-at-a-time intake pays just to write.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from benchmarks.harness import report, scratch_database
from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.core.clock import FixedClock
from openbss.core.money import Money
from openbss.db.uow import unit_of_work
from openbss.mediation.bulk import import_csv
from openbss.ordering.service import NewOrder, NewOrderItem, place_order
from openbss.party.service import NewBillingAccount, NewCustomer, create_billing_account, create_customer

RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))
SERVICES = int(os.environ.get("BENCH_SERVICES", "2000"))
START = datetime(2026, 9, 1, tzinfo=UTC)


def seed(engine, clock) -> None:
    eur = lambda v: Money.of(v, "EUR")  # noqa: E731
    with unit_of_work(engine, actor="bench", clock=clock) as u:
        offer = create_offering(u, NewOffering("Mobile M", prices=[
            NewPrice("recurring", eur("30.00"), period="month"),
            NewPrice("usage", eur("0.0020"), usage_type="voice"),
            NewPrice("usage", eur("0.09"), usage_type="sms"),
            NewPrice("usage", eur("0.01"), usage_type="data", unit_size=Decimal(1_000_000)),
        ]))
        for i in range(0, SERVICES, 100):
            c = create_customer(u, NewCustomer(f"Bench {i}"))
            acc = create_billing_account(u, NewBillingAccount(c.id, f"Bench {i}", "EUR", "DE"))
            items = [NewOrderItem(offer.id, f"+49151{n:08d}") for n in range(i, min(i + 100, SERVICES))]
            place_order(u, NewOrder(acc.id, items, requested_start=START))


def write_csv(path: Path) -> None:
    types = ["voice", "sms", "data"]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["record_key", "service_id", "usage_type", "start_time", "quantity"])
        for n in range(RECORDS):
            at = START + timedelta(seconds=n * 7)
            w.writerow([f"r{n}", f"+49151{n % SERVICES:08d}", types[n % 3], at.isoformat(), n % 5000 + 1])


def copy_reference(engine) -> float:
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.execute("CREATE TEMP TABLE copy_reference (LIKE usage)")
        row = conn.execute(sa.text("SELECT * FROM usage LIMIT 1")).one()
        t = time.perf_counter()
        with raw.cursor().copy("COPY copy_reference FROM STDIN") as cp:
            for _ in range(RECORDS):
                cp.write_row(row)
        return RECORDS / (time.perf_counter() - t)


def main() -> None:
    clock = FixedClock(datetime(2026, 10, 1, 9, tzinfo=UTC))
    with scratch_database() as engine, tempfile.TemporaryDirectory() as tmp:
        seed(engine, clock)
        path = Path(tmp) / "usage.csv"
        write_csv(path)
        t = time.perf_counter()
        first = import_csv(engine, path, source="bench", clock=clock)
        rate = RECORDS / (time.perf_counter() - t)
        t = time.perf_counter()
        again = import_csv(engine, path, source="bench", clock=clock)
        rerun = RECORDS / (time.perf_counter() - t)
        assert first.accepted == RECORDS and again.duplicates == RECORDS, (first, again)
        reference = copy_reference(engine)
    report("usage-import", "records/s", rate, "postgres COPY of the same rows, rows/s", reference,
           records=RECORDS, services=SERVICES, reimport_all_duplicates_records_per_s=round(rerun, 1))


if __name__ == "__main__":
    main()

"""The end-to-end half of `openbss bench rating`: a CDR file -> rated rows in PostgreSQL (`mediation.bulk`), and
the raw COPY of the very rows it stored, measured in the same run on the same scratch server.

Setup (not timed): the bench's rate table stored as `bench-intl`, an offering whose voice and sms prices rate with
it and whose data price is per unit (0.01 EUR per 1,000,000 bytes), SERVICES subscriptions, and a CSV file of
E2E_RECORDS CDRs (voice 70 %, data 20 %, sms 10 %; calls and messages to the table's prefixes), in usage-date order through September.
Timed: `bulk.import_csv` of the file (parse, validate, enrich, rate, COPY, commit per chunk). Reference: the
stored rows exported with COPY TO, the table truncated, and the same bytes COPYed back into `usage` (same
indexes, same constraints): the rate at which PostgreSQL alone takes those rows.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from benchmarks.harness import scratch_database
from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.core.clock import FixedClock
from openbss.core.money import Money
from openbss.db.uow import unit_of_work
from openbss.mediation.bulk import import_csv
from openbss.ordering.service import NewOrder, NewOrderItem, place_order
from openbss.party.service import NewBillingAccount, NewCustomer, create_billing_account, create_customer
from openbss.rating import store
from openbss.rating.rules import RateTable

E2E_RECORDS = int(os.environ.get("BENCH_E2E_RECORDS", "1000000"))
SERVICES = int(os.environ.get("BENCH_SERVICES", "2000"))
SEPT = datetime(2026, 9, 1, tzinfo=UTC)
COLUMNS = "record_key,service_id,usage_type,start_time,quantity,destination"


def _seed(engine, clock, table: RateTable) -> None:
    eur = lambda v: Money.of(v, "EUR")  # noqa: E731
    with unit_of_work(engine, actor="bench", clock=clock) as u:
        store.import_table(u, "bench-intl", table)
        offer = create_offering(u, NewOffering("Intl M", prices=[
            NewPrice("recurring", eur("30.00"), period="month"),
            NewPrice("usage", eur("0.01"), usage_type="voice", unit_size=Decimal(60), rate_table="bench-intl"),
            NewPrice("usage", eur("0.09"), usage_type="sms", rate_table="bench-intl"),
            NewPrice("usage", eur("0.01"), usage_type="data", unit_size=Decimal(1_000_000)),
        ]))
        for i in range(0, SERVICES, 100):
            c = create_customer(u, NewCustomer(f"Bench {i}"))
            acc = create_billing_account(u, NewBillingAccount(c.id, f"Bench {i}", "EUR", "DE"))
            items = [NewOrderItem(offer.id, f"+49151{n:08d}") for n in range(i, min(i + 100, SERVICES))]
            place_order(u, NewOrder(acc.id, items, requested_start=SEPT))


def _write_file(path: Path, prefixes: pl.Series) -> None:
    """Deterministic CDRs made by Polars column expressions (hashes of the row number), not per row."""
    n = pl.int_range(0, E2E_RECORDS, dtype=pl.Int64)
    h = n.hash(7)
    kind = (h // 7 % 10).cast(pl.Int64)
    at = pl.lit(SEPT) + pl.duration(seconds=n * (29 * 86_400) // E2E_RECORDS)
    frame = pl.select(
        record_key=pl.lit("c") + n.cast(pl.String),
        service_id=pl.lit("+49151") + (n.hash(23) % SERVICES).cast(pl.String).str.zfill(8),
        usage_type=pl.when(kind < 7).then(pl.lit("voice")).when(kind < 9).then(pl.lit("data")).otherwise(pl.lit("sms")),
        start_time=at.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        quantity=pl.when(kind < 7).then(n.hash(13) % 3600).when(kind < 9).then(n.hash(17) % 50_000_000)
        .otherwise(1).cast(pl.String),
        destination=pl.when((kind < 7) | (kind == 9)).then(
            pl.lit(prefixes).gather((h % len(prefixes)).cast(pl.Int64))
            + (n.hash(11) % 10_000_000).cast(pl.String).str.zfill(7)).otherwise(None),
    )
    frame.write_csv(path)


def _copy_reference(engine) -> float:
    columns = [c.name for c in sa.Table("usage", sa.MetaData(), autoload_with=engine).c]
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        data = io.BytesIO()
        with raw.cursor().copy(f"COPY usage ({', '.join(columns)}) TO STDOUT (FORMAT csv)") as out:
            for block in out:
                data.write(block)
        raw.execute("TRUNCATE usage, usage_adjustment")  # no adjustments here; the foreign key asks for both
    blob = data.getvalue()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        t = time.perf_counter()
        with raw.cursor().copy(f"COPY usage ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
            for start in range(0, len(blob), 1 << 20):
                copy.write(blob[start:start + (1 << 20)])
    return E2E_RECORDS / (time.perf_counter() - t)


def end_to_end(table: RateTable) -> dict:
    """(records/s file -> rated rows in PostgreSQL, rows/s raw COPY of the same rows) and the counts."""
    clock = FixedClock(datetime(2026, 10, 1, 9, tzinfo=UTC))
    with scratch_database() as engine, tempfile.TemporaryDirectory() as tmp:
        _seed(engine, clock, table)
        path = Path(tmp) / "cdrs.csv"
        _write_file(path, pl.Series(sorted(table.by_prefix)))
        t = time.perf_counter()
        result = import_csv(engine, path, source="bench", clock=clock)
        seconds = time.perf_counter() - t
        assert result.accepted == E2E_RECORDS and not result.rejected, (result.accepted, result.rejected[:3])
        with engine.connect() as conn:
            total = conn.execute(sa.text("SELECT sum(charge) FROM usage")).scalar_one()
        reference = _copy_reference(engine)
    return {"end_to_end": E2E_RECORDS / seconds, "copy": reference, "records": E2E_RECORDS,
            "services": SERVICES, "charged_total": str(total)}

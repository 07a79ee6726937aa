"""billrun: the bill run over many accounts, each with 2 recurring products and a month of rated usage.

Seeding: one template account is made through the services (customer, billing account, an order of two
products, their events, BENCH_RECORDS_PER_ACCOUNT usage records ingested and rated); its rows are then cloned
BENCH_ACCOUNTS - 1 times in SQL (every id it owns mapped to a new one, unique text such as service ids and
record keys suffixed), so each account holds exactly the rows the services write, without a service call per
account. Catalog rows are shared.

Value: invoices ISSUED per second of `run_bill_run` with BENCH_WORKERS (2) queue worker processes in jobs of
BENCH_BATCH (500): drafting, approving and issuing timed together (billing/billrun.py), ledger postings, audit,
outbox and deliveries included. Reference, measured in the same run: the raw insert
rate of the same rows (the invoices, lines, VAT rows, journal entries and journal lines the run wrote, read
back first and then COPYed into empty tables of the same shape, one transaction per batch of invoices).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from benchmarks.harness import report, scratch_database
from openbss.api.events import install
from openbss.billing.billrun import run_bill_run
from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.config import load_settings
from openbss.core.clock import FixedClock
from openbss.core.money import Money
from openbss.db.uow import unit_of_work
from openbss.mediation.model import UsageRecord
from openbss.mediation.service import ingest
from openbss.ordering.service import NewOrder, NewOrderItem, place_order
from openbss.party.service import NewBillingAccount, NewCustomer, create_billing_account, create_customer

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "100000"))
RECORDS_PER_ACCOUNT = int(os.environ.get("BENCH_RECORDS_PER_ACCOUNT", "50"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))
START = datetime(2026, 9, 20, 9, tzinfo=UTC)
# The template account's rows, table by table, in foreign-key order; cloned for every other account.
CLONED = ("party", "customer", "billing_account", "product_order", "product", "product_order_item",
          "product_event", "usage")
# Text that must be unique per account: phone numbers and other service ids, usage keys, account numbers.
SUFFIXED = {"service_id", "record_key", "number"}
WRITTEN = ("invoice", "invoice_line", "invoice_tax", "journal_entry", "journal_line")


def seed_template(engine) -> None:
    eur = lambda v: Money.of(v, "EUR")  # noqa: E731
    clock = FixedClock(START)
    with unit_of_work(engine, actor="bench", clock=clock) as u:
        mobile = create_offering(u, NewOffering("Mobile M", prices=[
            NewPrice("recurring", eur("30.00"), period="month", name="monthly fee"),
            NewPrice("usage", eur("0.0020"), usage_type="voice"),
            NewPrice("usage", eur("0.09"), usage_type="sms"),
        ]))
        tv = create_offering(u, NewOffering("TV Basic", prices=[
            NewPrice("recurring", eur("12.50"), period="month", name="monthly fee")]))
        c = create_customer(u, NewCustomer("Bench 0"))
        acc = create_billing_account(u, NewBillingAccount(c.id, "Bench 0", "EUR", "DE", 1, "Europe/Berlin"))
        place_order(u, NewOrder(acc.id, [NewOrderItem(mobile.id, "+4915100000000"), NewOrderItem(tv.id, "tv-0")],
                                requested_start=START))
    # October's calls arrive once October is over (intake refuses records dated in its future).
    with unit_of_work(engine, actor="bench", clock=FixedClock(datetime(2026, 11, 1, 1, tzinfo=UTC))) as u:
        result = ingest(u, [UsageRecord("bench", f"0-{n}", "+4915100000000", ("voice", "sms")[n % 2],
                                        datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=n), Decimal(60 + n))
                            for n in range(RECORDS_PER_ACCOUNT)])
        assert result.accepted == RECORDS_PER_ACCOUNT, result.rejected[:3]


def _clone_sql(conn: sa.Connection, table: str) -> str:
    """INSERT ... SELECT copying the template's rows of `table` for copies 1..n-1: ids the template owns become
    md5(id || copy)::uuid (so references between cloned rows stay consistent), the SUFFIXED text columns get
    the copy number appended."""
    columns = conn.execute(sa.text(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :t "
        "ORDER BY ordinal_position"), {"t": table}).all()
    def expression(name: str, kind: str) -> str:
        if kind == "uuid":
            return f"CASE WHEN t.{name} IN (SELECT id FROM bench_owned) THEN md5(t.{name}::text || g)::uuid " \
                   f"ELSE t.{name} END"
        if name in SUFFIXED:
            return f"t.{name} || '-' || g"
        return f"t.{name}"

    names = ", ".join(c for c, _ in columns)
    values = ", ".join(expression(c, k) for c, k in columns)
    return f"INSERT INTO {table} ({names}) SELECT {values} FROM {table} t, generate_series(1, :n) g"


def clone(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE bench_owned (id uuid PRIMARY KEY)"))
        for table in CLONED:
            conn.execute(sa.text(f"INSERT INTO bench_owned SELECT id FROM {table}"))
        conn.execute(sa.text("ANALYZE bench_owned"))
        for table in CLONED:
            conn.execute(sa.text(_clone_sql(conn, table)), {"n": ACCOUNTS - 1})
        conn.execute(sa.text("ANALYZE"))


def reference(engine) -> float:
    """Invoices per second of plainly COPYing the rows the run wrote into empty tables of the same shape."""
    with engine.begin() as conn:
        rows = {t: conn.execute(sa.text(f"SELECT * FROM {t}")).all() for t in WRITTEN}
        for t in WRITTEN:
            conn.execute(sa.text(f"CREATE TABLE ref_{t} (LIKE {t} INCLUDING ALL)"))
    by_invoice: dict = {}
    for r in rows["invoice_line"]:
        by_invoice.setdefault(r.invoice_id, []).append(r)
    taxes: dict = {}
    for r in rows["invoice_tax"]:
        taxes.setdefault(r.invoice_id, []).append(r)
    entry_of = {e.source_id: e for e in rows["journal_entry"]}
    lines_of: dict = {}
    for r in rows["journal_line"]:
        lines_of.setdefault(r.entry_id, []).append(r)
    invoices = rows["invoice"]
    t = time.perf_counter()
    for start in range(0, len(invoices), BATCH):
        chunk = invoices[start:start + BATCH]
        entries = [entry_of[i.id] for i in chunk]
        parts = {"invoice": chunk, "invoice_line": [r for i in chunk for r in by_invoice.get(i.id, [])],
                 "invoice_tax": [r for i in chunk for r in taxes.get(i.id, [])], "journal_entry": entries,
                 "journal_line": [r for e in entries for r in lines_of.get(e.id, [])]}
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            for table, part in parts.items():
                with cursor.copy(f"COPY ref_{table} FROM STDIN") as copy:
                    for r in part:
                        copy.write_row(tuple(r))
    return len(invoices) / (time.perf_counter() - t)


def main() -> None:
    install(load_settings())
    with scratch_database() as engine:
        t = time.perf_counter()
        seed_template(engine)
        clone(engine)
        seeding = time.perf_counter() - t
        clock = FixedClock(datetime(2026, 11, 1, 2, tzinfo=UTC))
        t = time.perf_counter()
        drafted: list[float] = []  # when progress first showed every account drafted (polled every 0.2 s)

        def seen(done: int, total: int) -> None:
            if done == total and not drafted:
                drafted.append(time.perf_counter() - t)

        summary = run_bill_run(engine, "2026-10", clock=clock, rounding="half_up", workers=WORKERS, batch=BATCH,
                               issue=True, on_progress=seen)
        elapsed = time.perf_counter() - t
        rate = summary.invoices_created / elapsed
        assert summary.state == "issued", summary.state
        assert summary.invoices_created == ACCOUNTS and not summary.errors, summary.errors[:3]
        floor = reference(engine)
    report("billrun", "invoices/s", rate, "raw COPY of the same invoice, line, tax and journal rows, invoices/s",
           floor, accounts=ACCOUNTS, usage_records_per_account=RECORDS_PER_ACCOUNT, workers=WORKERS, batch=BATCH,
           seeding_s=round(seeding, 1), drafting_s=round(drafted[0], 1) if drafted else None,
           issuing_s=round(elapsed - drafted[0], 1) if drafted else None, gross_eur=str(summary.gross["EUR"].amount))


if __name__ == "__main__":
    main()

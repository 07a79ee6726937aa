"""The bulk import's fast lane stores exactly what the pipeline stores: the same file imported with
`bulk.import_csv` (source "bulk") and record by record through `parse_row` + `ingest_lines` (source "pipe")
gives the same rows (charge, price, zone, band, late, account, product) and the same rejections by line.

Tariffs: factory offering, voice 0.0020 EUR/s, sms 0.09 EUR, data 0.01 EUR per 1,000,000 bytes, with a voice
price change on 16 September to 0.0030 EUR/s; a rate-table offering (tests/data/rating/mobile.yaml) without
allowance, Germany voice 0.40 connect + 0.20/min per started minute."""

import csv
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.mediation import bulk, service
from openbss.mediation.tables import usage
from openbss.ordering import service as ordering
from tests import factories
from tests.integration.test_rating_records import tariff

SEPT = datetime(2026, 9, 1, tzinfo=UTC)
COLUMNS = ["record_key", "service_id", "usage_type", "start_time", "quantity", "destination"]


def seed(uow):
    with uow() as u:
        acc = factories.account(u)
        change = datetime(2026, 9, 16, tzinfo=UTC)
        eur = lambda v: Money.of(v, "EUR")  # noqa: E731
        plain = catalog.create_offering(u, NewOffering(name="Mobile M", prices=[
            NewPrice(kind="recurring", amount=eur("30.00"), period="month"),
            NewPrice(kind="usage", amount=eur("0.0020"), usage_type="voice", valid_to=change),
            NewPrice(kind="usage", amount=eur("0.0030"), usage_type="voice", valid_from=change),
            NewPrice(kind="usage", amount=eur("0.09"), usage_type="sms"),
            NewPrice(kind="usage", amount=eur("0.01"), usage_type="data", unit_size=Decimal(1_000_000)),
        ]))
        table = tariff(u, included=0, name="Table M")
        for n in range(4):
            factories.subscribe(u, acc.id, plain.id, f"+4915100000{n:03d}", start=SEPT)
        factories.subscribe(u, acc.id, table.id, "+4915200000001", start=SEPT)


def rows(n=400):
    """Ordinary rows and every kind of row the fast lane hands to the pipeline, shuffled."""
    rnd = random.Random(7)
    out = []
    for i in range(n):
        at = SEPT + timedelta(minutes=rnd.randrange(0, 29 * 24 * 60))
        kind = rnd.choice(["voice", "sms", "data", "table"])
        service_id = "+4915200000001" if kind == "table" else f"+4915100000{rnd.randrange(4):03d}"
        usage_type = "voice" if kind == "table" else kind
        quantity = str(rnd.randrange(0, 4000)) if usage_type != "data" else f"{rnd.randrange(0, 10**9)}.{rnd.randrange(10**6):06d}"
        destination = rnd.choice(["4930123456", "+33123456", "491701234", ""]) if kind == "table" else ""
        out.append([f"k{i}", service_id, usage_type, at.isoformat(), quantity, destination])
    out += [
        ["bad-date", "+4915100000001", "voice", "15/09/2026", "60", ""],
        ["exponent", "+4915100000001", "voice", "2026-09-15T10:00:00Z", "1.5e3", ""],  # 1500 s: the pipeline reads it
        ["neg", "+4915100000001", "voice", "2026-09-15T10:00:00Z", "-5", ""],
        ["future", "+4915100000001", "voice", "2027-01-01T00:00:00Z", "60", ""],
        ["unknown", "+4900000000000", "voice", "2026-09-15T10:00:00Z", "60", ""],
        ["before", "+4915100000001", "voice", "2026-08-15T10:00:00Z", "60", ""],
        ["k5", "+4915100000001", "sms", "2026-09-15T10:00:00Z", "1", ""],  # the key of an earlier row
        ["no-zone", "+4915200000001", "voice", "2026-09-15T10:00:00Z", "60", "999"],
        ["half-second", "+4915200000001", "voice", "2026-09-15T10:00:00Z", "60.5", "4930"],
        ["", "+4915100000001", "sms", "2026-09-15T10:00:00Z", "1", ""],
        ["zulu", "+4915100000001", "sms", "2026-09-15T10:00:00.250Z", "1", ""],
    ]
    rnd.shuffle(out)
    return out


def write(path: Path, data) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(data)
    return path


def stored(engine, source):
    keep = [c for c in usage.c if c.name not in ("id", "created_at", "source")]
    with engine.connect() as conn:
        return {r.record_key: r for r in conn.execute(sa.select(*keep).where(usage.c.source == source))}


def test_fast_lane_and_pipeline_store_the_same_rows(engine, uow, clock, tmp_path):
    seed(uow)
    data = rows()
    path = write(tmp_path / "usage.csv", data)
    fast = bulk.import_csv(engine, path, source="bulk", clock=clock, batch_size=150)
    with uow() as u:
        records = []
        for line, values in enumerate(data, start=2):
            parsed = service.parse_row(dict(zip(COLUMNS, values, strict=True)), "pipe")
            if not isinstance(parsed, service.Problem):
                records.append((line, parsed))
        piped = service.ingest_lines(u, records, quarantine=False)
    a, b = stored(engine, "bulk"), stored(engine, "pipe")
    assert a == b and len(a) > 350
    assert {r.zone for r in a.values()} >= {"Germany", "France", None}
    assert sum(r.charge for r in a.values()) == sum(r.charge for r in b.values())
    # Rejections: the pipeline's reasons, by the same lines (the unreadable rows are only in the bulk result).
    assert {(r.line, r.reason) for r in piped.rejected} <= {(r.line, r.reason) for r in fast.rejected}
    assert fast.accepted == piped.accepted and fast.duplicates == piped.duplicates == 1
    # Every planted bad row, and the calls to a rate table without a destination; not the duplicate k5, nor the
    # zulu and exponent rows (which are fine).
    planted = {"bad-date", "neg", "future", "unknown", "before", "no-zone", "half-second", ""}
    expected = {line for line, row in enumerate(data, start=2)
                if row[0] in planted or (row[1] == "+4915200000001" and not row[5])}
    assert {r.line for r in fast.rejected} == expected


def test_a_file_imported_again_stores_nothing_twice(engine, uow, clock, tmp_path):
    seed(uow)
    path = write(tmp_path / "usage.csv", rows(100))
    first = bulk.import_csv(engine, path, source="sw", clock=clock, batch_size=40)
    again = bulk.import_csv(engine, path, source="sw", clock=clock, batch_size=40)
    assert again.accepted == 0 and again.duplicates == first.accepted + first.duplicates
    assert len(stored(engine, "sw")) == first.accepted


def test_quantities_are_charged_to_the_micro_unit(engine, uow, clock, tmp_path):
    seed(uow)
    path = write(tmp_path / "usage.csv", [
        ["d1", "+4915100000001", "data", "2026-09-10T10:00:00Z", "1234567.891234", ""],
        ["v1", "+4915100000001", "voice", "2026-09-20T10:00:00Z", "61", ""],
    ])
    bulk.import_csv(engine, path, source="sw", clock=clock)
    got = {k: r.charge for k, r in stored(engine, "sw").items()}
    # 1,234,567.891234 bytes x 0.01 / 1,000,000 = 0.01234567891234 -> 0.012346 (half-up, 6 places)
    # 61 s x 0.0030 (the price from 16 September) = 0.183
    assert got == {"d1": Decimal("0.012346"), "v1": Decimal("0.183")}


def test_usage_dated_before_its_account_was_billed_through_is_marked_late(engine, uow, clock, tmp_path):
    seed(uow)
    with uow() as u:
        account_id = ordering.products_by_service_id(u, ["+4915100000001"])["+4915100000001"][0].account_id
        service.claim_unbilled_usage(u, account_id, datetime(2026, 9, 20, tzinfo=UTC), new_id())  # billed to 20 Sep
    path = write(tmp_path / "usage.csv", [
        ["early", "+4915100000001", "sms", "2026-09-10T10:00:00Z", "1", ""],
        ["later", "+4915100000001", "sms", "2026-09-25T10:00:00Z", "1", ""],
    ])
    bulk.import_csv(engine, path, source="sw", clock=clock)
    assert {k: r.late for k, r in stored(engine, "sw").items()} == {"early": True, "later": False}

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.mediation import bulk, service
from openbss.mediation.cli import usage_app
from openbss.mediation.model import UsageRecord
from openbss.mediation.tables import usage
from tests import factories

SAMPLE = Path(__file__).parent.parent / "data" / "usage_sample.csv"
SEPT = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def lines(uow):
    """Two subscriptions of one account on the factory tariff: voice 0.0020 EUR/s, sms 0.09 EUR,
    data 0.01 EUR per 1,000,000 bytes."""
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)
        first = factories.subscribe(u, acc.id, off.id, "+4915100000001", start=SEPT)
        second = factories.subscribe(u, acc.id, off.id, "+4915100000002", start=SEPT)
    return acc, first, second


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(usage)).scalar_one()


def test_csv_import_keeps_good_rows_and_reports_bad_ones_by_line(engine, clock, lines):
    result = bulk.import_csv(engine, SAMPLE, source="switch-1", clock=clock, batch_size=4)
    assert (result.accepted, result.duplicates) == (4, 1)  # c-001, c-002, c-003, c-010; c-001 again on line 12
    assert [(r.line, r.field) for r in result.rejected] == [
        (5, "start_time"),  # yesterday
        (6, "quantity"),  # -5
        (7, "service_id"),  # no subscription
        (8, "usage_type"),  # fax
        (9, "quantity"),  # ten
        (10, "quantity"),  # missing column
    ]
    assert result.rejected[2].reason == "is not the service id of any subscription"
    assert result.rejected[5].reason == "is missing"
    assert stored(engine) == 4

    again = bulk.import_csv(engine, SAMPLE, source="switch-1", clock=clock)
    assert (again.accepted, again.duplicates, len(again.rejected)) == (0, 5, 6)
    assert stored(engine) == 4


def test_same_keys_from_another_source_are_other_records(engine, clock, lines):
    bulk.import_csv(engine, SAMPLE, source="switch-1", clock=clock)
    assert bulk.import_csv(engine, SAMPLE, source="switch-2", clock=clock).accepted == 4
    assert stored(engine) == 8


def test_a_file_without_the_columns_is_refused_whole(engine, clock, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("key,msisdn\n1,2\n")
    with pytest.raises(InvalidValue) as err:
        bulk.import_csv(engine, bad, source="x", clock=clock)
    assert err.value.field == "header" and "record_key, service_id, usage_type, start_time" in err.value.message


def test_claim_unbilled_usage_returns_exact_totals_once(uow, lines):
    acc, first, second = lines
    at = datetime(2026, 9, 15, 8, tzinfo=UTC)
    records = [
        UsageRecord("sw", "v1", "+4915100000001", "voice", at, Decimal(125)),
        UsageRecord("sw", "v2", "+4915100000001", "voice", at, Decimal(61)),
        UsageRecord("sw", "s1", "+4915100000001", "sms", at, Decimal(3)),
        UsageRecord("sw", "d1", "+4915100000002", "data", at, Decimal(2_500_001)),
        UsageRecord("sw", "late", "+4915100000001", "voice", datetime(2026, 10, 1, tzinfo=UTC), Decimal(10)),
    ]
    with uow() as u:
        assert service.ingest(u, records).accepted == 5
    invoice = new_id()
    with uow() as u:
        totals = service.claim_unbilled_usage(u, acc.id, datetime(2026, 10, 1, tzinfo=UTC), invoice)
    by_key = {(t.product_id, t.usage_type): t for t in totals}
    assert len(by_key) == 3  # the record dated at the period end is left for the next invoice
    voice = by_key[(first.id, "voice")]
    assert (voice.count, voice.quantity, voice.unit) == (2, Decimal(186), "second")  # 125 + 61 s
    assert voice.amount == Money(Decimal("0.372"), "EUR")  # 0.250 + 0.122 (125 x 0.002, 61 x 0.002)
    sms = by_key[(first.id, "sms")]
    assert (sms.count, sms.quantity, sms.amount) == (1, Decimal(3), Money(Decimal("0.27"), "EUR"))  # 3 x 0.09
    data = by_key[(second.id, "data")]
    # 2,500,001 / 1,000,000 x 0.01 = 0.02500001 -> rated to 6 decimals: 0.025000
    assert (data.quantity, data.amount) == (Decimal(2_500_001), Money(Decimal("0.025"), "EUR"))

    with uow() as u:
        assert service.claim_unbilled_usage(u, acc.id, datetime(2026, 10, 1, tzinfo=UTC), new_id()) == []
        billed, _ = service.list_usage(u, {"status": "billed"}, 0, 100)
    assert {b.invoice_id for b in billed} == {invoice} and len(billed) == 4


def test_cli_import_prints_summary_and_rejected_lines(engine, run_cli, lines):
    r = run_cli(usage_app, ["import", str(SAMPLE), "--source", "switch-1", "--batch-size", "3"])
    assert r.exit_code == 0, r.output
    assert re.search(r"│\s+4 │\s+1 │\s+6 │", r.output)  # accepted, duplicates, rejected
    assert "line 5: start_time='yesterday' is not an ISO 8601 date-time" in r.output
    assert "line 7: service_id='+4915199999999' is not the service id of any subscription" in r.output
    strict = run_cli(usage_app, ["import", str(SAMPLE), "--source", "switch-1", "--strict"])
    assert strict.exit_code == 1
    assert stored(engine) == 4


def test_an_import_interrupted_mid_file_loses_and_duplicates_nothing_when_run_again(engine, clock, lines, tmp_path):
    path = tmp_path / "usage.csv"
    rows = [f"k{n},+491510000000{1 + n % 2},sms,2026-09-0{1 + n % 9}T10:00:00+00:00,1" for n in range(25)]
    path.write_text("record_key,service_id,usage_type,start_time,quantity\n" + "\n".join(rows) + "\n")

    class Crash(Exception):
        pass

    def crash_after_two_batches(done: int) -> None:
        if done >= 20:
            raise Crash

    with pytest.raises(Crash):
        bulk.import_csv(engine, path, source="sw", clock=clock, batch_size=10, on_progress=crash_after_two_batches)
    assert stored(engine) == 20  # the two committed batches survive the crash
    again = bulk.import_csv(engine, path, source="sw", clock=clock, batch_size=10)
    assert (again.accepted, again.duplicates, again.rejected) == (5, 20, [])
    assert stored(engine) == 25

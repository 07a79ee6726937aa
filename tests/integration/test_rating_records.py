"""rate_records: rate-table prices with allowance buckets (rollover, hierarchy pools), plain prices, problems,
and the scalar and batch paths giving the same answers. Tariff (tests/data/rating/mobile.yaml), Germany zone:
voice 0.40 connect + 0.20/min per started minute (60/60), half-up to 2 places; sms 0.09 per message."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.mediation.model import Problem, UsageRecord
from openbss.ordering import service as ordering
from openbss.rating import store
from openbss.rating.service import RatedCharge, RatingRequest, buckets_of, rate_records
from tests import factories

D = Decimal
TABLE = Path(__file__).resolve().parents[1] / "data" / "rating" / "mobile.yaml"
OCT = datetime(2026, 10, 5, 12, tzinfo=UTC)  # a Monday


def tariff(u, *, included=300, rollover=False, scope=None, name="Mobile Table"):
    store.import_file(u, TABLE)
    return create_offering(u, NewOffering(name=name, prices=[
        NewPrice(kind="recurring", amount=Money.of("10.00", "EUR"), period="month"),
        NewPrice(kind="usage", amount=Money.of("0.20", "EUR"), usage_type="voice", unit_size=D(60),
                 rate_table="mobile-de", included_units=D(included), rollover=rollover, allowance_scope=scope),
        NewPrice(kind="usage", amount=Money.of("0.09", "EUR"), usage_type="sms", rate_table="mobile-de"),
        NewPrice(kind="usage", amount=Money.of("0.01", "EUR"), usage_type="data", unit_size=D(1_000_000)),
    ]))


def call(product, seconds, at=OCT, destination="4930123456", key=None, usage_type="voice"):
    record = UsageRecord("switch", key or f"{product.service_id}-{at.isoformat()}-{seconds}", product.service_id,
                         usage_type, at, D(seconds), destination=destination)
    return RatingRequest(record, product, "EUR")


@pytest.fixture
def line(uow):
    with uow() as u:
        offer = tariff(u)
        acc = factories.account(u)
        return factories.subscribe(u, acc.id, offer.id, "+4915100000001", datetime(2026, 10, 1, tzinfo=UTC))


def amounts(rated):
    return [r.charge.amount if isinstance(r, RatedCharge) else r.field for r in rated]


def test_calls_take_the_allowance_in_usage_date_order(uow, line):
    with uow() as u:
        rated = rate_records(u, [call(line, 60, OCT.replace(hour=14)), call(line, 130, OCT.replace(hour=12)),
                                 call(line, 130, OCT.replace(hour=13))])
        bucket, = buckets_of(u, "product", line.id)
    # 12:00, 130 s bills 180 s, all covered by the 300 s: 0 (no connect fee)
    # 13:00, 130 s bills 180 s, 120 s left: 60 s to pay -> 0.40 + 1 x 0.20 = 0.60
    # 14:00, 60 s bills 60 s, nothing left -> 0.40 + 0.20 = 0.60
    assert amounts(rated) == [D("0.60"), D("0"), D("0.60")]
    assert [r.allowance_used for r in rated] == [0, 180, 120]
    assert (bucket.granted, bucket.rolled_over, bucket.used, bucket.left) == (300, 0, 300, 0)
    assert bucket.period_start == datetime(2026, 9, 30, 22, tzinfo=UTC)  # 1 Oct 00:00 in Berlin (CEST)


def test_the_issue_example_across_two_batches(uow, line):
    with uow() as u:
        rate_records(u, [call(line, 200)])  # 200 s bills 240 s, all covered: 60 s left
    with uow() as u:
        rated, = rate_records(u, [call(line, 130, OCT.replace(hour=13))])
    # 60 s left; 130 s bills 180: covered 60, 120 s to pay -> 0.40 + 120 x 0.20 / 60 = 0.80
    assert (rated.charge.amount, rated.allowance_used, rated.zone) == (D("0.80"), 60, "Germany")


def test_zones_bands_and_problems(uow, line):
    saturday = datetime(2026, 10, 10, 10, tzinfo=UTC)
    with uow() as u:
        rated = rate_records(u, [
            call(line, 0, destination="4930"),  # zero length: no allowance taken, the connect fee 0.40
            call(line, 31, saturday, destination="+491511234567"),  # mobile weekend, 30/6: 36 s, in the allowance
            call(line, 1, destination="331234", usage_type="sms"),  # France has no sms rate
            call(line, 60, destination=None),
            call(line, 60, destination="1555"),  # no zone
            call(line, 2_000_000, usage_type="data", destination=None),  # a plain price: 2 x 0.01
        ])
    assert amounts(rated) == [D("0.40"), D("0"), "usageType", "destination", "destination", D("0.02")]
    assert (rated[1].zone, rated[1].band, rated[1].allowance_used) == ("Germany mobile", "weekend", 36)
    assert isinstance(rated[3], Problem) and "required" in rated[3].reason


def test_rollover_carries_unused_granted_units_one_period(uow, clock):
    with uow() as u:
        offer = tariff(u, included=300, rollover=True)
        acc = factories.account(u)
        line = factories.subscribe(u, acc.id, offer.id, "+4915100000002", datetime(2026, 10, 1, tzinfo=UTC))
        rate_records(u, [call(line, 180)])  # October: 180 of 300 used, 120 unused
    clock.move_to(datetime(2026, 11, 10, tzinfo=UTC))
    with uow() as u:
        nov, = rate_records(u, [call(line, 400, datetime(2026, 11, 10, tzinfo=UTC))])
    # November: 300 granted + 120 rolled over = 420; 400 s bills 420 s: all covered -> 0
    assert (nov.charge.amount, nov.allowance_used) == (D("0"), 420)
    clock.move_to(datetime(2026, 12, 2, tzinfo=UTC))
    with uow() as u:
        dec, = rate_records(u, [call(line, 360, datetime(2026, 12, 2, tzinfo=UTC))])
        october, november, december = buckets_of(u, "product", line.id)
    # November used its 120 rolled-over units first, then 300 granted: nothing granted is left to roll over
    assert (november.granted, november.rolled_over, november.used) == (300, 120, 420)
    assert (december.granted, december.rolled_over) == (300, 0)
    # December: 360 s bills 360, 300 covered, 60 s to pay -> 0.40 + 0.20 = 0.60
    assert (dec.charge.amount, dec.allowance_used) == (D("0.60"), 300)
    assert october.used == 180


def test_rollover_of_a_period_without_usage_is_its_whole_grant(uow):
    with uow() as u:
        offer = tariff(u, included=300, rollover=True)
        acc = factories.account(u)
        line = factories.subscribe(u, acc.id, offer.id, "+4915100000003", datetime(2026, 10, 1, tzinfo=UTC))
        rate_records(u, [call(line, 60, datetime(2026, 11, 3, tzinfo=UTC))])
        november, = buckets_of(u, "product", line.id)
    assert (november.granted, november.rolled_over, november.used) == (300, 300, 60)  # October's 300 unused


def test_a_hierarchy_pool_is_drawn_by_two_child_accounts(uow):
    with uow() as u:
        offer = tariff(u, included=300, scope="hierarchy", name="Business Table")
        head = factories.account(u, name="Acme head office")
        sales = factories.account(u, name="Acme sales", parent_id=head.id)
        tech = factories.account(u, name="Acme tech", parent_id=head.id)
        a = factories.subscribe(u, sales.id, offer.id, "+4915100000010", datetime(2026, 10, 1, tzinfo=UTC))
        b = factories.subscribe(u, tech.id, offer.id, "+4915100000011", datetime(2026, 10, 1, tzinfo=UTC))
    with uow() as u:
        first, = rate_records(u, [call(a, 400)])
    with uow() as u:
        second, = rate_records(u, [call(b, 300, OCT.replace(hour=13))])
        pool, = buckets_of(u, "account", head.id)
        assert buckets_of(u, "product", a.id) == []
    # the pool: 2 lines x 300 s = 600 s, owned by the head office
    # sales: 400 s bills 420, all covered -> 0; tech: 300 s bills 300, 180 left: 120 s -> 0.40 + 2 x 0.20 = 0.80
    assert (first.charge.amount, second.charge.amount, second.allowance_used) == (D("0"), D("0.80"), 180)
    assert (pool.granted, pool.used, pool.left) == (600, 600, 0)


def _rated_in_rollback(engine, clock, requests, vector_from):
    with engine.connect() as conn:
        conn.begin()
        rated = rate_records(UnitOfWork(conn, clock, "test"), requests, vector_from=vector_from)
        conn.rollback()
    return rated


def test_the_scalar_and_batch_paths_give_the_same_answers(uow, engine, clock, line):
    with uow() as u:
        other = ordering.get_product(u, line.id)
    destinations = ["4930", "491511234", "491601", "33123", "1555", None, "4917"]
    requests = [call(other, s, OCT.replace(hour=h, minute=s % 60), destination=destinations[(s + h) % 7])
                for h in range(8, 20) for s in (0, 29, 61, 95, 130)]
    scalar = _rated_in_rollback(engine, clock, requests, vector_from=10**9)
    batch = _rated_in_rollback(engine, clock, requests, vector_from=0)
    assert len(scalar) == 60 and any(isinstance(r, Problem) for r in scalar)
    assert [r.allowance_used for r in scalar if isinstance(r, RatedCharge)] != [0] * 30  # the allowance is used
    assert batch == scalar

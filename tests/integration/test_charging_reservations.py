"""Balances and reservations on real PostgreSQL (issue #7 parts 1-2). Tariff (tests/data/rating/mobile.yaml),
Germany zone: voice 0.40 connect + 0.20 per started minute, half-up to 2 places."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.charging import service as charging
from openbss.charging.model import CREDIT_LIMIT_REACHED, RATING_FAILED, USER_UNKNOWN
from openbss.charging.service import NewBucket, ReserveRequest
from openbss.charging.tables import balance_bucket
from openbss.core.errors import Conflict
from openbss.core.money import Money
from openbss.rating import store
from tests import factories
from tests.integration.test_rating_records import TABLE

D = Decimal
OCT = datetime(2026, 10, 5, 12, tzinfo=UTC)
START = datetime(2026, 10, 1, tzinfo=UTC)


def offer(u):
    store.import_file(u, TABLE)
    return create_offering(u, NewOffering(name="Prepaid", prices=[
        NewPrice(kind="usage", amount=Money.of("0.20", "EUR"), usage_type="voice", unit_size=D(60),
                 rate_table="mobile-de"),
    ]))


@pytest.fixture
def line(uow):
    with uow() as u:
        acc = factories.account(u)
        return factories.subscribe(u, acc.id, offer(u).id, "+4915100000001", START)


def money(u, account_id, amount, **kw):
    return charging.add_bucket(u, NewBucket("money", D(amount), START, account_id=account_id, currency="EUR", **kw))


def seconds(u, amount, **owner):
    return charging.add_bucket(u, NewBucket("second", D(amount), START, **owner))


def call(session, requested, *, service_id="+4915100000001", at=OCT, destination="4930123456", validity=300):
    return ReserveRequest(session, 1, service_id, "voice", requested, at, validity, destination)


def state(u, bucket_id):
    b = charging.get_bucket(u, bucket_id)
    return b.used, b.reserved, b.free


def test_money_runs_short_so_the_grant_shrinks_then_commit_debits_the_used_seconds(uow, line):
    with uow() as u:
        wallet = money(u, line.account_id, "1.00")
        grant = charging.reserve(u, call("s1", 300))
        # 300 s would cost 0.40 + 5 x 0.20 = 1.40 > 1.00; 180 s cost 0.40 + 3 x 0.20 = 1.00, 181 s cost 1.20
        assert (grant.granted, grant.refusal, grant.expires_at) == (180, None, OCT + timedelta(seconds=300))
        assert state(u, wallet) == (0, D("1.00"), 0)
    with uow() as u:
        charged = charging.commit(u, "s1", 1, 100, final=True)
        # 100 s = 2 started minutes: 0.40 + 2 x 0.20 = 0.80 debited, the other 0.20 released
        assert (charged.units, charged.money, charged.uncovered) == (100, Money.of("0.80", "EUR"), Money.of("0", "EUR"))
        assert state(u, wallet) == (D("0.80"), 0, D("0.20"))
    with uow() as u:
        # 0.20 left cannot pay the 0.40 connect fee of even one second
        assert charging.reserve(u, call("s2", 60)).refusal == CREDIT_LIMIT_REACHED


def test_unit_buckets_go_first_then_money_pays_the_rest(uow, line):
    with uow() as u:
        minutes = seconds(u, 120, account_id=line.account_id)
        wallet = money(u, line.account_id, "5.00")
        assert charging.reserve(u, call("s1", 300)).granted == 300
        # 120 s held in the seconds bucket; 180 s priced 0.40 + 3 x 0.20 = 1.00 held in money
        assert state(u, minutes) == (0, 120, 0)
        assert state(u, wallet) == (0, D("1.00"), D("4.00"))
        charged = charging.commit(u, "s1", 1, 150, final=False)
        # 120 s from the bucket, 30 s priced: 0.40 + 1 x 0.20 = 0.60
        assert charged.money == Money.of("0.60", "EUR")
        assert state(u, minutes) == (120, 0, 0)
        assert state(u, wallet) == (D("0.60"), 0, D("4.40"))
        # the session goes on (CCR-Update): a fresh grant, then the last commit closes it
        assert charging.reserve(u, call("s1", 60)).granted == 60  # 0.40 + 0.20 = 0.60 held
        assert state(u, wallet) == (D("0.60"), D("0.60"), D("3.80"))
        charging.commit(u, "s1", 1, 0, final=True)
        assert state(u, wallet) == (D("0.60"), 0, D("4.40"))
        with pytest.raises(Conflict, match="closed"):
            charging.commit(u, "s1", 1, 10, final=True)


def test_refusals_user_unknown_and_rating_failed(uow, line):
    with uow() as u:
        money(u, line.account_id, "5.00")
        assert charging.reserve(u, call("s1", 60, service_id="+49000")).refusal == USER_UNKNOWN
        assert charging.reserve(u, call("s2", 60, destination="1555")).refusal == RATING_FAILED  # no zone


def test_a_group_bucket_is_shared_by_its_members(uow, line):
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")
        factories.subscribe(u, other.id, offer(u).id, "+4915100000002", START)
        gid = charging.create_group(u, "family", [line.account_id, other.id])
        pool = seconds(u, 100, group_id=gid)
        assert charging.reserve(u, call("a", 70)).granted == 70
        # only 30 s are left in the pool for the other member (no money bucket)
        assert charging.reserve(u, call("b", 70, service_id="+4915100000002")).granted == 30
        assert state(u, pool) == (0, 100, 0)
        assert [b.id for b in charging.buckets_of(u, other.id)] == [pool]


def test_expired_reservations_are_released(uow, line):
    with uow() as u:
        pool = seconds(u, 100, account_id=line.account_id)
        charging.reserve(u, call("dead", 80, validity=60))
        assert charging.release_expired(u, OCT + timedelta(seconds=59)) == 0
        assert charging.release_expired(u, OCT + timedelta(seconds=60)) == 1
        assert state(u, pool) == (0, 0, 100)
        with pytest.raises(Conflict, match="expired"):
            charging.reserve(u, call("dead", 10))


def test_the_database_refuses_an_overspent_bucket(uow, line):
    with uow() as u:
        pool = seconds(u, 100, account_id=line.account_id)
    with pytest.raises(sa.exc.IntegrityError, match="within_amount"), uow() as u:
        u.conn.execute(balance_bucket.update().where(balance_bucket.c.id == pool).values(reserved=60, used=41))


def test_concurrent_sessions_never_reserve_more_than_the_bucket_holds(uow, line):
    with uow() as u:
        pool = seconds(u, 100, account_id=line.account_id)
    first_holds, grants, errors = threading.Event(), {}, []

    def session(name, wait_before_commit):
        try:
            with uow() as u:
                grants[name] = charging.reserve(u, call(name, 70)).granted
                if wait_before_commit:
                    first_holds.set()
                    threading.Event().wait(0.5)  # the other session is now blocked on the bucket's row lock
        except Exception as e:  # reported below: an assertion in a thread would be lost
            errors.append(e)

    a = threading.Thread(target=session, args=("a", True))
    a.start()
    first_holds.wait(10)
    b = threading.Thread(target=session, args=("b", False))
    b.start()
    a.join(10)
    b.join(10)
    assert errors == []
    # a holds 70 of 100; b waited for a's commit and got the 30 left, not 70
    assert grants == {"a": 70, "b": 30}
    with uow() as u:
        assert state(u, pool) == (0, 100, 0)


def test_use_beyond_the_grant_is_reported_not_debited(uow, line):
    with uow() as u:
        wallet = money(u, line.account_id, "1.00")
        assert charging.reserve(u, call("s1", 60)).granted == 60  # 0.40 + 0.20 = 0.60 held
        charged = charging.commit(u, "s1", 1, 130, final=True)
    # 130 s = 3 started minutes: 0.40 + 3 x 0.20 = 1.00; 0.60 was held and is debited, 0.40 is uncovered
    assert (charged.money, charged.uncovered) == (Money.of("0.60", "EUR"), Money.of("0.40", "EUR"))
    with uow() as u:
        assert state(u, wallet) == (D("0.60"), 0, D("0.40"))


def test_stored_answers_are_forgotten_after_their_retention_oldest_first(uow):
    from openbss.charging.diameter.ocs import forget_answers
    from openbss.charging.tables import charging_request

    now = datetime(2026, 10, 5, 12, tzinfo=UTC)
    with uow() as u:  # answers given 30, 26 and 2 hours ago
        u.conn.execute(charging_request.insert(), [
            {"session_id": f"s;{hours}", "request_number": 0, "request_type": 1, "result_code": 2001, "answer": b"x",
             "answered_at": now - timedelta(hours=hours)} for hours in (30, 26, 2)])
    with uow() as u:  # a day's retention, at most one at a time: the oldest goes first
        assert forget_answers(u, now - timedelta(days=1), limit=1) == 1
        assert set(u.conn.execute(sa.select(charging_request.c.session_id)).scalars()) == {"s;26", "s;2"}
    with uow() as u:
        assert forget_answers(u, now - timedelta(days=1)) == 1
        assert forget_answers(u, now - timedelta(days=1)) == 0
        kept = u.conn.execute(sa.select(charging_request.c.session_id)).scalars().all()
    assert kept == ["s;2"]

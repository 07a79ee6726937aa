"""Pure charging rules: holds never exceed what buckets have free, in spending order; affordability search."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.charging.model import BalanceBucket, check_unit, most_affordable, plan_holds, spend_holds
from openbss.core.errors import InvalidValue

D = Decimal
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def bucket(amount, *, reserved=0, used=0, priority=0, valid_to=None, valid_from=T0):
    return BalanceBucket(uuid.uuid4(), "second", D(amount), D(reserved), D(used), valid_from, valid_to, priority,
                         False)


buckets_st = st.lists(
    st.builds(lambda a, r, u, p, days: bucket(a + r + u, reserved=r, used=u, priority=p,
                                              valid_to=T0 + timedelta(days=days) if days else None),
              st.integers(0, 500), st.integers(0, 100), st.integers(0, 100), st.integers(0, 3), st.integers(0, 30)),
    max_size=6)


@given(buckets_st, st.integers(0, 2000), st.integers(0, 40))
def test_holds_never_exceed_free_units_nor_the_request(buckets, wanted, day):
    at = T0 + timedelta(days=day, hours=1)
    holds = plan_holds(buckets, D(wanted), at)
    by_id = {b.id: b for b in buckets}
    assert all(0 < h <= by_id[i].free and by_id[i].valid_at(at) for i, h in holds)
    total = sum((h for _, h in holds), D(0))
    available = sum((b.free for b in buckets if b.valid_at(at)), D(0))
    assert total == min(D(wanted), available)  # everything it can, never more than asked


def test_spending_order_is_priority_then_soonest_expiry():
    late = bucket(100, valid_to=T0 + timedelta(days=30))
    soon = bucket(100, valid_to=T0 + timedelta(days=2))
    first = bucket(50, priority=-1)
    holds = plan_holds([late, soon, first], D(180), T0)
    # 50 from the priority bucket, 100 from the one expiring on day 2, the last 30 from the day-30 bucket
    assert holds == [(first.id, D(50)), (soon.id, D(100)), (late.id, D(30))]


def test_expired_and_future_buckets_are_not_spent():
    gone = bucket(100, valid_to=T0 + timedelta(days=1))
    future = bucket(100, valid_from=T0 + timedelta(days=5))
    assert plan_holds([gone, future], D(10), T0 + timedelta(days=2)) == []


@given(st.integers(0, 5000), st.integers(0, 100), st.integers(1, 60), st.integers(0, 10_000))
def test_most_affordable_is_the_largest_grant_that_fits(units, connect, per_started_minute, budget):
    def cost(n):  # a voice rate: connect fee + per started minute, nothing for zero seconds
        return D(0) if n == 0 else D(connect + per_started_minute * -(-n // 60))

    n = most_affordable(units, cost, D(budget))
    assert 0 <= n <= units and cost(n) <= budget
    assert n == units or cost(n + 1) > budget


def test_spend_holds_uses_holds_in_order_up_to_their_total():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert spend_holds([(a, D(30)), (b, D(50))], D(45)) == [(a, D(30)), (b, D(15))]
    assert spend_holds([(a, D(30)), (b, D(50))], D(100)) == [(a, D(30)), (b, D(50))]


def test_unknown_unit_and_negative_request_are_named():
    with pytest.raises(InvalidValue, match="unit='minutes'"):
        check_unit("minutes")
    with pytest.raises(InvalidValue, match="requested"):
        plan_holds([], D(-1), T0)

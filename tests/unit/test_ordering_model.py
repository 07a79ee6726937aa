"""Pure ordering rules: both state machines edge by edge, terms on the account's calendar, fees, change kinds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from openbss.core.errors import Conflict
from openbss.core.money import Money
from openbss.ordering.model import (
    ORDER_STATES,
    ORDER_TRANSITIONS,
    PRODUCT_STATUSES,
    PRODUCT_TRANSITIONS,
    NewTerm,
    Product,
    add_days,
    add_months,
    change_kind,
    check_order_transition,
    check_product_transition,
    early_termination_fee,
    new_term,
    outcome,
    renewed,
)

BERLIN = ZoneInfo("Europe/Berlin")
ID = uuid.UUID(int=1)

ALLOWED_ORDER = {
    ("acknowledged", "inProgress"), ("acknowledged", "pendingCancellation"),
    ("inProgress", "completed"), ("inProgress", "failed"), ("inProgress", "partial"),
    ("inProgress", "pendingCancellation"), ("pendingCancellation", "cancelled"),
}
ALLOWED_PRODUCT = {
    ("created", "pendingActive"), ("created", "active"), ("created", "cancelled"), ("created", "aborted"),
    ("pendingActive", "active"), ("pendingActive", "cancelled"), ("pendingActive", "aborted"),
    ("active", "suspended"), ("active", "pendingTerminate"), ("active", "terminated"),
    ("suspended", "active"), ("suspended", "pendingTerminate"), ("suspended", "terminated"),
    ("pendingTerminate", "terminated"),
}


def test_the_machines_are_exactly_the_documented_edges():
    assert {(a, b) for a, targets in ORDER_TRANSITIONS.items() for b in targets} == ALLOWED_ORDER
    assert {(a, b) for a, targets in PRODUCT_TRANSITIONS.items() for b in targets} == ALLOWED_PRODUCT


@pytest.mark.parametrize("current", ORDER_STATES)
@pytest.mark.parametrize("target", ORDER_STATES)
def test_every_order_transition(current, target):
    if (current, target) in ALLOWED_ORDER:
        assert check_order_transition(ID, current, target) == target
    else:
        with pytest.raises(Conflict) as e:
            check_order_transition(ID, current, target)
        assert e.value.message == f"productOrder {ID} is {current}; it cannot become {target}"


@pytest.mark.parametrize("current", PRODUCT_STATUSES)
@pytest.mark.parametrize("target", PRODUCT_STATUSES)
def test_every_product_transition(current, target):
    if (current, target) in ALLOWED_PRODUCT:
        assert check_product_transition(ID, current, target) == target
    else:
        with pytest.raises(Conflict) as e:
            check_product_transition(ID, current, target)
        assert e.value.message == f"product {ID} is {current}; it cannot become {target}"


@pytest.mark.parametrize("states, expected", [
    (["completed", "completed"], "completed"),
    (["completed", "failed"], "partial"),
    (["failed", "failed"], "failed"),
])
def test_an_orders_outcome_follows_its_items(states, expected):
    assert outcome(states) == expected


@pytest.mark.parametrize("start, months, expected", [
    # 10 Oct 00:00 Berlin (CEST, +02:00) + 24 months = 10 Oct 2028 00:00 CEST = 9 Oct 22:00Z
    (datetime(2026, 10, 9, 22, tzinfo=UTC), 24, datetime(2028, 10, 9, 22, tzinfo=UTC)),
    # across the clock change: 10 Oct 00:00 CEST + 3 months = 10 Jan 00:00 CET (+01:00) = 9 Jan 23:00Z, not 22:00Z
    (datetime(2026, 10, 9, 22, tzinfo=UTC), 3, datetime(2027, 1, 9, 23, tzinfo=UTC)),
    # 31 Jan 12:00 CET + 1 month: February has no 31st, so its last day, 28 Feb 12:00 CET = 11:00Z
    (datetime(2027, 1, 31, 11, tzinfo=UTC), 1, datetime(2027, 2, 28, 11, tzinfo=UTC)),
    # 31 Dec + 2 months in a leap year: 29 Feb 2028
    (datetime(2027, 12, 31, 11, tzinfo=UTC), 2, datetime(2028, 2, 29, 11, tzinfo=UTC)),
    # December + 12: the year rolls over exactly once
    (datetime(2026, 12, 15, 11, tzinfo=UTC), 12, datetime(2027, 12, 15, 11, tzinfo=UTC)),
])
def test_months_are_added_on_the_accounts_calendar(start, months, expected):
    assert add_months(start, months, BERLIN) == expected


def test_trial_days_are_local_days():
    # 20 Oct 10:00 CEST (08:00Z) + 14 days = 3 Nov 10:00 CET = 09:00Z: 14 local days are 337 hours here
    assert add_days(datetime(2026, 10, 20, 8, tzinfo=UTC), 14, BERLIN) == datetime(2026, 11, 3, 9, tzinfo=UTC)


def _product(term=None) -> Product:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    return Product(ID, ID, ID, ID, "+49151", "active", start, None, start, term=term)


FEE = Money.of("150.00", "EUR")


def test_the_fee_is_due_only_before_the_term_ends():
    term = new_term(NewTerm(12, auto_renew=False), datetime(2026, 10, 1, tzinfo=UTC), BERLIN, FEE)
    assert term.end_at == datetime(2027, 10, 1, tzinfo=UTC)  # 02:00 CEST both ends
    p = _product(term)
    assert early_termination_fee(p, datetime(2027, 9, 30, 23, 59, 59, tzinfo=UTC)) == FEE
    assert early_termination_fee(p, term.end_at) is None  # the term has been served: nothing is due
    assert early_termination_fee(_product(), datetime(2026, 11, 1, tzinfo=UTC)) is None  # no term
    without_fee = new_term(NewTerm(12), datetime(2026, 10, 1, tzinfo=UTC), BERLIN, None)
    assert early_termination_fee(_product(without_fee), datetime(2026, 11, 1, tzinfo=UTC)) is None


def test_a_renewed_term_starts_where_the_last_one_ended():
    term = new_term(NewTerm(1, auto_renew=True), datetime(2027, 1, 30, 23, tzinfo=UTC), BERLIN, FEE)
    # 31 Jan 00:00 CET + 1 month = 28 Feb 00:00 CET; the next: 28 Mar 00:00 CET = 27 Mar 23:00Z (the clock
    # changes on 28 March 2027 at 02:00, after midnight)
    assert term.end_at == datetime(2027, 2, 27, 23, tzinfo=UTC)
    nxt = renewed(term, BERLIN)
    assert (nxt.start_at, nxt.end_at, nxt.months, nxt.auto_renew, nxt.early_termination_fee) == (
        term.end_at, datetime(2027, 3, 27, 23, tzinfo=UTC), 1, True, FEE)


@pytest.mark.parametrize("old, new, kind", [("30.00", "45.00", "upgraded"), ("45.00", "30.00", "downgraded"),
                                            ("30.00", "30.00", "upgraded")])
def test_a_change_is_an_upgrade_unless_cheaper(old, new, kind):
    assert change_kind(Money.of(old, "EUR"), Money.of(new, "EUR")) == kind

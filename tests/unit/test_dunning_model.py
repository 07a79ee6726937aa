"""The pure rules of collections: plan steps, the case's clock, what is due, promises, the write-off entry."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.core.errors import InvalidValue
from openbss.core.money import Money
from openbss.dunning.model import (
    DunningStep,
    Exposure,
    OverdueItem,
    Promise,
    WriteOffPosting,
    age,
    assess,
    check_steps,
    due_steps,
    handover_csv,
    promise_outcome,
)
from openbss.ledger.model import AR, BAD_DEBT
from tests.amounts import eur


def item(collectible, held="0", due=date(2026, 11, 15)) -> OverdueItem:
    return OverdueItem(uuid.uuid4(), "INV-2026-000001", uuid.uuid4(), due, eur(collectible), eur(held))


def test_steps_are_checked_in_order_naming_the_field():
    fee = DunningStep(14, "lateFee", eur("5.00"))
    assert check_steps([DunningStep(7, "reminder"), fee], "EUR")[1] == fee
    cases = [
        ([], "step", "must have at least one step"),
        ([DunningStep(14, "reminder"), DunningStep(7, "suspend")], "step[1].day", "comes before"),
        ([DunningStep(-1, "reminder")], "step[0].day", "whole number of days"),
        ([DunningStep(7, "email")], "step[0].action", "must be one of"),
        ([DunningStep(7, "lateFee")], "step[0].fee", "is required"),
        ([DunningStep(7, "lateFee", Money.of("5.00", "GBP"))], "step[0].fee.unit", "plan's currency EUR"),
        ([DunningStep(7, "lateFee", eur("5.001"))], "step[0].fee.value", "more decimals"),
        ([DunningStep(7, "lateFee", eur("0"))], "step[0].fee.value", "greater than 0"),
        ([DunningStep(7, "reminder", eur("1.00"))], "step[0].fee", "only for a lateFee"),
        ([DunningStep(7, "lateFee", eur("5.00"), "reverseCharge")], "step[0].taxCategory", "must be one of"),
        ([DunningStep(90, "writeOff"), DunningStep(90, "reminder")], "step[0].action", "must be the last step"),
    ]
    for steps, field, problem in cases:
        with pytest.raises(InvalidValue) as e:
            check_steps(steps, "EUR")
        assert e.value.field == field and problem in e.value.message, (steps, e.value.message)


def test_the_clock_stops_while_paused():
    anchor = date(2026, 11, 15)
    assert age(anchor, date(2026, 11, 22), 0, None) == 7
    assert age(anchor, date(2026, 12, 3), 0, date(2026, 11, 23)) == 8  # paused since the 8th day: stays at 8
    assert age(anchor, date(2026, 12, 9), 10, None) == 14  # 24 days, 10 of them paused


def test_due_steps_are_those_reached_and_not_taken_in_plan_order():
    steps = [DunningStep(7, "reminder"), DunningStep(14, "lateFee", eur("5")), DunningStep(30, "suspend")]
    assert [n for n, _ in due_steps(steps, set(), 6)] == []
    assert [n for n, _ in due_steps(steps, set(), 14)] == [1, 2]  # a late run takes both, in order
    assert [n for n, _ in due_steps(steps, {1}, 14)] == [2]
    assert [n for n, _ in due_steps(steps, {1, 2, 3}, 400)] == []


def test_assess_closes_pauses_or_goes_on():
    assert assess(Exposure("EUR", ()), False) == ("closed", "paid")
    assert assess(Exposure("EUR", (item("0", "71.40"),)), False) == ("paused", "dispute")
    assert assess(Exposure("EUR", (item("71.40"),)), True) == ("paused", "promise")
    assert assess(Exposure("EUR", (item("35.70", "35.70"),)), False) == ("active", None)  # the rest is collected


def test_a_promise_is_kept_by_paying_the_amount_and_broken_after_its_date():
    p = Promise(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), eur("40.00"), date(2026, 12, 10), eur("71.40"), (),
                "open", datetime(2026, 12, 7, tzinfo=UTC))
    assert promise_outcome(p, eur("71.40"), date(2026, 12, 10)) == "open"  # the promised day itself
    assert promise_outcome(p, eur("31.40"), date(2026, 12, 8)) == "kept"  # 71.40 - 40.00, before the date
    assert promise_outcome(p, eur("31.41"), date(2026, 12, 11)) == "broken"  # one cent short, date passed


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2))
def test_a_write_off_moves_the_amount_from_receivables_to_bad_debt_and_balances(amount):
    entry = WriteOffPosting(uuid.uuid4(), uuid.uuid4(), datetime(2027, 2, 13, tzinfo=UTC), eur(amount),
                            ("INV-2026-000001",)).entry()
    debits, credits = entry.totals()
    assert debits == credits == amount
    assert {(line.gl_account, line.debit, line.credit) for line in entry.lines} == {
        (BAD_DEBT, amount, Decimal(0)), (AR, Decimal(0), amount)}


def test_handover_csv_quotes_what_needs_quoting():
    text = handover_csv([("2027-01-29", "c1", "A-1", 'Smith, "Jo"', "EUR", "71.40", "2026-11-15", "INV-1")])
    assert text.splitlines()[1] == '2027-01-29,c1,A-1,"Smith, ""Jo""",EUR,71.40,2026-11-15,INV-1'

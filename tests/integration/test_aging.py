"""`openbss report aging`: open invoices and debit notes by days past due, per account and in total.

The October invoice of tests/integration/billed_account.py (issued Nov 1, due Nov 15, gross 73.78) less a
payment of 20.00 leaves 53.78; a debit note of 10.00 + 1.90 VAT issued Nov 5 is due Nov 19 (14 days' terms)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from openbss.billing import correction_service as corrections
from openbss.billing.corrections import DebitItem
from openbss.cli import app
from openbss.ledger.aging import BUCKETS, aging, bucket
from openbss.party import service as party
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests.amounts import eur
from tests.integration.billed_account import billed_october


@pytest.mark.parametrize(("late", "expected"), [
    (-3, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
    (90, "61-90"), (91, "90+"), (400, "90+"),
])
def test_buckets_by_days_past_due(late, expected):
    due = date(2026, 11, 15)
    assert bucket(due, date.fromordinal(due.toordinal() + late)) == expected


@pytest.fixture
def overdue(uow, clock):
    account, inv = billed_october(uow, clock)
    clock.move_to(datetime(2026, 11, 5, 9, tzinfo=UTC))
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("20.00")))  # the invoice: 73.78 - 20.00 = 53.78 left
        corrections.issue_debit_note(u, inv.id, [DebitItem("Router", Decimal("10.00"), "standard")], "Router")
        return account, party.get_billing_account(u, account.id).number


def buckets(report) -> dict[str, str]:
    (row,) = report.rows
    return {name: str(row.amount(name)) for name in BUCKETS if not row.amount(name).is_zero()}


def test_each_open_item_ages_from_its_own_due_date(uow, overdue):
    account, _ = overdue
    with uow() as u:
        assert aging(u, date(2026, 10, 31)).rows == []  # nothing issued yet
        assert buckets(aging(u, date(2026, 11, 15))) == {"current": "65.68 EUR"}  # 53.78 + 11.90, both not late
        assert buckets(aging(u, date(2026, 11, 16))) == {"current": "11.90 EUR", "1-30": "53.78 EUR"}
        assert buckets(aging(u, date(2026, 12, 20))) == {"31-60": "65.68 EUR"}  # 35 and 31 days late
        assert buckets(aging(u, date(2027, 2, 20))) == {"90+": "65.68 EUR"}  # 97 and 93 days late
        report = aging(u, date(2026, 11, 16))
    assert report.rows[0].account_id == account.id and report.rows[0].total == eur("65.68")
    assert report.totals()["EUR"]["1-30"] == eur("53.78") and report.totals()["EUR"]["total"] == eur("65.68")


def test_settled_items_leave_the_report(uow, overdue, clock):
    account, _ = overdue
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("65.68")))  # settles both
        assert aging(u, date(2026, 12, 20)).rows == []


def test_report_aging_prints_a_table_with_totals(overdue, run_cli):
    _, number = overdue
    result = run_cli(app, ["report", "aging", "--at", "2026-11-16"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "AR aging at 2026-11-16" in result.output
    row = next(line for line in result.output.splitlines() if number in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == [
        number, "EUR", "11.90", "53.78", "0.00", "0.00", "0.00", "65.68"]
    assert any(line.split("│")[1].strip() == "total" for line in result.output.splitlines() if "│" in line)
    bad = run_cli(app, ["report", "aging", "--at", "yesterday"])
    assert bad.exit_code == 2 and "'yesterday' is not a date" in bad.output

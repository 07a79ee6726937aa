"""Revenue recognition through the services: the October invoice of tests/integration/billed_account.py bills
November in advance (30.00 for Nov 1-30); the recognition runs move it to revenue day by day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from openbss.billing import correction_service as corrections
from openbss.billing.corrections import LineCredit
from openbss.jobs.schedule import SCHEDULE
from openbss.ledger import recognition
from openbss.ledger import service as ledger
from openbss.ledger.model import AR, DEFERRED_REVENUE, REVENUE_RECURRING, REVENUE_USAGE, VAT
from openbss.ledger.tables import revenue_schedule
from openbss.ledger.verify import verify
from tests.integration.billed_account import billed_october

D = Decimal


def balances(u, account_id) -> dict[str, Decimal]:
    """Credit-normal balance (credit - debit) of the revenue-side accounts for one billing account."""
    result = {}
    for posted in ledger.entries(u):
        if posted.entry.account_id == account_id:
            for l in posted.entry.lines:
                result[l.gl_account] = result.get(l.gl_account, D(0)) + l.credit - l.debit
    return {k: v for k, v in result.items() if k in (DEFERRED_REVENUE, REVENUE_RECURRING)}


def test_november_billed_in_advance_is_recognized_day_by_day(uow, clock):
    account, inv = billed_october(uow, clock)
    with uow() as u:
        (entry,) = [p.entry for p in ledger.entries(u) if p.entry.source_id == inv.id]
        assert {l.gl_account: (l.debit, l.credit) for l in entry.lines} == {
            AR: (D("73.78"), D(0)),
            REVENUE_RECURRING: (D(0), D("30.00")),  # October, over when posted on Nov 1
            DEFERRED_REVENUE: (D(0), D("30.00")),  # November in advance
            REVENUE_USAGE: (D(0), D("2.00")),
            VAT: (D(0), D("11.78")),
        }
        # The ledger keeps November's line to recognize; October's was earned in full at posting.
        rows = u.conn.execute(sa.select(revenue_schedule.c.net, revenue_schedule.c.service_start)).all()
        assert [(r.net, r.service_start) for r in rows] == [(D("30.00"), date(2026, 11, 1))]

        assert recognition.recognize(u, date(2026, 10, 31)).entries == 0  # no November day is over
        run = recognition.recognize(u, date(2026, 11, 10))
        assert (run.entries, str(run.recognized["EUR"])) == (1, "10.00 EUR")  # 30.00 x 10/30
    with uow() as u:
        assert recognition.recognize(u, date(2026, 11, 10)).entries == 0  # the same day again: nothing left
        assert recognition.recognize(u, date(2026, 11, 15)).recognized["EUR"].amount == D("5.00")  # 30 x 15/30 - 10
        assert balances(u, account.id) == {DEFERRED_REVENUE: D("15.00"), REVENUE_RECURRING: D("45.00")}  # 30 + 15

    clock.move_to(datetime(2026, 11, 16, 9, tzinfo=UTC))
    with uow() as u:  # half of November credited (an outage): 15.00 + VAT
        corrections.issue_credit_note(u, inv.id, [LineCredit(inv.lines[1].id, quantity=D("0.5"))], "Outage")
    with uow() as u:
        recognition.recognize(u, date(2026, 11, 16))
        # What is left of November is 30.00 - 15.00 = 15.00, earned 15.00 x 16/30 = 8.00 through Nov 16:
        # deferred 15.00 - 8.00 = 7.00, recurring revenue 30.00 (October) + 8.00 = 38.00.
        assert balances(u, account.id) == {DEFERRED_REVENUE: D("7.00"), REVENUE_RECURRING: D("38.00")}
        recognition.recognize(u, date(2026, 11, 30))
        assert balances(u, account.id) == {DEFERRED_REVENUE: D("0.00"), REVENUE_RECURRING: D("45.00")}  # 30 + 15
        tb = ledger.trial_balance(u)
        assert tb.balanced and tb.chain_ok
        assert verify(u).ok  # recognition never touches AR


def test_the_daily_job_recognizes_through_yesterday(uow, clock):
    account, _ = billed_october(uow, clock)
    (job,) = [j for j in SCHEDULE if j.name == "ledger.recognize"]
    with uow() as u:
        # 00:30 UTC on Nov 4: Nov 1-3 are over, 30.00 x 3/30 = 3.00
        assert job.run(u, datetime(2026, 11, 4, 0, 30, tzinfo=UTC)) == {"entries": 1}
        assert job.run(u, datetime(2026, 11, 4, 1, 30, tzinfo=UTC)) == {"entries": 0}  # the next tick
        assert balances(u, account.id)[DEFERRED_REVENUE] == D("27.00")  # 30.00 - 3.00


def test_recognize_cli_prints_what_it_moved(uow, clock, run_cli):
    from openbss.cli import app

    billed_october(uow, clock)
    result = run_cli(app, ["ledger", "recognize", "--through", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert "20.00 EUR" in result.output  # 30.00 x 20/30
    bad = run_cli(app, ["ledger", "recognize", "--through", "20.11.2026"])
    assert bad.exit_code == 2 and "'20.11.2026' is not a date" in bad.output

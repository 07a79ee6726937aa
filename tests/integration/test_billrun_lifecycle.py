"""The reviewed bill run: draft -> review -> approve -> issue, discard, the database guards on drafts, and the
`openbss billrun` commands.

Two accounts take Mobile M (30.00 EUR a month, in advance) on 1 September: Ada in Germany (VAT 19 %), Blaise in
France (20 %). September's invoice bills September and October (60.00 net), October's only November (30.00).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.billing import billrun as runs
from openbss.billing import service as billing
from openbss.billing.review import review
from openbss.billing.tables import invoice, invoice_line
from openbss.core.errors import Conflict
from openbss.events.tables import outbox_event
from openbss.ledger.tables import journal_entry
from openbss.mediation.tables import usage
from tests import factories
from tests.amounts import eur

BASE = "/tmf-api/customerBillManagement/v4"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def accounts(engine, uow, clock):
    clock.move_to(utc(2026, 9, 1, 9))
    with uow() as u:
        mobile = factories.offering(u, usage={"voice": ("0.0020", "1")})  # per second
        ada = factories.account(u, "Ada")
        blaise = factories.account(u, "Blaise", country="FR", time_zone="Europe/Paris")
        factories.subscribe(u, ada.id, mobile.id, "+491510000001")
        factories.subscribe(u, blaise.id, mobile.id, "+33600000001")
    clock.move_to(utc(2026, 10, 1, 6))
    # September issued at once: Ada 60.00 + 11.40 = 71.40, Blaise 60.00 + 12.00 = 72.00.
    september = runs.run_bill_run(engine, "2026-09", clock=clock, rounding="half_up")
    assert september.state == "issued" and september.gross == {"EUR": eur("143.40")}
    return ada, blaise


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def draft_october(engine, uow, clock):
    clock.move_to(utc(2026, 11, 1, 6))
    with uow("operator") as u:
        run = runs.start_run(u, "2026-10", batch=1)
    runs.drain(engine, run.id, clock=clock, rounding="half_up")
    return run


def test_a_run_is_drafted_reviewed_approved_and_issued(engine, uow, clock, client, accounts):
    ada, blaise = accounts
    entries, events = count(engine, journal_entry), count(engine, outbox_event)
    run = draft_october(engine, uow, clock)
    with uow() as u:
        s = runs.summary(u, run.id)
        assert (s.state, s.accounts, s.invoices_created, s.skipped, s.errors) == ("draft", 2, 2, 0, [])
        assert s.gross == {"EUR": eur("71.70")}  # November in advance: 30.00 × 1.19 = 35.70 + 30.00 × 1.20 = 36.00
        drafts = u.conn.execute(sa.select(invoice.c.number, invoice.c.state).where(invoice.c.bill_run_id == run.id))
        assert sorted(drafts) == [(None, "draft"), (None, "draft")]
        assert billing.list_invoices(u, {}, 0, 10)[1] == 2  # September's two: drafts are not bills yet
        found = review(u, run.id)
    # Drafting posts nothing, sends nothing, announces nothing.
    assert (count(engine, journal_entry), count(engine, outbox_event)) == (entries, events)
    assert client.get(f"{BASE}/customerBill").headers["X-Total-Count"] == "2"
    assert [(t.currency, t.invoices, t.net, t.tax, t.gross) for t in found.totals] == [
        ("EUR", 2, eur("60.00"), eur("11.70"), eur("71.70"))]  # 30.00 + 30.00; 5.70 + 6.00
    assert [(c.account_number, c.previous, c.now, c.change, c.percent) for c in found.changes] == [
        (blaise.number, eur("72.00"), eur("36.00"), eur("-36.00"), Decimal("-50.0")),  # 36.00 − 72.00
        (ada.number, eur("71.40"), eur("35.70"), eur("-35.70"), Decimal("-50.0")),  # 35.70 − 71.40
    ]
    assert found.errors == [] and found.without_previous == 0

    with uow("operator") as u, pytest.raises(Conflict, match="only an approved run"):
        runs.start_issue(u, run.id)
    with uow("reviewer") as u:
        approved = runs.approve_run(u, run.id)
    assert (approved.state, approved.approved_by) == ("approved", "reviewer")
    with uow("operator") as u:
        runs.start_issue(u, run.id)
    runs.drain(engine, run.id, clock=clock, rounding="half_up")
    with uow() as u:
        assert runs.get_run(u, run.id).state == "issued"
        issued = u.conn.execute(sa.select(invoice.c.number, invoice.c.issue_date, invoice.c.due_date)
                                .where(invoice.c.bill_run_id == run.id).order_by(invoice.c.number)).all()
    # Numbered at issue after September's two; dated the issue day (1 November), due 14 days later.
    assert [tuple(r) for r in issued] == [("INV-2026-000003", datetime(2026, 11, 1).date(), datetime(2026, 11, 15).date()),
                                          ("INV-2026-000004", datetime(2026, 11, 1).date(), datetime(2026, 11, 15).date())]
    assert count(engine, journal_entry) == entries + 2
    assert client.get(f"{BASE}/customerBill").headers["X-Total-Count"] == "4"
    with uow() as u, pytest.raises(Conflict, match="only a draft or approved run"):
        runs.discard_run(u, run.id)


def test_a_discarded_run_gives_its_usage_back_and_the_period_is_drafted_again(engine, uow, clock, accounts):
    ada, _ = accounts
    clock.move_to(utc(2026, 10, 20, 9))
    with uow() as u:
        from openbss.mediation import service as mediation
        from openbss.mediation.model import UsageRecord

        mediation.ingest(u, [UsageRecord("msc", "call-1", "+491510000001", "voice", utc(2026, 10, 20, 8), Decimal(600))])
    run = draft_october(engine, uow, clock)
    with engine.connect() as conn:
        assert conn.execute(sa.select(usage.c.status)).scalars().all() == ["billed"]
    with uow("operator") as u:
        discarded = runs.discard_run(u, run.id)
    assert (discarded.state, discarded.discarded_by) == ("discarded", "operator")
    with engine.connect() as conn:
        assert conn.execute(sa.select(usage.c.status, usage.c.invoice_id)).all() == [("rated", None)]
        assert conn.execute(sa.select(sa.func.count()).where(invoice.c.bill_run_id == run.id)).scalar_one() == 0
    again = runs.run_bill_run(engine, "2026-10", clock=clock, rounding="half_up")
    assert again.run_id != run.id and (again.state, again.invoices_created) == ("issued", 2)
    # Ada: 30.00 November + 600 s × 0.0020 = 1.20 of usage = 31.20; × 1.19 = 37.13; Blaise 36.00; 73.13 in all.
    assert again.gross == {"EUR": eur("73.13")}


def test_only_a_drafts_state_number_and_dates_change_and_an_issued_invoice_stays_issued(engine, uow, clock,
                                                                                        accounts):
    run = draft_october(engine, uow, clock)
    with engine.begin() as conn:
        draft_id = conn.execute(sa.select(invoice.c.id).where(invoice.c.bill_run_id == run.id)).scalars().first()
        conn.execute(sa.update(invoice).where(invoice.c.id == draft_id).values(number="INV-TEST-1", state="approved"))
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError, match="only its state, number and dates"):
        conn.execute(sa.update(invoice).where(invoice.c.id == draft_id).values(net_total=Decimal("1.00")))
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError, match="not allowed"):
        conn.execute(sa.update(invoice_line).where(invoice_line.c.invoice_id == draft_id).values(description="x"))
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError, match="numbered_when_issued"):
        conn.execute(sa.update(invoice).where(invoice.c.bill_run_id == run.id).values(number=None, state="sent"))
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError, match="issued invoice"):
        conn.execute(sa.update(invoice).where(invoice.c.state == "sent").values(state="draft"))
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError, match="not allowed"):
        issued = sa.select(invoice.c.id).where(invoice.c.state == "sent")
        conn.execute(sa.delete(invoice_line).where(invoice_line.c.invoice_id.in_(issued)))
    with engine.begin() as conn:  # a draft goes with its lines
        conn.execute(sa.delete(invoice_line).where(invoice_line.c.invoice_id == draft_id))
        conn.execute(sa.text("DELETE FROM invoice_tax WHERE invoice_id = :id"), {"id": draft_id})
        conn.execute(sa.delete(invoice).where(invoice.c.id == draft_id))


def test_a_payment_never_settles_a_draft(engine, uow, clock, accounts):
    run = draft_october(engine, uow, clock)
    with uow() as u:
        draft_id = u.conn.execute(sa.select(invoice.c.id).where(invoice.c.bill_run_id == run.id)).scalars().first()
        with pytest.raises(Exception, match="customerBill"):
            billing.apply_payment(u, draft_id, eur("1.00"))
        with pytest.raises(Exception, match="customerBill"):
            billing.get_invoice(u, draft_id)
        assert billing.get_invoice(u, draft_id, drafts=True).state == "draft"


def test_the_commands_draft_review_approve_issue_and_list(engine, accounts, monkeypatch):
    from rich.console import Console
    from typer.testing import CliRunner

    from openbss.cli import app

    monkeypatch.setattr("openbss.db.engine.get_engine", lambda settings=None: engine)
    monkeypatch.setattr("openbss.billing.cli.console", Console(width=200))  # whole table cells in the output
    cli = CliRunner()
    # On the real clock (after October 2026) the period has closed; the workers run in this process.
    drafted = cli.invoke(app, ["billrun", "--period", "2026-10"])
    assert drafted.exit_code == 0, drafted.output
    with engine.connect() as conn:
        (run_id,) = conn.execute(sa.text("SELECT id FROM bill_run WHERE period = '2026-10'")).scalars().all()
    assert f"openbss billrun review {run_id}" in drafted.output and "draft" in drafted.output
    reviewed = cli.invoke(app, ["billrun", "review", "--period", "2026-10"])
    assert reviewed.exit_code == 0, reviewed.output
    assert "71.70 EUR" in reviewed.output and "-50.0%" in reviewed.output and "INV-2026-000002" in reviewed.output
    assert cli.invoke(app, ["billrun", "issue", str(run_id)]).exit_code == 1  # not approved yet
    assert cli.invoke(app, ["billrun", "approve", str(run_id)]).exit_code == 0
    issued = cli.invoke(app, ["billrun", "issue", str(run_id)])
    assert issued.exit_code == 0, issued.output
    assert "issued" in issued.output
    listed = cli.invoke(app, ["billrun", "list"])
    assert listed.exit_code == 0 and "2026-10" in listed.output and "2026-09" in listed.output
    assert cli.invoke(app, ["billrun", "discard", "not-a-uuid"]).exit_code == 2

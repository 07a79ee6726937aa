"""Batched billing (`billing.batch.bill_accounts`) gives exactly what the per-account path gives.

The same customers are built in two databases: a parent that pays for one child (with usage) and not for
another, a product cancelled mid-October, a promotion with a one-time fee and a discount, plain accounts
with usage, an idle account and one in a country without a VAT rate. One database is billed account by
account (`bill_account`, one transaction each, in id order), the other in one batch; every invoice (number,
totals, lines, VAT) and the usage and journal they leave behind must be the same.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime
from decimal import Decimal as D

import psycopg
import pytest
import sqlalchemy as sa

from openbss.billing import service as billing
from openbss.billing.batch import bill_accounts
from openbss.billing.billrun import run_bill_run
from openbss.billing.issue import issue_invoices
from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.clock import FixedClock
from openbss.core.money import Money
from openbss.db.engine import normalize_url
from openbss.db.uow import unit_of_work
from openbss.ledger import service as ledger
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.mediation.tables import usage
from openbss.ordering import service as ordering
from openbss.party import service as party
from tests import factories
from tests.conftest import _with_database

_twins = itertools.count()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def twin_engine(admin_url, template_url):
    """A second, independent test database (the `engine` fixture gives one per test)."""
    name = f"openbss_twin_{os.getpid()}_{next(_twins)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_url}"')
    eng = sa.create_engine(normalize_url(_with_database(admin_url, name)))
    yield eng
    eng.dispose()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build(engine) -> list:
    """The customers, ordered, used and left to close October; the account ids in id order."""
    clock = FixedClock(utc(2026, 10, 1, 9))
    with unit_of_work(engine, clock=clock) as u:
        mobile = factories.offering(u)
        office = factories.offering(u, "Office", "50.00", usage={})
        welcome = catalog.create_offering(u, NewOffering(name="Mobile M Welcome", prices=[
            NewPrice(kind="recurring", amount=Money.of("30.00", "EUR"), period="month", name="monthly fee"),
            NewPrice(kind="oneTime", amount=Money.of("25.00", "EUR"), name="activation fee"),
            NewPrice(kind="discount", amount=None, percentage=D("50"), applies_to="monthly fee",
                     duration_periods=3, name="Welcome offer"),
        ]))
        usd = factories.offering(u, "Mobile US", "25.00", currency="USD")
        acme = factories.account(u, "Acme")
        team_a = factories.account(u, "Team A", parent_id=acme.id, bill_to_parent=True)
        team_c = factories.account(u, "Team C", parent_id=acme.id)
        ada = factories.account(u, "Ada")
        bob = factories.account(u, "Bob", country="FR", time_zone="Europe/Paris")
        carla = factories.account(u, "Carla")
        factories.account(u, "Idle")
        grace = factories.account(u, "Grace", currency="USD", country="US", time_zone="America/New_York")
        factories.subscribe(u, acme.id, office.id, "office-1")
        factories.subscribe(u, team_a.id, mobile.id, "+4915100000001")
        factories.subscribe(u, team_c.id, mobile.id, "+4915100000003")
        factories.subscribe(u, ada.id, mobile.id, "+4915100000004")
        leaving = factories.subscribe(u, bob.id, mobile.id, "+33600000005")
        factories.subscribe(u, carla.id, welcome.id, "+4915100000006")
        factories.subscribe(u, grace.id, usd.id, "+12125550007")
    clock.move_to(utc(2026, 10, 16, 12))
    with unit_of_work(engine, clock=clock) as u:
        ordering.cancel_product(u, leaving.id)
        records = [UsageRecord("msc", f"{service}-{n}", service, ("voice", "sms")[n % 2], utc(2026, 10, 10, n),
                               D(60 + n))
                   for service in ("+4915100000001", "+4915100000003", "+4915100000004", "+33600000005",
                                   "+12125550007")
                   for n in range(6)]
        assert mediation.ingest(u, records).accepted == len(records)
    with unit_of_work(engine, clock=clock) as u:
        return party.active_billing_account_ids(u)


def invoices(engine) -> list[tuple]:
    """Every invoice as plain values, in number order, with the account's number in place of its id."""
    with unit_of_work(engine) as u:
        found, _ = billing.list_invoices(u, {}, 0, 100)
        numbers = {a.id: a.number for a in party.billing_accounts(u, [i.account_id for i in found]).values()}
        full = [billing.get_invoice(u, i.id) for i in sorted(found, key=lambda i: i.number)]
    return [
        (inv.number, numbers[inv.account_id], inv.period_start, inv.issue_date, inv.due_date, inv.net_total,
         inv.tax_total, inv.gross_total,
         [(line.line_no, line.kind, line.description, line.usage_type, line.quantity, line.unit, line.service_start,
           line.service_end, line.net, line.tax_category, line.tax_rate) for line in inv.lines],
         [(t.tax_category, t.tax_rate, t.taxable, t.tax, t.country) for t in inv.taxes])
        for inv in full
    ]


def usage_left(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.select(usage.c.record_key, usage.c.status).order_by(usage.c.record_key)).all()


def test_a_batch_bills_exactly_what_account_by_account_billing_bills(engine, twin_engine):
    one_by_one, batched = build(engine), build(twin_engine)
    assert len(one_by_one) == len(batched) == 8
    clock = FixedClock(utc(2026, 11, 1, 6))  # October has closed in New York too

    errors = []
    for account_id in one_by_one:
        try:
            with unit_of_work(engine, actor="billrun", clock=clock) as u:
                billing.bill_account(u, account_id, "2026-10")
        except Exception as e:  # noqa: BLE001 - Grace's country has no VAT rate
            errors.append(str(e))
    with unit_of_work(twin_engine, actor="billrun", clock=clock) as u:
        outcomes = bill_accounts(u, batched, "2026-10")
        assert {o.invoice.state for o in outcomes if o.invoice} == {"draft"}  # no number, no posting yet
        assert billing.list_invoices(u, {}, 0, 10) == ([], 0)  # drafts are not shown as bills
        issue_invoices(u, [o.invoice.id for o in outcomes if o.invoice], approved_by="test")

    assert [o.status for o in outcomes] == [
        "created", "nothing", "created", "created", "created", "created", "nothing", "error"]
    assert outcomes[-1].error == "country='US' has no 'standard' VAT rate configured" and len(errors) == 1
    expected = invoices(engine)
    assert [(i[0], i[1]) for i in expected] == [  # numbers in account order; Team A is on Acme's invoice
        ("INV-2026-000001", "ACC-000001"), ("INV-2026-000002", "ACC-000003"), ("INV-2026-000003", "ACC-000004"),
        ("INV-2026-000004", "ACC-000005"), ("INV-2026-000005", "ACC-000006")]
    assert invoices(twin_engine) == expected
    assert usage_left(twin_engine) == usage_left(engine)  # Grace's usage given back: still rated
    assert ("+12125550007-0", "rated") in usage_left(twin_engine)
    with unit_of_work(twin_engine) as u:
        assert ledger.trial_balance(u).balanced and ledger.verify_chain(u)
    with unit_of_work(engine) as u, unit_of_work(twin_engine) as t:
        assert ledger.ar_balances(t).values() and sorted(map(str, ledger.ar_balances(t).values())) == sorted(
            map(str, ledger.ar_balances(u).values()))

    with unit_of_work(twin_engine, actor="billrun", clock=clock) as u:
        again = bill_accounts(u, batched, "2026-10")
    assert [o.status for o in again] == [
        "existing", "nothing", "existing", "existing", "existing", "existing", "nothing", "error"]
    assert invoices(twin_engine) == expected  # nothing new, no number taken


def test_the_bill_run_in_small_batches_and_two_workers_matches(engine, twin_engine):
    build(engine), build(twin_engine)
    clock = FixedClock(utc(2026, 11, 1, 6))  # October has closed in New York too
    single = run_bill_run(engine, "2026-10", clock=clock, rounding="half_up", batch=3)
    parallel = run_bill_run(twin_engine, "2026-10", clock=clock, rounding="half_up", batch=2, workers=2)
    for summary in (single, parallel):
        assert (summary.accounts, summary.invoices_created, summary.skipped, len(summary.errors)) == (8, 5, 2, 1)
    assert parallel.gross == single.gross
    # Batches finish in any order across workers: the numbers are gapless, the set of invoices the same.
    assert sorted(i[0] for i in invoices(twin_engine)) == [f"INV-2026-00000{n}" for n in range(1, 6)]
    assert sorted(i[1:] for i in invoices(twin_engine)) == sorted(i[1:] for i in invoices(engine))

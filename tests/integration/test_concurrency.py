"""Retries and races: the same work done twice at the same moment is done once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from threading import Barrier

import sqlalchemy as sa

from openbss.billing import service as billing
from openbss.core.money import Money
from openbss.db.uow import unit_of_work
from openbss.ledger.tables import journal_entry
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests import factories


def _race(n, fn):
    barrier = Barrier(n)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _setup(uow, clock):
    clock.move_to(datetime(2026, 10, 5, 9, tzinfo=UTC))
    with uow() as u:
        acc = factories.account(u)
        factories.subscribe(u, acc.id, factories.offering(u).id, "+4915100000077")
        clock.move_to(datetime(2026, 10, 6, 9, tzinfo=UTC))  # the SMS arrives after it was sent
        mediation.ingest(u, [UsageRecord("msc", "r1", "+4915100000077", "sms",
                                         datetime(2026, 10, 6, tzinfo=UTC), Decimal(1))])
    clock.move_to(datetime(2026, 11, 1, 2, tzinfo=UTC))
    return acc


def test_concurrent_bill_runs_make_one_invoice(engine, uow, clock):
    acc = _setup(uow, clock)

    def bill(_):
        with unit_of_work(engine, actor="race", clock=clock) as u:
            return billing.bill_account(u, acc.id, "2026-10").id

    ids = _race(4, bill)
    assert len(set(ids)) == 1
    with uow() as u:
        invoices, total = billing.list_invoices(u, {}, 0, 10)
        assert total == 1
        assert [line.usage_type for line in billing.get_invoice(u, ids[0]).lines if line.kind == "usage"] == ["sms"]
        assert u.conn.execute(sa.select(sa.func.count()).select_from(journal_entry)).scalar_one() == 1


def test_concurrent_retries_of_one_payment_record_it_once(engine, uow, clock):
    acc = _setup(uow, clock)
    with uow() as u:
        invoice = billing.bill_account(u, acc.id, "2026-10")

    def pay(_):
        with unit_of_work(engine, actor="race", clock=clock) as u:
            return payments.record_payment(u, NewPayment(acc.id, Money.of("10.00", "EUR"), idempotency_key="bank-42")).id

    ids = _race(4, pay)
    assert len(set(ids)) == 1
    with uow() as u:
        assert payments.list_payments(u, {}, 0, 10)[1] == 1
        assert billing.get_invoice(u, invoice.id).amount_paid == Money.of("10.00", "EUR")

"""Races on one account: concurrent payments, refunds and credit applications are serialized and never
over-allocate a bill or refund more than was received."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Barrier

from openbss.billing import service as billing
from openbss.core.errors import InvalidValue
from openbss.core.money import total
from openbss.db.uow import unit_of_work
from openbss.ledger import service as ledger
from openbss.payments import refunds
from openbss.payments import service as payments
from openbss.payments.refunds import NewRefund
from openbss.payments.service import NewPayment
from tests import factories
from tests.amounts import eur


def race(n, fn):
    barrier = Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return fn(i)
        except InvalidValue as e:
            return e

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_payments_and_refunds_on_one_account(engine, uow, clock):
    with uow() as u:
        acc = factories.account(u)
        factories.subscribe(u, acc.id, factories.offering(u).id, "+491510000066")
    clock.move_to(datetime(2026, 11, 1, 6, tzinfo=UTC))
    with uow() as u:
        invoice = billing.bill_account(u, acc.id, "2026-10")
    assert invoice.gross_total == eur("71.40")  # 60.00 + 19 % VAT 11.40

    def pay(i):
        with unit_of_work(engine, actor="race", clock=clock) as u:
            return payments.record_payment(u, NewPayment(acc.id, eur("30.00"), idempotency_key=f"line-{i}"))

    paid = race(4, pay)
    with uow() as u:
        inv = billing.get_invoice(u, invoice.id)
        assert (inv.state, inv.amount_paid) == ("settled", eur("71.40"))  # not 4 x 30.00 = 120.00
        assert payments.credit_balance(u, acc.id) == eur("48.60")  # 120.00 - 71.40
    assert total((a.amount for p in paid for a in p.allocations), "EUR") == eur("71.40")

    def refund(_):
        with unit_of_work(engine, actor="race", clock=clock) as u:
            return refunds.refund(u, NewRefund(acc.id, eur("30.00")))

    outcomes = race(3, refund)  # 3 x 30.00 asked, 48.60 held: exactly one succeeds
    assert sum(isinstance(o, InvalidValue) for o in outcomes) == 2
    with uow() as u:
        assert payments.credit_balance(u, acc.id) == eur("18.60")  # 48.60 - 30.00
        assert ledger.ar_balance(u, acc.id) == eur("-18.60")  # 71.40 - 120.00 + 30.00
        tb = ledger.trial_balance(u)
    assert tb.balanced and tb.chain_ok

"""Properties on a real database: after any sequence of payments, refunds, reversals and credit applications, the
journal balances, no bill is over-allocated, every payment's amounts add up, and the account's AR is its bills'
gross less what its payments brought in for good (payments.service.net_received)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbss.billing import service as billing
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money, total
from openbss.ledger import service as ledger
from openbss.payments import refunds
from openbss.payments import service as payments
from openbss.payments.refunds import NewRefund
from openbss.payments.service import NewPayment
from openbss.payments.tables import payment_allocation
from tests import factories

cents = st.integers(min_value=1, max_value=12_000).map(lambda c: Money(Decimal(c) / 100, "EUR"))
step = st.one_of(
    st.tuples(st.just("pay"), cents),
    st.tuples(st.just("refund_credit"), cents),
    st.tuples(st.just("refund_payment"), st.integers(0, 5), cents),
    st.tuples(st.just("reverse"), st.integers(0, 5)),
    st.tuples(st.just("apply_credit")),
)


@pytest.fixture
def billed_twice(uow, clock):
    """Two open bills on one account: October 71.40 (60.00 + 19 % 11.40) and November 35.70 (30.00 + 5.70)."""
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, "+491510000099")
    bills = []
    for period, at in (("2026-10", datetime(2026, 11, 1, 6, tzinfo=UTC)), ("2026-11", datetime(2026, 12, 1, 6,
                                                                                                tzinfo=UTC))):
        clock.move_to(at)
        with uow() as u:
            bills.append(billing.bill_account(u, account.id, period))
    assert [b.gross_total.amount for b in bills] == [Decimal("71.40"), Decimal("35.70")]
    return account, bills


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=7))
def test_any_sequence_keeps_the_books_straight(uow, billed_twice, steps):
    account, bills = billed_twice
    with uow() as u:  # each example starts from the two open bills: undo what the last example did
        for p in payments.list_payments(u, {"billingAccountId": str(account.id)}, 0, 1000)[0]:
            if p.status == "done":
                refunds.undo(u, p.id, "reversal")
    made = []
    for s in steps:
        try:
            with uow() as u:
                if s[0] == "pay":
                    made.append(payments.record_payment(u, NewPayment(account.id, s[1])).id)
                elif s[0] == "refund_credit":
                    refunds.refund(u, NewRefund(account.id, s[1]))
                elif s[0] == "refund_payment" and made:
                    refunds.refund(u, NewRefund(account.id, s[2], payment_id=made[s[1] % len(made)]))
                elif s[0] == "reverse" and made:
                    refunds.undo(u, made[s[1] % len(made)], "reversal")
                elif s[0] == "apply_credit":
                    payments.apply_credit_balance(u, account.id)
        except (InvalidValue, Conflict) as e:  # refused as over-large or already undone: nothing was written
            assert "exceeds" in str(e) or "reversed" in str(e), e
    with uow() as u:
        tb = ledger.trial_balance(u)
        assert tb.balanced and tb.chain_ok
        allocated = dict(u.conn.execute(
            sa.select(payment_allocation.c.invoice_id, sa.func.sum(payment_allocation.c.amount))
            .group_by(payment_allocation.c.invoice_id)).all())
        gross = Money.of(0, "EUR")
        for b in bills:
            inv = billing.get_invoice(u, b.id)
            assert inv.amount_paid.amount == allocated.get(b.id, 0)  # the bill knows exactly what pays it
            assert inv.amount_paid <= inv.gross_total  # never over-allocated
            gross = gross + inv.gross_total
        for p in payments.list_payments(u, {"billingAccountId": str(account.id)}, 0, 1000)[0]:
            spread = total((a.amount for a in p.allocations), "EUR") + p.unallocated + p.refunded + p.reversed
            assert spread == p.amount, p
        received = payments.net_received(u, [account.id]).get(account.id, Money.of(0, "EUR"))
        assert ledger.ar_balance(u, account.id) == gross - received

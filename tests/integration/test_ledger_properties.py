"""Hypothesis: over random sequences of bills, payments, credit notes, debit notes, refunds and recognition runs,
all through the services, the journal balances, its chain holds, `ledger verify` passes, and each account's AR
equals the arithmetic of the documents the test itself received back from the services."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from openbss.billing import correction_service as corrections
from openbss.billing import service as billing
from openbss.billing.corrections import DebitItem, LineCredit
from openbss.core.errors import DomainError
from openbss.core.money import Money
from openbss.ledger import recognition
from openbss.ledger import service as ledger
from openbss.ledger.verify import verify
from openbss.payments import refunds
from openbss.payments import service as payments
from openbss.payments.refunds import NewRefund
from openbss.payments.service import NewPayment
from tests import factories

BERLIN = ZoneInfo("Europe/Berlin")
ACTIONS = ("bill", "pay", "credit", "debit", "refund", "recognize")
steps = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 20), st.integers(1, 9000)), min_size=2,
                 max_size=9)


def next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


class Customer:
    """One account's life, with the receivable its documents add up to (the oracle)."""

    def __init__(self, uow, clock, n: int):
        self.uow, self.clock = uow, clock
        with uow() as u:
            self.account = factories.account(u, name=f"Customer {n}")
            offer = factories.offering(u, name=f"Plan {n}", monthly="29.99", usage={})
            factories.subscribe(u, self.account.id, offer.id, f"+49151{n:07d}")
        self.period = clock.now().astimezone(BERLIN).date().replace(day=1)  # the next period to bill
        self.invoices: list = []
        self.expected = Money.zero("EUR")

    def eur(self, cents: int) -> Money:
        return Money(Decimal(cents) / 100, "EUR")

    def do(self, action: str, cents: int) -> None:
        try:
            with self.uow() as u:
                event(f"{action}: {'done' if getattr(self, action)(u, cents) else 'nothing to do'}")
        except DomainError:
            event(f"{action}: refused")  # nothing left to credit, more than the credit balance: nothing written

    # Each action returns False when it had nothing to act on (no invoice yet, the period still open).
    def bill(self, u, cents: int) -> bool:
        end = datetime.combine(next_month(self.period), time(0), BERLIN)
        if self.clock.now() < end:
            return False
        inv = billing.bill_account(u, self.account.id, f"{self.period:%Y-%m}")
        self.period = next_month(self.period)
        if inv is None:
            return False
        self.invoices.append(inv)
        self.expected += inv.gross_total
        return True

    def pay(self, u, cents: int) -> bool:
        self.expected -= payments.record_payment(u, NewPayment(self.account.id, self.eur(cents))).amount
        return True

    def credit(self, u, cents: int) -> bool:
        if not self.invoices:
            return False
        inv = self.invoices[cents % len(self.invoices)]
        line = inv.lines[cents % len(inv.lines)]
        note = corrections.issue_credit_note(u, inv.id, [LineCredit(line.id, amount=self.eur(cents).amount)],
                                             "Goodwill")
        self.expected -= note.gross_total
        return True

    def debit(self, u, cents: int) -> bool:
        if not self.invoices:
            return False
        note = corrections.issue_debit_note(u, self.invoices[-1].id,
                                            [DebitItem("Late fee", self.eur(cents).amount, "standard")], "Fee")
        self.expected += note.gross_total
        return True

    def refund(self, u, cents: int) -> bool:
        self.expected += refunds.refund(u, NewRefund(self.account.id, self.eur(cents))).amount
        return True

    def recognize(self, u, cents: int) -> bool:
        return recognition.recognize(u, self.clock.now().astimezone(BERLIN).date() - timedelta(days=1)).entries > 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_the_journal_balances_and_each_receivable_equals_its_documents(uow, clock, steps):
    # Examples share the test's database and clock: each is a new customer, later in time than the last.
    clock.advance(timedelta(days=40))
    customer = Customer(uow, clock, clock.now().toordinal())
    for action, days, cents in steps:
        clock.advance(timedelta(days=days))
        customer.do(action, cents)
        with uow() as u:
            assert (ledger.ar_balance(u, customer.account.id) or Money.zero("EUR")) == customer.expected
            tb = ledger.trial_balance(u)
            assert tb.balanced and tb.chain_ok
            result = verify(u)
            assert result.ok, result.discrepancies

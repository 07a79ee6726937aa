"""The worker's "payments.apply_credit" job: a credit balance (an over-payment) pays the invoices issued since.

Mobile at 30.00 EUR a month (DE, 19 % VAT): the October invoice is 71.40 (October and November in advance), the
November invoice 35.70 (December). 100.00 paid on the first leaves a credit of 28.60."""

from __future__ import annotations

from openbss.billing import service as billing
from openbss.core.money import Money
from openbss.jobs.schedule import SCHEDULE, run_job
from openbss.payments.service import NewPayment, record_payment
from tests.integration.invoice_documents import billed_month, utc

JOB = next(j for j in SCHEDULE if j.name == "payments.apply_credit")


def test_a_credit_balance_pays_the_next_invoice_once(engine, uow, clock):
    first = billed_month(engine, uow, clock)
    with uow() as u:
        paid = record_payment(u, NewPayment(first.account_id, Money.of("100.00", "EUR")))
    assert paid.unallocated == Money.of("28.60", "EUR")  # 100.00 - 71.40
    clock.move_to(utc(2026, 12, 1, 6))
    with uow() as u:
        second = billing.bill_account(u, first.account_id, "2026-11")
    assert second.amount_paid == Money.of("0.00", "EUR")  # issuing alone spends no credit

    assert run_job(engine, JOB, clock=clock) == {"accountsInCredit": 1, "billsPaidFromCredit": 1}
    with uow() as u:
        after = billing.get_invoice(u, second.id)
    assert after.amount_paid == Money.of("28.60", "EUR") and after.state == "partiallyPaid"  # 35.70 - 28.60 = 7.10 open
    assert run_job(engine, JOB, clock=clock) == {"accountsInCredit": 0, "billsPaidFromCredit": 0}  # credit spent

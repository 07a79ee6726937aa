"""Credit balance, refunds, reversals and chargebacks: bills reopen, AR follows, the journal balances."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openbss.billing import service as billing
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.ledger import service as ledger
from openbss.payments import refunds
from openbss.payments import service as payments
from openbss.payments.refunds import NewRefund
from openbss.payments.service import NewPayment
from tests import factories
from tests.amounts import eur
from tests.tmf_spec import spec_errors

PAYMENTS = "/tmf-api/paymentManagement/v4"


@pytest.fixture
def billed(uow, clock):
    """Mobile M at 30.00/month from 2026-10-01, billed for October: 60.00 net + 19 % VAT 11.40 = 71.40."""
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, "+491510000011")
    clock.move_to(datetime(2026, 11, 1, 6, tzinfo=UTC))
    with uow() as u:
        invoice = billing.bill_account(u, account.id, "2026-10")
    assert invoice.gross_total == eur("71.40")
    return account, invoice


def pay(uow, account_id, value, **kw):
    with uow() as u:
        return payments.record_payment(u, NewPayment(account_id, eur(value), **kw))


def bill(uow, invoice_id):
    with uow() as u:
        inv = billing.get_invoice(u, invoice_id)
    return inv.state, inv.amount_paid


def ar(uow, account_id):
    with uow() as u:
        return ledger.ar_balance(u, account_id)


def balanced(uow):
    with uow() as u:
        tb = ledger.trial_balance(u)
    return tb.balanced and tb.chain_ok


def test_credit_balance_pays_the_next_invoice(uow, clock, billed):
    account, october = billed
    p = pay(uow, account.id, "100.00")
    assert p.unallocated == eur("28.60")  # 100.00 - 71.40
    with uow() as u:
        assert payments.apply_credit_balance(u, account.id) == []  # nothing open: the credit stays
    clock.move_to(datetime(2026, 12, 1, 6, tzinfo=UTC))
    with uow() as u:
        november = billing.bill_account(u, account.id, "2026-11")
    assert november.gross_total == eur("35.70")  # December in advance 30.00 + 19 % VAT 5.70
    with uow() as u:
        spent = payments.apply_credit_balance(u, account.id)
    assert [(a.invoice_id, a.amount) for a in spent] == [(november.id, eur("28.60"))]
    assert bill(uow, november.id) == ("partiallyPaid", eur("28.60"))  # 35.70 - 28.60 = 7.10 still open
    assert ar(uow, account.id) == eur("7.10")  # 71.40 + 35.70 - 100.00: AR already held the credit
    with uow() as u:
        after = payments.get_payment(u, p.id)
        assert payments.credit_balance(u, account.id) == eur("0")
    assert after.unallocated == eur("0")
    assert [(a.invoice_id, a.amount) for a in after.allocations] == [(october.id, eur("71.40")),
                                                                      (november.id, eur("28.60"))]
    with uow() as u:  # again: nothing left to spend
        assert payments.apply_credit_balance(u, account.id) == []
    assert balanced(uow)


def test_refund_out_of_the_credit_balance(uow, billed):
    account, invoice = billed
    p = pay(uow, account.id, "100.00")  # 28.60 credit
    with pytest.raises(InvalidValue, match="exceeds the credit balance"), uow() as u:
        refunds.refund(u, NewRefund(account.id, eur("28.61")))
    with uow() as u:
        r = refunds.refund(u, NewRefund(account.id, eur("20.00"), reason="customer asked", idempotency_key="rf-1"))
    assert r.payment_id is None and r.amount == eur("20.00")
    assert ar(uow, account.id) == eur("-8.60")  # 71.40 - 100.00 + 20.00 paid back
    assert bill(uow, invoice.id) == ("settled", eur("71.40"))  # the bill stays paid
    with uow() as u:
        assert payments.get_payment(u, p.id).unallocated == eur("8.60")  # 28.60 - 20.00
        assert refunds.refund(u, NewRefund(account.id, eur("20.00"), idempotency_key="rf-1")) == r  # once
        assert payments.credit_balance(u, account.id) == eur("8.60")
    with pytest.raises(Conflict, match="rf-1"), uow() as u:
        refunds.refund(u, NewRefund(account.id, eur("5.00"), idempotency_key="rf-1"))
    assert balanced(uow)


def test_refund_of_a_payment_reopens_what_it_paid(uow, billed):
    account, invoice = billed
    p = pay(uow, account.id, "80.00")  # 71.40 to the bill, 8.60 credit
    with uow() as u:
        refunds.refund(u, NewRefund(account.id, eur("20.00"), payment_id=p.id))
    # 8.60 from its credit first, then 20.00 - 8.60 = 11.40 back from the bill
    assert bill(uow, invoice.id) == ("partiallyPaid", eur("60.00"))  # 71.40 - 11.40
    assert ar(uow, account.id) == eur("11.40")  # 71.40 - 80.00 + 20.00
    with uow() as u:
        after = payments.get_payment(u, p.id)
    assert (after.unallocated, after.refunded, after.refundable) == (eur("0"), eur("20.00"), eur("60.00"))
    with pytest.raises(InvalidValue, match="exceeds the 60.00"), uow() as u:
        refunds.refund(u, NewRefund(account.id, eur("60.01"), payment_id=p.id))
    assert balanced(uow)


@pytest.mark.parametrize("value, field, problem", [
    ("-5.00", "totalAmount.value", "greater than zero"), ("0", "totalAmount.value", "greater than zero"),
    ("1.005", "totalAmount.value", "more decimals"),
])
def test_bad_refund_amounts_write_nothing(uow, billed, value, field, problem):
    account, _ = billed
    p = pay(uow, account.id, "100.00")
    with pytest.raises(InvalidValue, match=problem) as e, uow() as u:
        refunds.refund(u, NewRefund(account.id, Money.of(value, "EUR"), payment_id=p.id))
    assert e.value.field == field
    with uow() as u:
        assert refunds.list_refunds(u, {}, 0, 10) == ([], 0)
    assert ar(uow, account.id) == eur("-28.60")  # unchanged: 71.40 - 100.00


def test_refund_of_another_accounts_payment_is_refused(uow, billed):
    account, _ = billed
    p = pay(uow, account.id, "10.00")
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")
    with pytest.raises(InvalidValue, match="payment.id"), uow() as u:
        refunds.refund(u, NewRefund(other.id, eur("5.00"), payment_id=p.id))


def test_reversal_reopens_the_bill_and_is_idempotent(uow, billed):
    account, invoice = billed
    p = pay(uow, account.id, "100.00")
    with uow() as u:
        reversed_ = refunds.undo(u, p.id, "reversal", reason="booked to the wrong customer")
    assert (reversed_.status, reversed_.reversed, reversed_.unallocated) == ("reversed", eur("100.00"), eur("0"))
    assert bill(uow, invoice.id) == ("sent", eur("0"))
    assert ar(uow, account.id) == eur("71.40")  # as if never paid
    with uow() as u:
        assert refunds.undo(u, p.id, "reversal") == reversed_  # again: unchanged
        assert payments.net_received(u, [account.id]) == {account.id: eur("0")}
    with pytest.raises(Conflict, match="reversed"), uow() as u:
        refunds.undo(u, p.id, "chargeback")
    with pytest.raises(Conflict, match="only a payment received"), uow() as u:
        refunds.refund(u, NewRefund(account.id, eur("1.00"), payment_id=p.id))
    assert balanced(uow)


def test_reversal_after_a_partial_refund_takes_back_only_the_rest(uow, billed):
    account, invoice = billed
    p = pay(uow, account.id, "100.00")
    with uow() as u:
        refunds.refund(u, NewRefund(account.id, eur("28.60"), payment_id=p.id))  # its whole credit
        after = refunds.undo(u, p.id, "reversal")
    assert after.reversed == eur("71.40")  # 100.00 - 28.60 already refunded
    assert ar(uow, account.id) == eur("71.40")  # 71.40 - 100.00 + 28.60 + 71.40
    assert bill(uow, invoice.id) == ("sent", eur("0"))
    assert balanced(uow)


def test_refunds_and_reversals_through_the_api(client, uow, billed):
    account, invoice = billed
    r = client.post(f"{PAYMENTS}/payment", json={"account": {"id": str(account.id)},
                                                 "totalAmount": {"unit": "EUR", "value": "80.00"}})
    assert r.status_code == 201, r.text
    payment_id = r.json()["id"]
    body = {"account": {"id": str(account.id)}, "totalAmount": {"unit": "EUR", "value": "8.60"},
            "payment": {"id": payment_id}, "paymentMethod": {"@type": "bankTransfer"}, "description": "goodwill"}
    created = client.post(f"{PAYMENTS}/refund", json=body, headers={"Idempotency-Key": "refund-42"})
    assert created.status_code == 201, created.text
    refund = created.json()
    assert refund["totalAmount"] == {"unit": "EUR", "value": 8.60} and refund["payment"]["id"] == payment_id
    assert refund["@type"] == "Refund" and refund["description"] == "goodwill"
    assert spec_errors("TMF676-Payment-v4.0.0", "Refund", refund) == []
    assert client.post(f"{PAYMENTS}/refund", json=body, headers={"Idempotency-Key": "refund-42"}).json() == refund
    assert client.get(f"{PAYMENTS}/refund/{refund['id']}").json() == refund
    listed = client.get(f"{PAYMENTS}/refund", params={"paymentId": payment_id})
    assert listed.headers["X-Total-Count"] == "1"
    too_much = client.post(f"{PAYMENTS}/refund", json={**body, "totalAmount": {"unit": "EUR", "value": "-1"}})
    assert too_much.status_code == 422 and too_much.json()["message"].startswith("totalAmount.value=")
    reversed_ = client.post(f"{PAYMENTS}/payment/{payment_id}/reversal", json={"reason": "bank recall"})
    assert reversed_.status_code == 200, reversed_.text
    assert (reversed_.json()["status"], reversed_.json()["statusReason"]) == ("reversed", "bank recall")
    assert reversed_.json()["paymentItem"] == []  # the bill it paid is released
    assert spec_errors("TMF676-Payment-v4.0.0", "Payment", reversed_.json()) == []
    assert bill(uow, invoice.id) == ("sent", eur("0"))
    assert client.get(f"{PAYMENTS}/payment", params={"status": "reversed"}).headers["X-Total-Count"] == "1"
    assert client.post(f"{PAYMENTS}/payment/{new_id()}/chargeback", json={}).status_code == 404
    assert ar(uow, account.id) == eur("71.40")  # 71.40 - 80.00 + 8.60 refunded + 71.40 reversed

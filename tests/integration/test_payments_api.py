from datetime import UTC, datetime

import pytest

from openbss.billing import service as billing
from openbss.core.errors import Conflict
from openbss.core.ids import new_id
from openbss.ledger import service as ledger
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests import factories
from tests.amounts import eur

PAYMENTS = "/tmf-api/paymentManagement/v4/payment"


@pytest.fixture
def billed(uow, clock):
    """An account (DE, Europe/Berlin, BCD 1) with Mobile M at 30.00/month from 2026-10-01, billed for 2026-10."""
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, "+491510000001")
    clock.move_to(datetime(2026, 11, 1, 6, tzinfo=UTC))  # October has closed in Berlin
    with uow() as u:
        invoice = billing.bill_account(u, account.id, "2026-10")
    # recurring is billed in advance: October 30.00 + November 30.00 = 60.00 net; VAT 19 % of 60.00 = 11.40
    assert invoice.gross_total == eur("71.40")  # 60.00 + 11.40
    return account, invoice


def pay(client, account_id, value, unit="EUR", headers=None, **extra):
    body = {"account": {"id": str(account_id)}, "totalAmount": {"unit": unit, "value": value},
            "paymentMethod": {"@type": "bankTransfer"}, **extra}
    return client.post(PAYMENTS, json=body, headers=headers)


def state(uow, invoice_id):
    with uow() as u:
        inv = billing.get_invoice(u, invoice_id)
    return inv.state, inv.amount_paid


def ar(uow, account_id):
    with uow() as u:
        return ledger.ar_balance(u, account_id)


def test_exact_payment_settles_the_bill(client, uow, billed):
    account, invoice = billed
    r = pay(client, account.id, "71.40", correlatorId="BANK-2026-11-0001", paymentDate="2026-11-03T10:00:00Z")
    assert r.status_code == 201, r.text
    p = r.json()
    assert r.headers["Location"] == p["href"] == f"http://testserver{PAYMENTS}/{p['id']}"
    assert p["status"] == "done" and p["@type"] == "Payment"
    assert p["totalAmount"] == {"unit": "EUR", "value": 71.40}
    assert p["paymentDate"] == "2026-11-03T10:00:00Z" and p["correlatorId"] == "BANK-2026-11-0001"
    assert p["account"]["id"] == str(account.id) and p["account"]["@referredType"] == "BillingAccount"
    assert p["paymentItem"] == [{
        "amount": {"unit": "EUR", "value": 71.40},
        "totalAmount": {"unit": "EUR", "value": 71.40},
        "item": {"id": str(invoice.id), "@referredType": "CustomerBill",
                 "href": f"http://testserver/tmf-api/customerBillManagement/v4/customerBill/{invoice.id}"},
    }]
    assert p["unallocatedAmount"] == {"unit": "EUR", "value": 0.0}
    assert state(uow, invoice.id) == ("settled", eur("71.40"))
    assert ar(uow, account.id) == eur("0")  # 71.40 invoiced - 71.40 paid
    assert client.get(f"{PAYMENTS}/{p['id']}").json() == p
    with uow() as u:
        tb = ledger.trial_balance(u)
    assert tb.balanced and tb.chain_ok


def test_partial_payment(client, uow, billed):
    account, invoice = billed
    r = pay(client, account.id, "50.00")
    assert r.status_code == 201, r.text
    assert r.json()["paymentItem"][0]["amount"] == {"unit": "EUR", "value": 50.0}
    assert state(uow, invoice.id) == ("partiallyPaid", eur("50.00"))
    assert ar(uow, account.id) == eur("21.40")  # 71.40 - 50.00
    assert pay(client, account.id, "21.40").status_code == 201
    assert state(uow, invoice.id) == ("settled", eur("71.40"))  # 50.00 + 21.40


def test_overpayment_leaves_a_credit(client, uow, billed):
    account, invoice = billed
    r = pay(client, account.id, "100.00")
    assert r.status_code == 201, r.text
    assert r.json()["paymentItem"][0]["amount"] == {"unit": "EUR", "value": 71.40}
    assert r.json()["unallocatedAmount"] == {"unit": "EUR", "value": 28.60}  # 100.00 - 71.40
    assert state(uow, invoice.id) == ("settled", eur("71.40"))
    assert ar(uow, account.id) == eur("-28.60")  # 71.40 invoiced - 100.00 received


def test_named_bill_is_paid_first_then_oldest(client, uow, clock, billed):
    account, october = billed
    clock.move_to(datetime(2026, 12, 1, 6, tzinfo=UTC))
    with uow() as u:
        november = billing.bill_account(u, account.id, "2026-11")
    assert november.gross_total == eur("35.70")  # December in advance 30.00 + 19 % VAT 5.70
    r = pay(client, account.id, "50.00", paymentItem=[{"item": {"id": str(november.id)}}])
    assert r.status_code == 201, r.text
    assert [(i["item"]["id"], i["amount"]["value"]) for i in r.json()["paymentItem"]] == [
        (str(november.id), 35.70),
        (str(october.id), 14.30),  # 50.00 - 35.70
    ]
    assert state(uow, november.id) == ("settled", eur("35.70"))
    assert state(uow, october.id) == ("partiallyPaid", eur("14.30"))
    assert ar(uow, account.id) == eur("57.10")  # 71.40 + 35.70 - 50.00


def test_same_idempotency_key_records_one_payment(client, uow, billed):
    account, invoice = billed
    first = pay(client, account.id, "30.00", headers={"Idempotency-Key": "bank-line-42"})
    again = pay(client, account.id, "30.00", headers={"Idempotency-Key": "bank-line-42"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert client.get(PAYMENTS, params={"billingAccountId": str(account.id)}).headers["X-Total-Count"] == "1"
    assert state(uow, invoice.id) == ("partiallyPaid", eur("30.00"))  # applied once, not 60.00
    assert ar(uow, account.id) == eur("41.40")  # 71.40 - 30.00


def test_same_key_through_the_service_is_one_payment(uow, billed):
    # A bank file imported twice reaches the service without the API's per-principal replay.
    account, invoice = billed
    with uow() as u:
        first = payments.record_payment(u, NewPayment(account.id, eur("20.00"), idempotency_key="camt-7"))
    with uow() as u:
        again = payments.record_payment(u, NewPayment(account.id, eur("20.00"), idempotency_key="camt-7"))
    assert again == first
    assert state(uow, invoice.id) == ("partiallyPaid", eur("20.00"))  # not 40.00
    with pytest.raises(Conflict, match="camt-7"), uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("25.00"), idempotency_key="camt-7"))


def test_list_filters(client, billed):
    account, _ = billed
    pay(client, account.id, "10.00")
    assert client.get(PAYMENTS, params={"status": "done"}).headers["X-Total-Count"] == "1"
    assert client.get(PAYMENTS, params={"status": "failed"}).headers["X-Total-Count"] == "0"
    assert client.get(PAYMENTS, params={"billingAccountId": str(new_id())}).json() == []
    assert client.get(f"{PAYMENTS}/{new_id()}").status_code == 404


@pytest.mark.parametrize(
    "unit, value, field",
    [("USD", "10.00", "totalAmount.unit"), ("EUR", "0", "totalAmount.value"), ("EUR", "-5.00", "totalAmount.value"),
     ("EUR", "1.005", "totalAmount.value"), ("XXY", "1.00", "totalAmount.unit")],
)
def test_bad_amounts_are_422_and_write_nothing(client, uow, billed, unit, value, field):
    account, invoice = billed
    r = pay(client, account.id, value, unit=unit)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}=")
    assert client.get(PAYMENTS).json() == []
    assert state(uow, invoice.id) == ("sent", eur("0"))


def test_unknown_account_is_422(client):
    r = pay(client, new_id(), "10.00")
    assert r.status_code == 422
    assert "account.id" in r.json()["message"]


def test_bill_of_another_account_is_refused(client, uow, billed):
    account, _ = billed
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")
    r = pay(client, other.id, "10.00", paymentItem=[{"item": {"id": str(billed[1].id)}}])
    assert r.status_code == 422
    assert r.json()["message"].startswith("paymentItem.item.id=")
    assert ar(uow, other.id) is None


def test_billing_account_shows_its_receivable_balance(client, billed):
    account, invoice = billed
    r = client.get(f"/tmf-api/accountManagement/v4/billingAccount/{account.id}")
    assert r.json()["accountBalance"][0]["amount"] == {"unit": "EUR", "value": 71.40}  # the invoice's gross
    assert pay(client, account.id, "10.00").status_code == 201
    listed = client.get("/tmf-api/accountManagement/v4/billingAccount", params={"fields": "accountBalance"}).json()
    assert listed[0]["accountBalance"][0]["amount"] == {"unit": "EUR", "value": 61.40}  # 71.40 - 10.00 paid

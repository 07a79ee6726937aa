"""TMF670 payment methods over HTTP (shapes per the v4 spec), and card payments through the test gateway with its
signed webhooks: declines recorded as failed, chargebacks reopening bills, replays refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.billing import service as billing
from openbss.ledger import service as ledger
from openbss.ledger.model import AR, BANK, IN_TRANSIT
from openbss.ledger.tables import journal_line
from openbss.payments import gateways
from tests import factories
from tests.amounts import eur
from tests.tmf_spec import spec_errors

METHODS = "/tmf-api/paymentMethods/v4/paymentMethod"
PAYMENTS = "/tmf-api/paymentManagement/v4"
SPEC = "TMF670-PaymentMethod-v4.0.0"
SECRET = "whsec_test_0123456789"


@pytest.fixture
def account(uow):
    with uow() as u:
        return factories.account(u)


def mandate(account_id, **extra):
    return {"@type": "directDebit", "name": "Girokonto", "account": [{"id": str(account_id)}],
            "accountNumber": "DE89 3704 0044 0532 0130 00", "mandateId": "MNDT-0001", "signatureDate": "2026-09-01",
            "owner": "Ada Lovelace", **extra}


def card(account_id, **extra):
    return {"@type": "tokenizedCard", "name": "Visa", "account": [{"id": str(account_id)}], "gateway": "test",
            "token": "tok_visa_4242", "brand": "visa", "lastFourDigits": "4242", "expirationDate": "2028-12", **extra}


def test_direct_debit_mandate_round_trip(client, account):
    r = client.post(METHODS, json=mandate(account.id, isPreferred=True))
    assert r.status_code == 201, r.text
    m = r.json()
    assert spec_errors(SPEC, "DirectDebit", m) == []
    assert (m["accountNumber"], m["BIC"], m["accountNumberType"]) == ("DE89370400440532013000", "COBADEFFXXX", "IBAN")
    assert (m["isPreferred"], m["status"], m["mandateId"]) == (True, "active", "MNDT-0001")
    assert m["account"][0]["id"] == str(account.id)
    assert client.get(m["href"].replace("http://testserver", "")).json() == m
    # The same mandate reference twice is a conflict: it identifies one mandate of the creditor.
    assert client.post(METHODS, json=mandate(account.id)).status_code == 409


def test_one_preferred_method_per_account(client, account):
    first = client.post(METHODS, json=mandate(account.id, isPreferred=True)).json()
    second = client.post(METHODS, json=card(account.id, isPreferred=True))
    assert second.status_code == 201, second.text
    assert spec_errors(SPEC, "TokenizedCard", second.json()) == []
    assert "token" not in second.json()  # the handle to charge the card never leaves
    assert second.json()["issuer"] == "test" and second.json()["expirationDate"] == "2028-12-31T23:59:59Z"
    assert client.get(f"{METHODS}/{first['id']}").json()["isPreferred"] is False
    preferred = client.get(METHODS, params={"accountId": str(account.id), "isPreferred": "true"}).json()
    assert [p["id"] for p in preferred] == [second.json()["id"]]
    back = client.patch(f"{METHODS}/{first['id']}", json={"isPreferred": True})
    assert back.status_code == 200 and back.json()["isPreferred"] is True
    assert client.get(f"{METHODS}/{second.json()['id']}").json()["isPreferred"] is False


@pytest.mark.parametrize("body, field", [
    (lambda a: mandate(a, accountNumber="DE89370400440532013001"), "accountNumber"),
    (lambda a: card(a, token="4111111111111111"), "token"),
    (lambda a: {"@type": "bankCard", "name": "Visa", "account": [{"id": str(a)}], "cardNumber": "4111111111111111"},
     "@type"),
    (lambda a: card(a, gateway="acme"), "gateway"),
    (lambda a: card(a, expirationDate="2026-01"), "expirationDate"),
])
def test_bad_methods_are_422_and_store_nothing(client, account, body, field):
    r = client.post(METHODS, json=body(account.id))
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}=")
    assert "4111111111111111" not in r.text
    assert client.get(METHODS).json() == []


def test_patch_and_delete(client, account):
    m = client.post(METHODS, json=card(account.id, isPreferred=True)).json()
    r = client.patch(f"{METHODS}/{m['id']}", json={"accountNumber": "DE89370400440532013000"})
    assert r.status_code == 422 and "add a new payment method" in r.json()["message"]
    off = client.patch(f"{METHODS}/{m['id']}", json={"status": "inactive", "statusReason": "card lost"})
    assert off.status_code == 200, off.text
    assert (off.json()["status"], off.json()["statusReason"], off.json()["isPreferred"]) == ("inactive", "card lost",
                                                                                           False)
    assert client.delete(f"{METHODS}/{m['id']}").status_code == 204
    assert client.get(f"{METHODS}/{m['id']}").status_code == 404


@pytest.fixture
def billed(uow, clock):
    """Mobile M at 30.00/month from 2026-10-01, billed for October: 60.00 net + 19 % VAT 11.40 = 71.40."""
    with uow() as u:
        acc = factories.account(u)
        factories.subscribe(u, acc.id, factories.offering(u).id, "+491510000055")
    clock.move_to(datetime(2026, 11, 1, 6, tzinfo=UTC))
    with uow() as u:
        invoice = billing.bill_account(u, acc.id, "2026-10")
    assert invoice.gross_total == eur("71.40")
    return acc, invoice


def gl(uow, account_id) -> dict[str, Decimal]:
    """The account's balance (debit - credit) per general-ledger account, leaving out the revenue and VAT side."""
    with uow() as u:
        rows = u.conn.execute(sa.select(journal_line.c.gl_account, sa.func.sum(journal_line.c.debit - journal_line.c.credit))
                              .where(journal_line.c.account_id == account_id,
                                     journal_line.c.gl_account.in_((AR, BANK, IN_TRANSIT)))
                              .group_by(journal_line.c.gl_account)).all()
    return {a: v for a, v in rows if v != 0}


def charge(client, account_id, method_id, value, key=None):
    return client.post(f"{PAYMENTS}/payment", headers={"Idempotency-Key": key} if key else None, json={
        "account": {"id": str(account_id)}, "totalAmount": {"unit": "EUR", "value": value},
        "paymentMethod": {"id": method_id, "@referredType": "PaymentMethod"}})


def test_a_declined_card_is_a_failed_payment_that_changes_nothing(client, uow, billed):
    acc, invoice = billed
    method = client.post(METHODS, json=card(acc.id)).json()
    r = charge(client, acc.id, method["id"], "71.13")  # the test gateway declines amounts ending .13
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["statusReason"]) == ("failed", "51: insufficient funds")
    assert r.json()["paymentItem"] == [] and r.json()["paymentMethod"]["id"] == method["id"]
    with uow() as u:
        assert billing.get_invoice(u, invoice.id).state == "sent"
        assert ledger.ar_balance(u, acc.id) == eur("71.40")  # nothing posted
    declined_token = client.post(METHODS, json=card(acc.id, token="tok_decline_1", name="Old card")).json()
    assert charge(client, acc.id, declined_token["id"], "71.40").json()["statusReason"] == "05: do not honor"


def webhook(client, body: dict, secret=SECRET, at: datetime | None = None):
    raw = json.dumps(body).encode()
    t = int((at or datetime(2026, 11, 1, 6, tzinfo=UTC)).timestamp())
    return client.post(f"{PAYMENTS}/gatewayEvent/test", content=raw, headers={
        "Authorization": "", "Content-Type": "application/json", "Openbss-Signature": gateways.sign(secret, raw, t)})


def test_card_payment_then_a_signed_chargeback(client, uow, billed, monkeypatch):
    monkeypatch.setenv("OPENBSS_TEST_GATEWAY_SECRET", SECRET)
    acc, invoice = billed
    method = client.post(METHODS, json=card(acc.id, isPreferred=True)).json()
    paid = charge(client, acc.id, method["id"], "71.40", key="order-7")
    assert paid.status_code == 201, paid.text
    p = paid.json()
    assert (p["status"], p["paymentMethod"]["@type"]) == ("done", "card")
    assert p["correlatorId"].startswith("test_ch_")  # the gateway's transaction id
    assert charge(client, acc.id, method["id"], "71.40", key="order-7").json() == p  # charged once
    with uow() as u:
        assert billing.get_invoice(u, invoice.id).state == "settled"
    event = {"id": "evt_cb_1", "type": "chargeback", "transaction": p["correlatorId"], "reason": "4837: no auth"}
    assert webhook(client, event, secret="forged").status_code == 401
    assert webhook(client, event, at=datetime(2026, 11, 1, 5, tzinfo=UTC)).status_code == 401  # an hour old
    with uow() as u:
        assert billing.get_invoice(u, invoice.id).state == "settled"  # refused deliveries changed nothing
    r = webhook(client, event)
    assert r.status_code == 200, r.text
    assert r.json()["payment"] == {"id": p["id"], "status": "chargedBack"} and r.json()["duplicate"] is False
    assert webhook(client, event).json()["duplicate"] is True  # the gateway retries: acted on once
    got = client.get(f"{PAYMENTS}/payment/{p['id']}").json()
    assert (got["status"], got["statusReason"]) == ("chargedBack", "4837: no auth")
    with uow() as u:
        assert billing.get_invoice(u, invoice.id).state == "sent"
        assert ledger.ar_balance(u, acc.id) == eur("71.40")  # 71.40 - 71.40 paid + 71.40 charged back
        tb = ledger.trial_balance(u)
    assert tb.balanced and tb.chain_ok
    unknown = webhook(client, {**event, "id": "evt_2", "transaction": "test_ch_unknown"})
    assert unknown.status_code == 422 and "transaction" in unknown.json()["message"]


def test_settlement_webhook_moves_the_card_money_to_the_bank(client, uow, billed, monkeypatch):
    monkeypatch.setenv("OPENBSS_TEST_GATEWAY_SECRET", SECRET)
    acc, _ = billed
    method = client.post(METHODS, json=card(acc.id)).json()
    p = charge(client, acc.id, method["id"], "20.00").json()
    assert gl(uow, acc.id) == {AR: Decimal("51.40"), IN_TRANSIT: Decimal("20.00")}  # collected, not yet in the bank
    r = webhook(client, {"id": "evt_st_1", "type": "settlement", "transaction": p["correlatorId"]})
    assert r.json()["payment"]["status"] == "done"
    assert gl(uow, acc.id) == {AR: Decimal("51.40"), BANK: Decimal("20.00")}  # 71.40 - 20.00; in transit: 0
    refund = client.post(f"{PAYMENTS}/refund", json={"account": {"id": str(acc.id)}, "payment": {"id": p["id"]},
                                                     "totalAmount": {"unit": "EUR", "value": "5.00"},
                                                     "paymentMethod": {"@type": "card"}})
    assert refund.status_code == 201, refund.text
    assert refund.json()["authorizationCode"].startswith("test_re_")  # refunded at the gateway
    declined = client.post(f"{PAYMENTS}/refund", json={"account": {"id": str(acc.id)}, "payment": {"id": p["id"]},
                                                       "totalAmount": {"unit": "EUR", "value": "5.13"},
                                                       "paymentMethod": {"@type": "card"}})
    assert declined.status_code == 409 and "declined" in declined.json()["message"]
    assert client.get(f"{PAYMENTS}/refund").headers["X-Total-Count"] == "1"

"""TMF676 paymentItem: a payment names several bills, with the amount meant for each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openbss.billing import service as billing
from tests import factories
from tests.amounts import eur

PAYMENTS = "/tmf-api/paymentManagement/v4/payment"


@pytest.fixture
def two_bills(uow, clock):
    """October 71.40 (60.00 + 19 % VAT 11.40) and November 35.70 (30.00 + 5.70) on one account."""
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, "+491510000033")
    bills = []
    for period, month in (("2026-10", 11), ("2026-11", 12)):
        clock.move_to(datetime(2026, month, 1, 6, tzinfo=UTC))
        with uow() as u:
            bills.append(billing.bill_account(u, account.id, period))
    assert [b.gross_total for b in bills] == [eur("71.40"), eur("35.70")]
    return account, bills


def item(bill_id, value=None):
    out = {"item": {"id": str(bill_id)}}
    return {**out, "totalAmount": {"unit": "EUR", "value": value}} if value else out


def test_items_with_amounts_then_oldest_first(client, uow, two_bills):
    account, (october, november) = two_bills
    r = client.post(PAYMENTS, json={"account": {"id": str(account.id)}, "totalAmount": {"unit": "EUR", "value": "60.00"},
                                    "paymentItem": [item(november.id, "35.70"), item(october.id, "10.00")]})
    assert r.status_code == 201, r.text
    # November 35.70 and October 10.00 as named, then the rest 60.00 - 45.70 = 14.30 oldest first: October again
    assert [(i["item"]["id"], i["amount"]["value"]) for i in r.json()["paymentItem"]] == [
        (str(november.id), 35.70), (str(october.id), 24.30)]  # 10.00 + 14.30
    with uow() as u:
        assert billing.get_invoice(u, october.id).amount_paid == eur("24.30")
        assert billing.get_invoice(u, november.id).state == "settled"


@pytest.mark.parametrize("items, field", [
    (lambda o, n: [item(o, "50.00"), item(n, "20.01")], "paymentItem.amount"),  # 70.01 > 70.00 paid
    (lambda o, n: [item(o), item(o)], "paymentItem[1].item.id"),
    (lambda o, n: [item(o, "-1.00")], "paymentItem[0].amount.value"),
    (lambda o, n: [item(o, "1.001")], "paymentItem[0].amount.value"),
])
def test_bad_items_are_422(client, uow, two_bills, items, field):
    account, (october, november) = two_bills
    r = client.post(PAYMENTS, json={"account": {"id": str(account.id)}, "totalAmount": {"unit": "EUR", "value": "70.00"},
                                    "paymentItem": items(october.id, november.id)})
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}=")
    assert client.get(PAYMENTS).json() == []

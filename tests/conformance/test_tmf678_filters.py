"""TMF678 list filters the official kit uses beyond paging and fields (isBilled on applied rates), checked here
with exact counts, since the kit only checks the shape of what comes back."""

from tests.integration.billed_account import billed_october

BASE = "/tmf-api/customerBillManagement/v4"


def test_is_billed_keeps_every_invoice_line_and_unbilled_matches_none(client, uow, clock):
    _, invoice = billed_october(uow, clock)  # three lines: October, November in advance, voice
    billed = client.get(f"{BASE}/appliedCustomerBillingRate", params={"isBilled": "true"})
    assert billed.status_code == 200 and billed.headers["X-Total-Count"] == "3"
    assert [r["id"] for r in billed.json()] == [str(line.id) for line in invoice.lines]
    assert all(r["isBilled"] is True for r in billed.json())
    unbilled = client.get(f"{BASE}/appliedCustomerBillingRate", params={"isBilled": "false", "bill.id": str(invoice.id)})
    assert unbilled.status_code == 200 and unbilled.json() == [] and unbilled.headers["X-Total-Count"] == "0"


def test_is_billed_must_be_a_boolean(client):
    r = client.get(f"{BASE}/appliedCustomerBillingRate", params={"isBilled": "yes"})
    assert r.status_code == 422 and "isBilled" in r.json()["message"] and "'yes'" in r.json()["message"]


def test_id_filter_selects_one_bill_and_one_applied_rate(client, uow, clock):
    _, invoice = billed_october(uow, clock)
    line = invoice.lines[1]  # November in advance, 30.00
    bills = client.get(f"{BASE}/customerBill", params={"id": str(invoice.id)})
    assert bills.headers["X-Total-Count"] == "1" and bills.json()[0]["billNo"] == invoice.number
    rates = client.get(f"{BASE}/appliedCustomerBillingRate", params={"id": str(line.id)})
    assert rates.headers["X-Total-Count"] == "1" and rates.json()[0]["taxExcludedAmount"]["value"] == 30.0
    other = client.get(f"{BASE}/customerBill", params={"id": str(line.id)})  # a line's id names no bill
    assert other.status_code == 200 and other.json() == []
    bad = client.get(f"{BASE}/customerBill", params={"id": "CB-1"})
    assert bad.status_code == 422 and "'CB-1'" in bad.json()["message"]

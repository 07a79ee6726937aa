"""Disputes on a real PostgreSQL: held out of collections while open, resolved with a credit note, or rejected.

The October invoice of tests/integration/billed_account.py: lines 30.00 (October), 30.00 (November in advance),
2.00 (1,000 s of calls); net 62.00, VAT 11.78, gross 73.78.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from openbss.audit import service as audit
from openbss.billing import correction_service as corrections
from openbss.billing import disputes
from openbss.billing import service as billing
from openbss.billing.corrections import LineCredit
from openbss.core.errors import Conflict, InvalidValue
from openbss.ledger import service as ledger
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests.amounts import eur
from tests.integration.billed_account import billed_october
from tests.tmf_spec import spec_errors

BASE = "/tmf-api/customerBillManagement/v4"


def test_an_open_dispute_is_held_out_of_collections_until_it_is_credited(uow, clock):
    account, inv = billed_october(uow, clock)
    calls = inv.lines[2]
    with uow() as u:
        d = disputes.open_dispute(u, inv.id, {calls.id: Decimal("2.00")}, "I made no calls", "customer")
    assert (d.state, d.held) == ("open", eur("2.38"))  # 2.00 + 2.00 x 0.19 = 2.38
    with uow() as u:
        assert disputes.disputed_amount(u, inv.id) == eur("2.38")
        assert [o.remaining for o in billing.open_invoices(u, account.id)] == [eur("71.40")]  # 73.78 - 2.38
        # a payment of the whole bill settles only the collectible part; the rest stays with the customer
        paid = payments.record_payment(u, NewPayment(account.id, eur("73.78")))
        assert ([a.amount for a in paid.allocations], paid.unallocated) == ([eur("71.40")], eur("2.38"))
        assert billing.open_invoices(u, account.id)[0].remaining == eur("0")
    with uow() as u:
        resolved = disputes.resolve_dispute(u, d.id, "network logs show no calls")
        note = corrections.get_credit_note(u, resolved.credit_note_id)
        assert (resolved.state, note.gross_total, note.applied, note.dispute_id) == (
            "resolved", eur("2.38"), eur("2.38"), d.id)
        assert disputes.disputed_amount(u, inv.id) == eur("0")
        invoice = billing.get_invoice(u, inv.id)
        assert (invoice.state, invoice.remaining) == ("settled", eur("0"))  # 71.40 paid + 2.38 credited
        assert ledger.ar_balance(u, account.id) == eur("-2.38")  # 73.78 - 73.78 paid - 2.38 credited
        assert [r["action"] for r in audit.trail(u, d.id)] == ["dispute.opened", "dispute.resolved", "dispute.credited"]


def test_a_rejected_dispute_makes_the_amount_collectible_again(uow, clock):
    account, inv = billed_october(uow, clock)
    with uow() as u:
        d = disputes.open_dispute(u, inv.id, {inv.lines[0].id: Decimal("30.00")}, "never used it", "agent")
        assert billing.open_invoices(u, account.id)[0].remaining == eur("38.08")  # 73.78 - 35.70 (30.00 + 5.70)
    with uow() as u:
        rejected = disputes.reject_dispute(u, d.id, "service was active all month")
        assert (rejected.state, rejected.credit_note_id, rejected.resolution) == (
            "rejected", None, "service was active all month")
        assert billing.open_invoices(u, account.id)[0].remaining == eur("73.78")
    with uow() as u, pytest.raises(Conflict, match="is rejected already"):
        disputes.resolve_dispute(u, d.id, "changed my mind")


def test_a_resolution_credits_the_agreed_amount_at_most_what_was_disputed(uow, clock):
    _, inv = billed_october(uow, clock)
    october = inv.lines[0]
    with uow() as u:
        d = disputes.open_dispute(u, inv.id, {october.id: Decimal("10.00")}, "slow service", "customer")
    with uow() as u, pytest.raises(InvalidValue, match="exceeds the 10.00 EUR disputed"):
        disputes.resolve_dispute(u, d.id, "agreed", {october.id: Decimal("10.01")})
    with uow() as u:
        resolved = disputes.resolve_dispute(u, d.id, "half agreed", {october.id: Decimal("5.00")})
        note = corrections.get_credit_note(u, resolved.credit_note_id)
    assert note.gross_total == eur("5.95")  # 5.00 + 0.95


def test_a_line_cannot_be_disputed_beyond_what_is_left_on_it(uow, clock):
    _, inv = billed_october(uow, clock)
    october = inv.lines[0]
    with uow() as u:
        corrections.issue_credit_note(u, inv.id, [LineCredit(october.id, amount=Decimal("20.00"))], "goodwill")
        disputes.open_dispute(u, inv.id, {october.id: Decimal("6.00")}, "first", "customer")
    with uow() as u, pytest.raises(InvalidValue, match=r"lines\[0\]\.amount=.*only 4.00 EUR of line 1 is left"):
        disputes.open_dispute(u, inv.id, {october.id: Decimal("4.01")}, "second", "customer")
    with uow() as u, pytest.raises(InvalidValue, match="raisedBy='robot'"):
        disputes.open_dispute(u, inv.id, {october.id: Decimal("1")}, "x", "robot")


def test_disputes_through_the_api(client, uow, clock):
    account, inv = billed_october(uow, clock)
    opened = client.post(f"{BASE}/dispute", json={
        "bill": {"id": str(inv.id)}, "reason": "unknown calls", "raisedBy": "customer",
        "disputeLine": [{"appliedCustomerBillingRate": {"id": str(inv.lines[2].id)},
                         "amount": {"unit": "EUR", "value": 2}}]})
    assert opened.status_code == 201, opened.text
    d = opened.json()
    assert (d["state"], d["heldAmount"], d["bill"]["id"]) == ("open", {"unit": "EUR", "value": 2.38}, str(inv.id))
    bill = client.get(f"{BASE}/customerBill/{inv.id}").json()
    assert spec_errors("TMF678-CustomerBill-v4.0.0", "CustomerBill", bill) == []
    bad = client.patch(f"{BASE}/dispute/{d['id']}", json={"state": "open", "resolution": "x"})
    assert bad.status_code == 422 and "state" in bad.text
    resolved = client.patch(f"{BASE}/dispute/{d['id']}", json={"state": "resolved", "resolution": "refunded"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "resolved"
    note = client.get(resolved.json()["creditNote"]["href"].replace("http://testserver", ""))
    assert (note.status_code, note.json()["dispute"]["id"]) == (200, d["id"])
    listed = client.get(f"{BASE}/dispute", params={"billingAccountId": str(account.id), "state": "resolved"})
    assert [x["id"] for x in listed.json()] == [d["id"]]
    again = client.patch(f"{BASE}/dispute/{d['id']}", json={"state": "rejected", "resolution": "x"})
    assert again.status_code == 409

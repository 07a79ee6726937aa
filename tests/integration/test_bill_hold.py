"""Bill holds (TMF678 PATCH customerBill state onHold) on a real PostgreSQL: the bill reports "onHold", collections
leave its whole open amount alone, the invoice row itself never changes, and PATCHing back the state its payments
give releases the hold.

The October invoice of tests/integration/billed_account.py: lines 30.00 (October), 30.00 (November in advance),
2.00 (1,000 s of calls); net 62.00, VAT 11.78, gross 73.78.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import billrun as runs
from openbss.billing import disputes
from openbss.billing import service as billing
from openbss.billing.holds import held_amounts
from openbss.billing.request_tables import bill_hold
from openbss.billing.tables import invoice
from openbss.dunning import service as dunning
from openbss.events.tables import outbox_event
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests.amounts import eur
from tests.integration.billed_account import billed_october

BASE = "/tmf-api/customerBillManagement/v4"
ACTOR = "apikey:test-admin"  # the test client's principal (tests/conftest.py api_key)


def stored_state(engine, invoice_id) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.select(invoice.c.state).where(invoice.c.id == invoice_id)).scalar_one()


def bill_events(engine, invoice_id) -> list[tuple[str, str]]:
    """(event type, state the event shows) of the bill's events, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox_event.c.event_type, outbox_event.c.payload)
                            .where(outbox_event.c.resource_id == invoice_id).order_by(outbox_event.c.id))
        return [(r.event_type, r.payload["event"]["customerBill"]["state"]) for r in rows]


def test_a_held_bill_reports_on_hold_and_collections_leave_it_alone(client, engine, uow, clock):
    account, inv = billed_october(uow, clock)
    r = client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "onHold"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["remainingAmount"]["value"]) == ("onHold", 73.78)
    assert client.get(f"{BASE}/customerBill/{inv.id}").json()["state"] == "onHold"
    assert [b["id"] for b in client.get(f"{BASE}/customerBill", params={"state": "onHold"}).json()] == [str(inv.id)]
    assert client.get(f"{BASE}/customerBill", params={"state": "sent"}).json() == []
    assert stored_state(engine, inv.id) == "sent"  # the issued invoice row is untouched
    with uow() as u:
        assert held_amounts(u, [inv.id]) == {inv.id: Decimal("73.78")}  # the whole open amount: 73.78 - 0 paid
        assert [o.remaining for o in billing.open_invoices(u, account.id)] == [eur("0")]
        overdue = dunning.exposure(u, account.id, "EUR", date(2027, 1, 31))  # long past its due date
        assert (overdue.collectible, overdue.held) == (eur("0"), eur("73.78"))  # dunning has nothing to chase
        # a payment finds nothing collectible: it all stays unallocated, a credit on the account
        paid = payments.record_payment(u, NewPayment(account.id, eur("10.00")))
        assert (paid.allocations, paid.unallocated) == ((), eur("10.00"))
        [action] = [a["action"] for a in audit.trail(u, inv.id) if a["action"].startswith("invoice.held")]
        assert action == "invoice.held"
    assert bill_events(engine, inv.id)[-1] == ("CustomerBillStateChangeEvent", "onHold")
    # holding it again changes nothing: one hold, one event
    events = len(bill_events(engine, inv.id))
    assert client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "onHold"}).json()["state"] == "onHold"
    assert len(bill_events(engine, inv.id)) == events
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(bill_hold)).scalar_one() == 1


def test_a_hold_holds_what_is_left_after_payments_whatever_disputes_hold(client, uow, clock):
    account, inv = billed_october(uow, clock)
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("20.00")))
        disputes.open_dispute(u, inv.id, {inv.lines[2].id: Decimal("2.00")}, "I made no calls", "customer")
        assert held_amounts(u, [inv.id]) == {inv.id: Decimal("2.38")}  # the dispute: 2.00 + 2.00 x 0.19
    assert client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "onHold"}).status_code == 200
    with uow() as u:
        assert held_amounts(u, [inv.id]) == {inv.id: Decimal("53.78")}  # 73.78 - 20.00 paid
        assert billing.open_invoices(u, account.id)[0].remaining == eur("0")
    # released with the state the payments give; the dispute alone holds again
    r = client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "partiallyPaid"})
    assert (r.status_code, r.json()["state"]) == (200, "partiallyPaid")
    with uow() as u:
        assert held_amounts(u, [inv.id]) == {inv.id: Decimal("2.38")}
        assert billing.open_invoices(u, account.id)[0].remaining == eur("51.40")  # 73.78 - 20.00 - 2.38


def test_a_release_returns_the_bill_to_collections(client, engine, uow, clock):
    account, inv = billed_october(uow, clock)
    client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "onHold"})
    wrong = client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "settled"})
    assert wrong.status_code == 422 and "state='settled'" in wrong.json()["message"]
    assert "payments make it sent" in wrong.json()["message"]
    r = client.patch(f"{BASE}/customerBill/{inv.id}", content='{"state": "sent"}',
                     headers={"Content-Type": "application/merge-patch+json"})  # RFC 7396, as TMF630 PATCH names it
    assert (r.status_code, r.json()["state"]) == (200, "sent")
    with uow() as u:
        assert held_amounts(u, [inv.id]) == {}
        assert billing.open_invoices(u, account.id)[0].remaining == eur("73.78")
        actions = [a["action"] for a in audit.trail(u, inv.id) if a["action"].startswith("invoice.h")]
        assert actions == ["invoice.held", "invoice.holdReleased"]
    with engine.connect() as conn:
        hold = conn.execute(sa.select(bill_hold)).one()
    assert (hold.actor, hold.released_by, hold.released_at) == (ACTOR, ACTOR, clock.now())
    assert bill_events(engine, inv.id)[-2:] == [("CustomerBillStateChangeEvent", "onHold"),
                                                ("CustomerBillStateChangeEvent", "sent")]
    # releasing a bill that is not held changes nothing
    assert client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "sent"}).json()["state"] == "sent"
    assert len(bill_events(engine, inv.id)) == 3  # issued, held, released


def test_only_the_state_of_a_bill_can_be_patched(client, uow, clock):
    _, inv = billed_october(uow, clock)
    other = client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "onHold", "billNo": "INV-1"})
    assert other.status_code == 400 and "billNo='INV-1'" in other.json()["message"]
    assert client.get(f"{BASE}/customerBill/{inv.id}").json()["state"] == "sent"  # nothing was held
    missing = client.patch(f"{BASE}/customerBill/{inv.id}", json={"@type": "CustomerBill"})
    assert missing.status_code == 400 and "state is required" in missing.json()["message"]
    bad = client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "validated"})
    assert bad.status_code == 422 and "state='validated'" in bad.json()["message"]


def test_unknown_draft_and_settled_bills_cannot_be_held(client, engine, uow, clock):
    account, inv = billed_october(uow, clock)
    unknown = client.patch(f"{BASE}/customerBill/0190f3a0-0000-7000-8000-000000000000", json={"state": "onHold"})
    assert unknown.status_code == 404
    clock.move_to(datetime(2026, 12, 1, 6, tzinfo=UTC))  # November has closed: its bill run drafts
    with uow("operator") as u:
        run = runs.start_run(u, "2026-11", batch=1)
    runs.drain(engine, run.id, clock=clock, rounding="half_up")
    with engine.connect() as conn:
        draft_id = conn.execute(sa.select(invoice.c.id).where(invoice.c.state == "draft")).scalar_one()
    draft = client.patch(f"{BASE}/customerBill/{draft_id}", json={"state": "onHold"})
    assert draft.status_code == 409 and "draft invoice, not issued yet" in draft.json()["message"]
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("73.78")))
    settled = client.patch(f"{BASE}/customerBill/{inv.id}", json={"state": "onHold"})
    assert settled.status_code == 409 and "is settled: nothing is left to collect" in settled.json()["message"]

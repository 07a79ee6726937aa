"""TMF678 customerBillOnDemand on a real PostgreSQL: every well-formed request is stored (201) and processed at once;
its state says what became of it (billing.on_demand).

Ada of tests/integration/billed_account.py: Mobile M (30.00/month in advance, voice 0.0020/s, 19 % VAT, Europe/
Berlin), billed for October 2026 (with November in advance).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing.request_tables import bill_on_demand
from openbss.billing.tables import invoice
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.ordering import service as ordering
from tests.integration.billed_account import MSISDN, billed_october
from tests.tmf_spec import spec_errors

BASE = "/tmf-api/customerBillManagement/v4"
SPEC = "TMF678-CustomerBill-v4.0.0"


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_request_for_an_unknown_account_is_accepted_and_rejected(client, engine, uow):
    r = client.post(f"{BASE}/customerBillOnDemand", json={"billingAccount": {"id": "A0815"}, "name": "now please"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["state"], made["name"], made["billingAccount"]["id"]) == ("rejected", "now please", "A0815")
    assert made["description"] == "billingAccount.id='A0815' names no billing account"
    assert "customerBill" not in made and spec_errors(SPEC, "CustomerBillOnDemand", made) == []
    assert r.headers["Location"] == made["href"]
    assert client.get(made["href"].replace("http://testserver", "")).json() == made
    assert client.get(f"{BASE}/customerBillOnDemand", params={"state": "rejected"}).json() == [made]
    assert client.get(f"{BASE}/customerBillOnDemand", params={"state": "done"}).json() == []
    assert client.get(f"{BASE}/customerBillOnDemand", params={"id": made["id"]}).headers["X-Total-Count"] == "1"
    with uow() as u:
        [record] = audit.trail(u, made["id"])
    assert (record["action"], record["after"]["state"]) == ("billOnDemand.requested", "rejected")
    assert count(engine, invoice) == 0


def test_a_request_without_a_billing_account_is_a_bad_request(client, engine):
    r = client.post(f"{BASE}/customerBillOnDemand", json={"name": "now"})
    assert r.status_code == 400 and "billingAccount is required" in r.json()["message"]
    assert client.get(f"{BASE}/customerBillOnDemand/0190f3a0-0000-7000-8000-000000000000").status_code == 404
    assert count(engine, bill_on_demand) == 0


def test_an_account_with_live_subscriptions_is_refused_naming_them(client, engine, uow, clock):
    account, _ = billed_october(uow, clock)
    invoices = count(engine, invoice)
    r = client.post(f"{BASE}/customerBillOnDemand", json={"billingAccount": {"id": str(account.id)}})
    assert (r.status_code, r.json()["state"]) == (201, "rejected")
    assert MSISDN in r.json()["description"] and "still has active subscriptions" in r.json()["description"]
    assert r.json()["billingAccount"]["href"].endswith(f"/billingAccount/{account.id}")
    assert count(engine, invoice) == invoices  # nothing billed


def test_a_terminated_account_gets_its_final_bill_once(client, engine, uow, clock):
    account, october = billed_october(uow, clock)
    clock.move_to(datetime(2026, 11, 10, 12, tzinfo=UTC))
    with uow() as u:
        at = datetime(2026, 11, 10, 10, tzinfo=UTC)
        calls = UsageRecord("msc-1", "call-nov", MSISDN, "voice", at, Decimal(10000))
        assert mediation.ingest(u, [calls]).accepted == 1
    clock.move_to(datetime(2026, 11, 15, 23, tzinfo=UTC))  # 2026-11-16 00:00 in Berlin: charged 1 to 15 November
    with uow() as u:
        ordering.cancel_product(u, october.lines[0].product_id)
    clock.move_to(datetime(2026, 11, 17, 9, tzinfo=UTC))
    body = {"billingAccount": {"id": str(account.id)}, "description": "customer leaves"}
    r = client.post(f"{BASE}/customerBillOnDemand", json=body, headers={"Idempotency-Key": "leave-1"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["state"], made["description"]) == ("done", "customer leaves")
    bill = client.get(made["customerBill"]["href"].replace("http://testserver", "")).json()
    assert bill["billingPeriod"]["endDateTime"] == "2026-11-16T00:00:00+01:00"  # cut at the termination
    # November's 30.00 in advance: 15 of 30 days given back, 30.00 x 15/30 = -15.00; calls 10,000 s x 0.0020 = 20.00
    # net -15.00 + 20.00 = 5.00; VAT 5.00 x 0.19 = 0.95; gross 5.95
    assert (bill["taxExcludedAmount"]["value"], bill["taxIncludedAmount"]["value"]) == (5.0, 5.95)
    # the same request again (same key) is answered from the first, nothing billed twice
    again = client.post(f"{BASE}/customerBillOnDemand", json=body, headers={"Idempotency-Key": "leave-1"})
    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (201, made, "true")
    # a new request finds nothing left to bill
    later = client.post(f"{BASE}/customerBillOnDemand", json={"billingAccount": {"id": str(account.id)}}).json()
    assert (later["state"], "customerBill" in later) == ("done", False)
    assert later["description"] == f"billing account {account.number} has nothing left to bill"
    assert (count(engine, bill_on_demand), count(engine, invoice)) == (2, 2)  # October's and the final bill

"""The bill run over several accounts (one with no VAT rate), its idempotency, payments against
invoices, and the TMF678 customerBill / appliedCustomerBillingRate API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from openbss.billing import service as billing
from openbss.core.errors import Conflict
from openbss.core.money import Money
from openbss.events.tables import outbox_event
from tests import factories

BASE = "/tmf-api/customerBillManagement/v4"
SPEC = Path("/work/shared/conformance/tmf/specs/TMF678-CustomerBill-v4.0.0.swagger.json")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def accounts(uow):
    """de and fr each take Mobile M (30.00 EUR) on Oct 1; us has no VAT rate; idle has no product."""
    with uow() as u:
        eur = factories.offering(u)
        usd = factories.offering(u, name="Mobile US", monthly="25.00", currency="USD")
        de = factories.account(u, "Ada")
        fr = factories.account(u, "Blaise", country="FR", time_zone="Europe/Paris")
        us = factories.account(u, "Grace", currency="USD", country="US", time_zone="America/New_York")
        idle = factories.account(u, "Idle")
        factories.subscribe(u, de.id, eur.id, "+491510000001")
        factories.subscribe(u, fr.id, eur.id, "+33600000001")
        factories.subscribe(u, us.id, usd.id, "+12125550001")
    return {"de": de, "fr": fr, "us": us, "idle": idle}


def run(engine, clock, period="2026-10"):
    return billing.run_bill_run(engine, period, clock=clock, rounding="half_up")


def test_bill_run_bills_each_account_reports_the_bad_one_and_is_idempotent(engine, uow, clock, accounts):
    clock.move_to(utc(2026, 11, 1, 6))
    seen = []
    summary = billing.run_bill_run(
        engine, "2026-10", clock=clock, rounding="half_up", on_progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (2, 2) and (4, 4) in seen  # drafting: 4 accounts; issuing: 2 invoices
    assert (summary.accounts, summary.invoices_created, summary.invoices_existing, summary.skipped) == (4, 2, 0, 1)
    assert summary.errors == [(accounts["us"].id, "country='US' has no 'standard' VAT rate configured")]
    assert summary.net == {"EUR": Money.of("120.00", "EUR")}  # (30.00 October + 30.00 November) × 2 accounts
    assert summary.tax == {"EUR": Money.of("23.40", "EUR")}  # 60.00 × 0.19 = 11.40 (DE) + 60.00 × 0.20 = 12.00 (FR)
    assert summary.gross == {"EUR": Money.of("143.40", "EUR")}  # 120.00 + 23.40

    again = run(engine, clock)
    assert (again.invoices_created, again.invoices_existing, again.skipped, len(again.errors)) == (0, 2, 1, 1)
    assert again.gross == summary.gross
    with uow() as u:
        invoices, total = billing.list_invoices(u, {}, 0, 10)
    assert total == 2
    assert sorted(i.number for i in invoices) == ["INV-2026-000001", "INV-2026-000002"]  # no number lost to reruns
    with uow() as u:
        assert billing.bill_account(u, accounts["idle"].id, "2026-10") is None


def test_open_period_is_not_billed(engine, clock, accounts):
    clock.move_to(utc(2026, 10, 31, 22, 30))  # 23:30 in Berlin: October has not closed
    summary = run(engine, clock)
    assert summary.invoices_created == 0 and len(summary.errors) == 4
    assert "cannot be billed before it closes" in summary.errors[0][1]


def test_payments_move_the_invoice_state(engine, uow, clock, accounts):
    clock.move_to(utc(2026, 11, 1, 6))
    run(engine, clock)
    with uow() as u:
        (open_de,) = billing.open_invoices(u, accounts["de"].id)
        # 30.00 October + 30.00 November = 60.00; × 0.19 = 11.40; 60.00 + 11.40 = 71.40
        assert (open_de.gross, open_de.remaining) == (Money.of("71.40", "EUR"), Money.of("71.40", "EUR"))
        billing.apply_payment(u, open_de.id, Money.of("50.00", "EUR"))
    with uow() as u:
        inv = billing.get_invoice(u, open_de.id)
        assert (inv.state, inv.remaining.amount) == ("partiallyPaid", Decimal("21.40"))  # 71.40 − 50.00
        with pytest.raises(Conflict):
            billing.apply_payment(u, open_de.id, Money.of("21.41", "EUR"))
    with uow() as u:
        billing.apply_payment(u, open_de.id, Money.of("21.40", "EUR"))
    with uow() as u:
        assert billing.get_invoice(u, open_de.id).state == "settled"
        assert billing.open_invoices(u, accounts["de"].id) == []
    # One CustomerBillCreateEvent per issued bill, one StateChangeEvent per payment that moved the state.
    with engine.connect() as conn:
        bill_events = conn.execute(
            sa.select(outbox_event.c.event_type, outbox_event.c.payload)
            .where(outbox_event.c.resource_id == open_de.id).order_by(outbox_event.c.id)
        ).all()
    assert [e.event_type for e in bill_events] == [
        "CustomerBillCreateEvent", "CustomerBillStateChangeEvent", "CustomerBillStateChangeEvent"]
    assert [e.payload["event"]["customerBill"]["state"] for e in bill_events] == ["sent", "partiallyPaid", "settled"]


def test_customer_bill_api(engine, clock, client, accounts):
    clock.move_to(utc(2026, 11, 1, 6))
    run(engine, clock)
    r = client.get(f"{BASE}/customerBill", params={"billingAccountId": str(accounts["de"].id)})
    assert r.status_code == 200, r.text
    (bill,) = r.json()
    de = accounts["de"].id
    assert bill == {
        "id": bill["id"],
        "href": f"http://testserver{BASE}/customerBill/{bill['id']}",
        "@type": "CustomerBill",
        "billNo": "INV-2026-000001",
        "billDate": "2026-11-01T00:00:00+01:00",
        "billingPeriod": {"startDateTime": "2026-10-01T00:00:00+02:00", "endDateTime": "2026-11-01T00:00:00+01:00"},
        "paymentDueDate": "2026-11-15T00:00:00+01:00",
        "category": "normal",
        "runType": "onCycle",
        "state": "sent",
        "amountDue": {"unit": "EUR", "value": 71.4},  # 60.00 + 11.40
        "remainingAmount": {"unit": "EUR", "value": 71.4},
        "taxExcludedAmount": {"unit": "EUR", "value": 60.0},  # 30.00 October + 30.00 November in advance
        "taxIncludedAmount": {"unit": "EUR", "value": 71.4},
        "taxItem": [{"taxCategory": "standard", "taxRate": 19.0, "taxAmount": {"unit": "EUR", "value": 11.4}}],
        "billingAccount": {"id": str(de), "href": f"http://testserver/tmf-api/accountManagement/v4/billingAccount/{de}",
                           "@referredType": "BillingAccount"},
        "billDocument": [  # downloads: tests/integration/test_bill_download.py
            {"id": f"{bill['id']}-{fmt}", "name": f"INV-2026-000001.{ext}", "attachmentType": "invoice",
             "description": description, "mimeType": mime,
             "url": f"http://testserver{BASE}/customerBill/{bill['id']}/document.{ext}", "@type": "Attachment"}
            for fmt, ext, mime, description in [
                ("pdf", "pdf", "application/pdf", "Invoice (PDF)"),
                ("ubl", "ubl.xml", "application/xml", "EN 16931 e-invoice, UBL 2.1"),
                ("cii", "cii.xml", "application/xml", "EN 16931 e-invoice, UN/CEFACT CII"),
                ("facturx", "facturx.pdf", "application/pdf", "Factur-X EN 16931 (PDF/A-3 with the CII embedded)"),
            ]
        ],
    }
    spec = json.loads(SPEC.read_text())["definitions"]
    assert set(bill) <= set(spec["CustomerBill"]["properties"])
    assert bill["state"] in spec["stateValue"]["enum"]
    assert client.get(f"{BASE}/customerBill/{bill['id']}").json() == bill

    r = client.get(f"{BASE}/customerBill", params={"limit": 1, "offset": 1, "fields": "billNo"})
    assert (r.headers["X-Total-Count"], r.headers["X-Result-Count"]) == ("2", "1")
    assert [b["billNo"] for b in r.json()] == ["INV-2026-000002"]
    assert client.get(f"{BASE}/customerBill", params={"state": "settled"}).headers["X-Total-Count"] == "0"
    assert client.get(f"{BASE}/customerBill", params={"colour": "red"}).status_code == 422
    assert client.get(f"{BASE}/customerBill/not-a-uuid").status_code == 404
    assert client.get(f"{BASE}/customerBill/{accounts['de'].id}").status_code == 404

    r = client.get(f"{BASE}/appliedCustomerBillingRate", params={"bill.id": bill["id"]})
    assert r.headers["X-Total-Count"] == "2"
    first = r.json()[0]
    assert set(first) <= set(spec["AppliedCustomerBillingRate"]["properties"])
    assert (first["type"], first["bill"]["id"], first["taxExcludedAmount"]) == (
        "recurring", bill["id"], {"unit": "EUR", "value": 30.0})
    assert first["periodCoverage"] == {"startDateTime": "2026-10-01T00:00:00+02:00",
                                       "endDateTime": "2026-11-01T00:00:00+01:00"}
    assert first["appliedTax"] == [{"taxCategory": "standard", "taxRate": 19.0}]
    assert client.get(f"{BASE}/appliedCustomerBillingRate/{first['id']}").json() == first
    assert client.get(f"{BASE}/appliedCustomerBillingRate", params={"bill.id": "x"}).status_code == 422


def _cli():
    import typer

    from openbss.billing.cli import billrun

    app = typer.Typer()
    app.command()(billrun)
    return app


def test_cli_rejects_a_bad_period_with_exit_2():
    from typer.testing import CliRunner

    result = CliRunner().invoke(_cli(), ["--period", "2026-13"])
    assert result.exit_code == 2
    assert "2026-13" in result.output


def test_cli_exits_1_when_an_account_fails(engine, accounts, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setattr("openbss.db.engine.get_engine", lambda settings: engine)
    # On the real clock 2026-10 is either still open (every account fails) or closed (the US account fails).
    result = CliRunner().invoke(_cli(), ["--period", "2026-10"])
    assert result.exit_code == 1, result.output
    assert "bill run 2026-10" in result.output and str(accounts["us"].id) in result.output

"""Bank statements through the HTTP API and the `openbss statement` commands (files written by the test from
the templates in tests/data/bank)."""

from datetime import UTC, datetime

import pytest

from openbss.billing import service as billing
from openbss.cli import app
from openbss.core.money import Money
from tests import factories
from tests.data.bank.render import camt, entry, mt940

BASE = "/tmf-api/paymentManagement/v4"


@pytest.fixture
def bill(uow, clock):
    """One account on Mobile M billed for 2026-10: 60.00 net + 19 % VAT 11.40 = 71.40."""
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, "+4915100000042")
    clock.move_to(datetime(2026, 11, 3, 18, tzinfo=UTC))
    with uow() as u:
        return billing.bill_account(u, account.id, "2026-10")


def test_import_the_queue_and_assign_over_http(client, uow, bill):
    content = camt([entry("71.40", ref="B-1", remittance=["for my phone"]), entry("2.50", credit=False, ref="B-2")])
    r = client.post(f"{BASE}/bankStatement?fileName=nov.xml", content=content,
                    headers={"Content-Type": "application/xml"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["lineCount"] == {"matched": 0, "settled": 0, "unmatched": 1, "listed": 1}
    [statement] = body["bankStatement"]
    assert statement["closingBalance"] == {"unit": "EUR", "value": 1068.90}  # 1000.00 + 71.40 - 2.50
    assert client.get(statement["href"].removeprefix("http://testserver")).json() == statement

    queue = client.get(f"{BASE}/bankStatementLine?status=unmatched")
    assert queue.headers["X-Total-Count"] == "1"
    [line] = queue.json()
    assert (line["reason"], line["remittanceInformation"], line["amount"]) == (
        "unknownReference", "for my phone", {"unit": "EUR", "value": 71.40})
    r = client.post(f"{BASE}/bankStatementLine/{line['id']}/assign", json={"customerBill": {"id": str(bill.id)}})
    assert r.status_code == 200, r.text
    assigned = r.json()
    assert assigned["status"] == "assigned" and assigned["customerBill"]["id"] == str(bill.id)
    paid = client.get(assigned["payment"]["href"].removeprefix("http://testserver")).json()
    assert paid["totalAmount"] == {"unit": "EUR", "value": 71.40}
    with uow() as u:
        assert billing.get_invoice(u, bill.id).state == "settled"

    again = client.post(f"{BASE}/bankStatement", content=content, headers={"Content-Type": "application/xml"})
    assert again.status_code == 409 and "already imported" in again.json()["message"]
    r = client.post(f"{BASE}/bankStatementLine/{line['id']}/dismiss", json={"note": "x"})
    assert r.status_code == 409


def test_malformed_file_over_http_names_the_line(client, bill):
    content = mt940([entry("71,40", ref="B-1", purpose=bill.number)]).replace(b":61:2611031103C", b":61:2611X31103C")
    r = client.post(f"{BASE}/bankStatement", content=content, headers={"Content-Type": "text/plain"})
    assert r.status_code == 422
    assert r.json()["message"].startswith("line 5: :61:=")
    assert client.get(f"{BASE}/bankStatement").headers["X-Total-Count"] == "0"


def test_statement_commands(run_cli, uow, bill, tmp_path):
    path = tmp_path / "nov.sta"
    path.write_bytes(mt940([entry("71,40", ref="B-1", purpose=bill.number), entry("5,00", ref="B-2", purpose="?")]))
    r = run_cli(app, ["statement", "import", str(path)])
    assert r.exit_code == 0, r.output
    assert "matched" in r.output and "unknownReference" in r.output
    with uow() as u:
        assert billing.get_invoice(u, bill.id).amount_paid == Money.of("71.40", "EUR")
    r = run_cli(app, ["statement", "unmatched"])
    assert r.exit_code == 0 and "1 unmatched line(s)" in r.output
    from openbss.reconciliation import service

    with uow() as u:
        [line], _ = service.list_lines(u, {"status": "unmatched"}, 0, 10)
    r = run_cli(app, ["statement", "assign", str(line.id), "--invoice", bill.number])
    assert r.exit_code == 1 and "is not an open bill" in r.output  # the invoice is paid already
    r = run_cli(app, ["statement", "dismiss", str(line.id), "--note", "not a customer of ours"])
    assert r.exit_code == 0 and "dismissed" in r.output
    r = run_cli(app, ["statement", "import", str(path)])
    assert r.exit_code == 1 and "already imported" in r.output

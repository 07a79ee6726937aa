"""Credit notes and debit notes on a real PostgreSQL: numbering at issue, effect on the invoice, ledger, API.

The October invoice of tests/integration/billed_account.py: lines 30.00 (October), 30.00 (November in advance),
2.00 (1,000 s of calls); net 62.00, VAT 11.78, gross 73.78.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import correction_service as corrections
from openbss.billing import disputes
from openbss.billing import service as billing
from openbss.billing.correction_cli import creditnote_app, dispute_app
from openbss.billing.corrections import DebitItem, LineCredit
from openbss.billing.numbers import issue_number
from openbss.billing.tables import credit_note, credit_note_line, debit_note
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.ids import new_id
from openbss.db.uow import unit_of_work
from openbss.ledger import service as ledger
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests.amounts import eur
from tests.integration.billed_account import billed_october
from tests.tmf_spec import spec_errors

BASE = "/tmf-api/customerBillManagement/v4"


def test_a_partial_credit_note_lowers_what_is_open_and_reverses_its_share_of_the_posting(uow, clock):
    account, inv = billed_october(uow, clock)
    november, calls = inv.lines[1], inv.lines[2]
    with uow() as u:
        note = corrections.issue_credit_note(
            u, inv.id, [LineCredit(november.id, quantity=Decimal("0.5")), LineCredit(calls.id, amount=Decimal("0.50"))],
            "Outage from 2026-11-16")
    assert (note.number, note.issue_date, note.invoice_number) == ("CN-2026-000001", date(2026, 11, 1),
                                                                   "INV-2026-000001")
    assert [(line.invoice_line_id, line.net) for line in note.lines] == [
        (november.id, eur("15.00")),  # 30.00 x 0.5
        (calls.id, eur("0.50")),
    ]
    assert (note.net_total, note.tax_total, note.gross_total) == (
        eur("15.50"), eur("2.95"), eur("18.45"))  # 15.50 x 0.19 = 2.945 -> 2.95 (one group); 15.50 + 2.95
    assert (note.applied, note.account_credit) == (eur("18.45"), eur("0"))  # the invoice was unpaid
    with uow() as u:
        invoice = billing.get_invoice(u, inv.id)
        assert (invoice.remaining, invoice.state) == (eur("55.33"), "partiallyPaid")  # 73.78 - 18.45
        assert [o.remaining for o in billing.open_invoices(u, account.id)] == [eur("55.33")]
        assert ledger.ar_balance(u, account.id) == eur("55.33")
        assert ledger.trial_balance(u).balanced
        actions = [r["action"] for r in audit.trail(u, note.id)]
        assert actions[0] == "creditNote.issued"
        assert [r["action"] for r in audit.trail(u, inv.id)][-1] == "invoice.creditApplied"


def test_earlier_credit_notes_count_and_a_full_credit_note_takes_the_rest(uow, clock):
    account, inv = billed_october(uow, clock)
    october = inv.lines[0]
    with uow() as u:
        corrections.issue_credit_note(u, inv.id, [LineCredit(october.id, amount=Decimal("20.00"))], "goodwill")
    with uow() as u, pytest.raises(InvalidValue, match=r"lines\[0\]\.amount=.*only 10.00 EUR of line 1 is left"):
        corrections.issue_credit_note(u, inv.id, [LineCredit(october.id, amount=Decimal("10.01"))], "again")
    with uow() as u:
        rest = corrections.issue_credit_note(u, inv.id, None, "contract cancelled")
    # 10.00 + 30.00 + 2.00 = 42.00 net, VAT 42.00 x 0.19 = 7.98, gross 49.98
    assert [line.net for line in rest.lines] == [eur("10.00"), eur("30.00"), eur("2.00")]
    assert (rest.number, rest.gross_total) == ("CN-2026-000002", eur("49.98"))
    with uow() as u:
        invoice = billing.get_invoice(u, inv.id)
        # 23.80 (20.00 + 3.80) + 49.98 = 73.78: the whole invoice is credited, nothing is open
        assert (invoice.remaining, invoice.state) == (eur("0"), "settled")
        assert billing.open_invoices(u, account.id) == []
        assert ledger.ar_balance(u, account.id) == eur("0")
    with uow() as u, pytest.raises(InvalidValue, match="has nothing left to credit"):
        corrections.issue_credit_note(u, inv.id, None, "a second full credit note")


def test_crediting_a_paid_invoice_leaves_a_credit_balance_on_the_account(uow, clock):
    account, inv = billed_october(uow, clock)
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("73.78")))
        note = corrections.issue_credit_note(u, inv.id, [LineCredit(inv.lines[2].id, amount=Decimal("2.00"))],
                                             "calls billed twice")
        assert (note.applied, note.account_credit) == (eur("0"), eur("2.38"))  # 2.00 + 0.38 VAT
        assert ledger.ar_balance(u, account.id) == eur("-2.38")  # 73.78 - 73.78 - 2.38: the customer holds 2.38
        assert billing.get_invoice(u, inv.id).state == "settled"


def test_a_credit_note_on_a_partly_paid_invoice_settles_the_rest_and_credits_the_excess(uow, clock):
    account, inv = billed_october(uow, clock)
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("70.00")))
        note = corrections.issue_credit_note(u, inv.id, [LineCredit(inv.lines[0].id, amount=Decimal("10.00"))], "x")
    # gross 10.00 + 1.90 = 11.90: 3.78 settles the invoice (73.78 - 70.00), 8.12 is a credit on the account
    assert (note.applied, note.account_credit) == (eur("3.78"), eur("8.12"))
    with uow() as u:
        assert ledger.ar_balance(u, account.id) == eur("-8.12")


def test_the_idempotency_key_returns_the_note_already_issued(uow, clock):
    _, inv = billed_october(uow, clock)
    request = [LineCredit(inv.lines[0].id, amount=Decimal("5.00"))]
    with uow() as u:
        first = corrections.issue_credit_note(u, inv.id, request, "goodwill", idempotency_key="crm-42")
    with uow() as u:
        again = corrections.issue_credit_note(u, inv.id, request, "goodwill", idempotency_key="crm-42")
        assert again == first
        assert u.conn.execute(sa.select(sa.func.count()).select_from(credit_note)).scalar_one() == 1


def test_issued_credit_and_debit_notes_never_change(uow, clock):
    _, inv = billed_october(uow, clock)
    with uow() as u:
        note = corrections.issue_credit_note(u, inv.id, None, "cancelled")
        corrections.issue_debit_note(u, inv.id, [DebitItem("fee", Decimal("1.00"), "standard")], "missed")
    for statement in (sa.update(credit_note).values(reason="edited"), sa.delete(credit_note_line),
                      sa.update(credit_note_line).values(net_amount=1), sa.update(debit_note).values(net_total=2),
                      sa.delete(debit_note)):
        with pytest.raises(sa.exc.IntegrityError, match="immutable|not allowed"), uow() as u:
            u.conn.execute(statement.where(sa.true()))
    with uow() as u:
        assert corrections.get_credit_note(u, note.id).reason == "cancelled"


def _wait_for_a_lock_waiter(engine) -> None:
    """Until another session waits on a lock (bounded: 10 s at most, then the test fails)."""
    for _ in range(1000):
        with engine.connect() as conn:
            waiting = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar_one()
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the second issuer never waited for the first one's number")


def test_concurrent_issuers_get_consecutive_numbers_even_when_one_rolls_back(engine, clock):
    day = date(2026, 11, 2)

    def second_issuer():
        with unit_of_work(engine, actor="second", clock=clock) as u:
            return issue_number(u, "creditNote", day)

    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(RuntimeError), unit_of_work(engine, actor="first", clock=clock) as u:
            assert issue_number(u, "creditNote", day) == "CN-2026-000001"
            waiting = pool.submit(second_issuer)  # blocks on the series row the first transaction holds
            _wait_for_a_lock_waiter(engine)
            raise RuntimeError("the first issuer fails after taking its number: it rolls back")
        assert waiting.result() == "CN-2026-000001"  # the number came back: no gap
    with unit_of_work(engine, actor="third", clock=clock) as u:
        assert issue_number(u, "creditNote", day) == "CN-2026-000002"
        # each document type has its own series per year
        assert issue_number(u, "debitNote", day) == "DN-2026-000001"
        assert issue_number(u, "creditNote", date(2027, 1, 1)) == "CN-2027-000001"


def test_a_debit_note_is_posted_and_collected_like_an_invoice(uow, clock):
    account, inv = billed_october(uow, clock)
    with uow() as u:
        note = corrections.issue_debit_note(u, inv.id, [DebitItem("SIM replacement", Decimal("10.00"), "standard")],
                                            "missed one-time charge")
    # 10.00 + 1.90 VAT = 11.90, due 14 days after its issue date
    assert (note.number, note.gross_total, note.due_date, note.state) == (
        "DN-2026-000001", eur("11.90"), date(2026, 11, 15), "sent")
    with uow() as u:
        assert [(o.number, o.remaining) for o in billing.open_invoices(u, account.id)] == [
            ("INV-2026-000001", eur("73.78")), ("DN-2026-000001", eur("11.90"))]
        assert ledger.ar_balance(u, account.id) == eur("85.68")  # 73.78 + 11.90
        paid = payments.record_payment(u, NewPayment(account.id, eur("85.68")))
        assert [a.amount for a in paid.allocations] == [eur("73.78"), eur("11.90")]
        assert corrections.get_debit_note(u, note.id).state == "settled"
        assert ledger.trial_balance(u).balanced
    with uow() as u, pytest.raises(InvalidValue, match=r"lines\[0\]\.amount"):
        corrections.issue_debit_note(u, inv.id, [DebitItem("x", Decimal("-1"), "standard")], "no")


def test_credit_and_debit_notes_through_the_api(client, uow, clock):
    account, inv = billed_october(uow, clock)
    body = {"bill": {"id": str(inv.id)}, "reason": "Outage",
            "creditNoteLine": [{"appliedCustomerBillingRate": {"id": str(inv.lines[0].id)},
                                "amount": {"unit": "EUR", "value": 10}}]}
    created = client.post(f"{BASE}/creditNote", json=body, headers={"Idempotency-Key": "k1"})
    assert created.status_code == 201, created.text
    note = created.json()
    assert spec_errors("TMF678-CustomerBill-v4.0.0", "CustomerBill", note) == []
    assert (note["billNo"], note["category"], note["@baseType"], note["bill"]["id"]) == (
        "CN-2026-000001", "creditNote", "CustomerBill", str(inv.id))
    assert note["taxIncludedAmount"] == {"unit": "EUR", "value": 11.9}  # 10.00 + 1.90
    replay = client.post(f"{BASE}/creditNote", json=body, headers={"Idempotency-Key": "k1"})
    assert (replay.status_code, replay.json()["id"]) == (201, note["id"])
    listed = client.get(f"{BASE}/creditNote", params={"bill.id": str(inv.id)})
    assert (listed.headers["X-Total-Count"], [n["id"] for n in listed.json()]) == ("1", [note["id"]])
    assert client.get(f"{BASE}/creditNote/{note['id']}").json() == note
    too_much = client.post(f"{BASE}/creditNote", json={**body, "creditNoteLine": [
        {"appliedCustomerBillingRate": {"id": str(inv.lines[0].id)}, "amount": {"unit": "EUR", "value": 20.01}}]})
    assert too_much.status_code == 422
    assert "creditNoteLine[0].amount" in too_much.text and "only 20.00 EUR of line 1 is left" in too_much.text

    debit = client.post(f"{BASE}/debitNote", json={
        "bill": {"id": str(inv.id)}, "reason": "missed charge",
        "debitNoteLine": [{"description": "SIM replacement", "amount": {"unit": "EUR", "value": 10},
                           "taxCategory": "standard"}]})
    assert debit.status_code == 201, debit.text
    assert spec_errors("TMF678-CustomerBill-v4.0.0", "CustomerBill", debit.json()) == []
    assert (debit.json()["billNo"], debit.json()["remainingAmount"]) == ("DN-2026-000001", {"unit": "EUR", "value": 11.9})
    assert client.get(f"{BASE}/debitNote", params={"billingAccountId": str(account.id)}).headers["X-Total-Count"] == "1"
    assert client.get(f"{BASE}/creditNote/{inv.id}").status_code == 404


def test_a_key_reused_for_another_invoice_is_a_conflict(uow, clock):
    _, inv = billed_october(uow, clock)
    with uow() as u:
        corrections.issue_credit_note(u, inv.id, None, "x", idempotency_key="k")
    with uow() as u, pytest.raises(Conflict, match="already used"):
        corrections.issue_credit_note(u, new_id(), None, "x", idempotency_key="k")


def test_credit_notes_and_disputes_from_the_terminal(run_cli, uow, clock):
    _, inv = billed_october(uow, clock)
    issued = run_cli(creditnote_app, ["issue", "INV-2026-000001", "--line", "1=10.00", "--reason", "goodwill"])
    assert issued.exit_code == 0, issued.output
    assert "CN-2026-000001" in issued.output and "11.90" in issued.output  # 10.00 + 1.90 VAT
    refused = run_cli(creditnote_app, ["issue", "INV-2026-000001", "--line", "1=20.01", "--reason", "again"])
    assert refused.exit_code == 1 and "only 20.00 EUR of line 1 is left" in refused.output
    assert run_cli(creditnote_app, ["issue", "INV-2026-000001", "--line", "x", "--reason", "r"]).exit_code == 2
    opened = run_cli(dispute_app, ["open", "INV-2026-000001", "--line", "3=2.00", "--reason", "no calls",
                                   "--by", "customer"])
    assert opened.exit_code == 0, opened.output
    with uow() as u:
        (d,) = disputes.list_disputes(u, {"bill.id": str(inv.id)}, 0, 10)[0]
    rejected = run_cli(dispute_app, ["reject", str(d.id), "--resolution", "calls were made"])
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    listed = run_cli(dispute_app, ["list", "--invoice", "INV-2026-000001"])
    assert listed.exit_code == 0 and "rejected" in listed.output


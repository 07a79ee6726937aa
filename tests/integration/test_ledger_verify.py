"""`openbss ledger verify` and `trial-balance` on a ledger built through the services, and what they catch.

The account: the October invoice of tests/integration/billed_account.py (gross 73.78), then an over-payment,
a credit note, a debit note and a refund of part of the credit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from openbss.billing import correction_service as corrections
from openbss.billing.corrections import DebitItem, LineCredit
from openbss.cli import app
from openbss.core.ids import new_id
from openbss.ledger import service as ledger
from openbss.ledger.model import AR, BANK, JournalEntry, JournalLine
from openbss.ledger.tables import journal_entry
from openbss.ledger.verify import document_receivables, verify
from openbss.party import service as party
from openbss.payments import refunds
from openbss.payments import service as payments
from openbss.payments.refunds import NewRefund
from openbss.payments.service import NewPayment
from tests.amounts import eur
from tests.integration.billed_account import billed_october

D = Decimal
BYPASS_TRIGGERS = sa.text("SET LOCAL session_replication_role = replica")


def busy_account(uow, clock):
    account, inv = billed_october(uow, clock)
    clock.move_to(datetime(2026, 11, 5, 9, tzinfo=UTC))
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("100.00")))  # 73.78 settles the invoice, 26.22 credit
        corrections.issue_credit_note(u, inv.id, [LineCredit(inv.lines[2].id, amount=D("2.00"))], "Calls billed twice")  # 2.00 + 0.38
        corrections.issue_debit_note(u, inv.id, [DebitItem("Router", D("10.00"), "standard")], "Router")  # + 1.90
        refunds.refund(u, NewRefund(account.id, eur("5.00"), reason="asked for part of the credit"))
    return account


def test_verify_passes_when_every_receivable_matches_its_documents(uow, clock, run_cli):
    account = busy_account(uow, clock)
    with uow() as u:
        # 73.78 invoice - 100.00 paid - 2.38 credited + 11.90 debited + 5.00 refunded = -11.70: a credit it holds
        assert document_receivables(u) == {account.id: eur("-11.70")}
        assert ledger.ar_balance(u, account.id) == eur("-11.70")
        result = verify(u)
    assert (result.ok, result.accounts) == (True, 1)
    out = run_cli(app, ["ledger", "verify"])
    assert out.exit_code == 0, out.output
    assert "balanced, chain intact, 1 account receivables match" in out.output

    tb = run_cli(app, ["ledger", "trial-balance"], env={"COLUMNS": "200"})
    assert tb.exit_code == 0, tb.output
    # AR debits: 73.78 + 11.90 + 5.00 = 90.68; credits: 100.00 + 2.38 = 102.38
    assert "Accounts receivable" in tb.output and "90.68" in tb.output and "102.38" in tb.output
    assert "balanced" in tb.output


def test_an_entry_without_a_document_is_named_with_the_account_expected_and_found(uow, clock, run_cli):
    account = busy_account(uow, clock)
    with uow() as u:
        number = party.get_billing_account(u, account.id).number
        # Balanced and chained, so only the document check can see it: 5.00 of AR nobody invoiced.
        ledger.post(u, JournalEntry("manual", new_id(), account.id, "EUR", u.now(), "stray",
                                    (JournalLine(AR, D("5.00"), D(0)), JournalLine(BANK, D(0), D("5.00")))))
    with uow() as u:
        (first,) = verify(u).discrepancies
    assert (first.check, first.expected, first.found) == (
        "receivable", "AR -11.70 EUR (its documents)", "AR -6.70 EUR (the journal)")  # -11.70 + 5.00
    assert number in first.subject
    out = run_cli(app, ["ledger", "verify"])
    assert out.exit_code == 1
    assert f"receivable: billing account {number}" in out.output
    assert "expected AR -11.70 EUR (its documents), found AR -6.70 EUR (the journal)" in out.output


def test_a_changed_entry_is_named_by_its_seq(uow, clock, engine, run_cli):
    busy_account(uow, clock)
    with engine.begin() as conn:
        conn.execute(BYPASS_TRIGGERS)
        conn.execute(sa.update(journal_entry).where(journal_entry.c.seq == 1).values(description="Invoice X"))
    with uow() as u:
        (first,) = verify(u).discrepancies
    assert first.check == "chain"
    assert first.found == "entry seq 1 (Invoice X) does not match its hash: it was changed"
    out = run_cli(app, ["ledger", "verify"])
    assert out.exit_code == 1 and "entry seq 1 (Invoice X) does not match its hash" in out.output

"""Corrections over three months: a partial credit note, a dispute held out of collections and credited, a debit
note; amounts worked out by hand. Every document issued is validated as UBL and CII by the conftest hook.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) subscribes to "Mobile M" (30.00 EUR a month in advance,
voice 0.0020 EUR/s, data 0.01 EUR per 1,000,000 bytes) on 2026-10-10.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from openbss.billing import correction_service as corrections
from openbss.billing import disputes
from openbss.billing import service as billing
from openbss.billing.corrections import DebitItem, LineCredit
from openbss.ledger import service as ledger
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests import factories
from tests.amounts import eur
from tests.scenarios.billing_steps import bill, invoice_of, totals, utc

MSISDN = "+491511234599"
_keys = itertools.count(1)


def use(u, usage_type: str, at, quantity: int) -> None:
    assert mediation.ingest(u, [UsageRecord("msc-1", f"c{next(_keys)}", MSISDN, usage_type, at,
                                            Decimal(quantity))]).accepted == 1


def books(uow, account_id):
    """(AR balance, the journal balances, the chain is intact)."""
    with uow() as u:
        trial = ledger.trial_balance(u)
        return ledger.ar_balance(u, account_id), trial.balanced, trial.chain_ok


def test_credit_note_dispute_and_debit_note_over_three_months(engine, uow, clock):
    clock.move_to(utc(2026, 10, 10, 8))
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, MSISDN)
    clock.move_to(utc(2026, 10, 31, 12))
    with uow() as u:
        use(u, "voice", utc(2026, 10, 12, 9), 3725)
        use(u, "data", utc(2026, 10, 20, 18), 2_345_678_901)

    # October's bill.
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, account.id, date(2026, 10, 1))
    assert [line.net.amount for line in october.lines] == [
        Decimal("21.29"),  # 30.00 x 22/31 (Oct 10 to 31) = 21.290… -> 21.29
        Decimal("30.00"),  # November in advance
        Decimal("23.46"),  # 2,345,678,901 / 1,000,000 x 0.01 = 23.4567… -> 23.46
        Decimal("7.45"),  # 3,725 s x 0.0020
    ]
    assert totals(october) == (Decimal("82.20"), Decimal("15.62"), Decimal("97.82"))  # 82.20 x 0.19 = 15.618

    # Nov 3: ten days of November lost to an outage: a partial credit note on the November line.
    clock.move_to(utc(2026, 11, 3, 10))
    with uow() as u:
        cn1 = corrections.issue_credit_note(u, october.id, [LineCredit(october.lines[1].id, amount=Decimal("10.00"))],
                                            "Outage 2026-11-01 to 2026-11-10")
    assert (cn1.number, cn1.issue_date, cn1.invoice_number) == ("CN-2026-000001", date(2026, 11, 3),
                                                                "INV-2026-000001")
    assert [(t.tax_rate, t.taxable.amount, t.tax.amount) for t in cn1.taxes] == [
        (Decimal("0.19"), Decimal("10.00"), Decimal("1.90"))]  # 19 %: 10.00 x 0.19 = 1.90
    assert (cn1.net_total, cn1.tax_total, cn1.gross_total) == (eur("10.00"), eur("1.90"), eur("11.90"))
    assert books(uow, account.id) == (eur("85.92"), True, True)  # 97.82 - 11.90

    clock.move_to(utc(2026, 11, 5, 10))
    with uow() as u:
        paid = payments.record_payment(u, NewPayment(account.id, eur("85.92")))
        assert (paid.allocations[0].amount, paid.unallocated) == (eur("85.92"), eur("0"))
        assert billing.get_invoice(u, october.id).state == "settled"  # 85.92 paid + 11.90 credited = 97.82
    assert books(uow, account.id) == (eur("0"), True, True)

    clock.move_to(utc(2026, 11, 30, 12))
    with uow() as u:
        use(u, "voice", utc(2026, 11, 6, 9), 600)
        use(u, "data", utc(2026, 11, 7, 9), 500_000_000)

    # November's bill: the credit note changed nothing of what billing bills next.
    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, account.id, date(2026, 11, 1))
    assert november.number == "INV-2026-000002"
    assert [line.net.amount for line in november.lines] == [
        Decimal("30.00"),  # December in advance
        Decimal("5.00"),  # 500,000,000 / 1,000,000 x 0.01
        Decimal("1.20"),  # 600 s x 0.0020
    ]
    assert totals(november) == (Decimal("36.20"), Decimal("6.88"), Decimal("43.08"))  # 36.20 x 0.19 = 6.878

    # Dec 3: Ada disputes the calls; their gross is held out of collections.
    clock.move_to(utc(2026, 12, 3, 9))
    calls = november.lines[2]
    with uow() as u:
        dispute = disputes.open_dispute(u, november.id, {calls.id: Decimal("1.20")}, "I made no calls", "customer")
        assert dispute.held == eur("1.43")  # 1.20 + 1.20 x 0.19 = 1.20 + 0.228 -> 0.23
        assert [o.remaining for o in billing.open_invoices(u, account.id)] == [eur("41.65")]  # 43.08 - 1.43

    clock.move_to(utc(2026, 12, 4, 9))
    with uow() as u:  # a direct debit of the whole bill collects only what is not disputed
        paid = payments.record_payment(u, NewPayment(account.id, eur("41.65")))
        assert [a.amount for a in paid.allocations] == [eur("41.65")]
        assert billing.get_invoice(u, november.id).remaining == eur("1.43")  # held, not collectible
        assert billing.open_invoices(u, account.id)[0].remaining == eur("0")
    assert books(uow, account.id) == (eur("1.43"), True, True)  # 43.08 - 41.65

    # Dec 10: the dispute is resolved in Ada's favour with a credit note for the calls.
    clock.move_to(utc(2026, 12, 10, 9))
    with uow() as u:
        resolved = disputes.resolve_dispute(u, dispute.id, "no calls in the network logs")
        cn2 = corrections.get_credit_note(u, resolved.credit_note_id)
        assert (resolved.state, cn2.number, cn2.gross_total, cn2.applied) == (
            "resolved", "CN-2026-000002", eur("1.43"), eur("1.43"))  # 1.20 + 0.23
        assert billing.get_invoice(u, november.id).state == "settled"  # 41.65 paid + 1.43 credited = 43.08
        assert billing.open_invoices(u, account.id) == []
    assert books(uow, account.id) == (eur("0"), True, True)

    # Dec 12: a SIM replacement was never charged: a debit note on November's bill.
    clock.move_to(utc(2026, 12, 12, 9))
    with uow() as u:
        dn = corrections.issue_debit_note(u, november.id, [DebitItem("SIM replacement", Decimal("15.00"), "standard")],
                                          "Missed one-time charge")
    assert (dn.number, dn.net_total, dn.tax_total, dn.gross_total) == (
        "DN-2026-000001", eur("15.00"), eur("2.85"), eur("17.85"))  # 15.00 x 0.19 = 2.85; 15.00 + 2.85
    assert dn.due_date == date(2026, 12, 26)  # issued Dec 12 + 14 days
    assert books(uow, account.id) == (eur("17.85"), True, True)

    # December's bill opens the 2027 series.
    bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    december = invoice_of(uow, account.id, date(2026, 12, 1))
    assert december.number == "INV-2027-000001"
    assert totals(december) == (Decimal("30.00"), Decimal("5.70"), Decimal("35.70"))  # January in advance
    assert books(uow, account.id) == (eur("53.55"), True, True)  # 17.85 + 35.70
    with uow() as u:
        assert [(o.number, o.remaining) for o in billing.open_invoices(u, account.id)] == [
            ("DN-2026-000001", eur("17.85")), ("INV-2027-000001", eur("35.70"))]

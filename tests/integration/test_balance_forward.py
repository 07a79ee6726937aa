"""The balance an invoice brings forward: what the account owed (or held as credit) when it was issued, shown on
the PDF beside the invoice's own total, read from the append-only journal (the same at every rendering).

Mobile at 30.00 EUR a month from 2026-10-01 (DE, 19 % VAT): the October invoice bills October and November in
advance, 60.00 + 11.40 VAT = 71.40; the November invoice bills December, 30.00 + 5.70 = 35.70."""

from __future__ import annotations

from openbss.billing import service as billing
from openbss.billing.documents import pdf, ubl
from openbss.billing.documents.context import document_of
from openbss.core.money import Money
from openbss.payments.service import NewPayment, record_payment
from tests.integration.invoice_documents import billed_month, set_seller, utc
from tests.integration.test_invoice_pdf import text_of


def _second_invoice(uow, clock, first, paid: str):
    with uow() as u:
        record_payment(u, NewPayment(first.account_id, Money.of(paid, "EUR")))
    clock.move_to(utc(2026, 12, 1, 6))
    with uow() as u:
        return billing.bill_account(u, first.account_id, "2026-11")


def _pdf_text(uow, invoice_id) -> str:
    with uow() as u:
        return text_of(pdf.render_pdf(pdf.printable_of(u, invoice_id)))


def test_an_unpaid_balance_is_brought_forward_onto_the_next_invoice(engine, uow, clock):
    set_seller(uow)
    first = billed_month(engine, uow, clock)
    assert first.gross_total == Money.of("71.40", "EUR")
    second = _second_invoice(uow, clock, first, "20.00")
    assert second.gross_total == Money.of("35.70", "EUR")
    with uow() as u:
        assert document_of(u, first.id).balance_forward == Money.of("0.00", "EUR")  # the account's first bill
        doc = document_of(u, second.id)
    assert doc.balance_forward == Money.of("51.40", "EUR")  # 71.40 billed - 20.00 paid
    assert doc.balance_after == Money.of("87.10", "EUR")  # 51.40 + 35.70
    text = _pdf_text(uow, second.id)
    assert "Saldovortrag 51,40 €" in text and "Diese Rechnung 35,70 €" in text and "Kontostand 87,10 €" in text
    assert "Saldovortrag" not in _pdf_text(uow, first.id)  # nothing to bring forward: no account summary


def test_a_credit_is_brought_forward_as_a_negative_balance_and_stays_out_of_the_e_invoice(engine, uow, clock):
    set_seller(uow)
    first = billed_month(engine, uow, clock)
    second = _second_invoice(uow, clock, first, "100.00")  # 71.40 due: 28.60 over-paid, a credit
    with uow() as u:
        doc = document_of(u, second.id)
        xml = ubl.to_ubl(doc)
    assert doc.balance_forward == Money.of("-28.60", "EUR")
    assert doc.balance_after == Money.of("7.10", "EUR")  # -28.60 + 35.70
    assert "Saldovortrag -28,60 €" in _pdf_text(uow, second.id)
    # EN 16931 has no earlier balances (BR-CO-16: due = total - paid + rounding): the e-invoice keeps its own.
    assert b"<cbc:PayableAmount currencyID=\"EUR\">35.70</cbc:PayableAmount>" in xml

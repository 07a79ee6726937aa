"""The e-mail of a credit or debit note (pure: `billing.invoice_email`): subject and body per kind and language,
naming the corrected invoice; a credit note credits, a debit note asks for payment. Every language has every label.

The note of every test corrects INV-2026-000001 of 2026-11-01 with one line of 15.50 net at 19 %: VAT 15.50 x 0.19
= 2.945 -> 2.95, gross 18.45 (a debit note is due 2026-11-15)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from openbss.billing.documents.context import CREDIT_NOTE, DEBIT_NOTE, Buyer, PrecedingInvoice, build_document
from openbss.billing.invoice_email import MAIL_LABELS, body, compose, subject
from openbss.billing.model import Invoice, InvoiceLine, vat_breakdown
from openbss.core.money import Money
from openbss.seller.model import PostalAddress
from tests.einvoicing import SELLER

SENDER = "billing@nordwind.example"


def note(type_code: str, number: str, country: str = "FR"):
    line = InvoiceLine(uuid.uuid4(), 1, "recurring", "Credit: Mobile M", None, None, None, Decimal(1), "each", None,
                       None, Money.of("15.50", "EUR"), "standard", Decimal("0.19"))
    taxes = vat_breakdown([line], "EUR", "half_up")
    tax = taxes[0].tax
    assert tax == Money.of("2.95", "EUR")  # 15.50 x 0.19 = 2.945 -> 2.95
    shaped = Invoice(uuid.uuid4(), number, uuid.uuid4(), date(2026, 10, 1), date(2026, 11, 1), date(2026, 11, 1),
                     date(2026, 11, 15), "Europe/Paris", "EUR", line.net, tax, line.net + tax, Money.zero("EUR"),
                     "sent", datetime(2026, 11, 1, tzinfo=UTC), (line,), taxes)
    buyer = Buyer("Marie Curie", PostalAddress(country), "ACC-000001", email="marie@example.org")
    return build_document(shaped, SELLER, buyer, type_code=type_code,
                          preceding=[PrecedingInvoice("INV-2026-000001", date(2026, 11, 1))])


def test_a_credit_note_in_french_credits_against_the_invoice():
    doc = note(CREDIT_NOTE, "CN-2026-000001")
    assert subject(doc, "fr") == f"Votre avoir CN-2026-000001 de {SELLER.trading_name}"  # as customers know it
    text = body(doc, "fr").replace("\u202f", " ").replace("\xa0", " ")
    assert "veuillez trouver ci-joint votre avoir CN-2026-000001 du 1 nov. 2026 sur la facture INV-2026-000001 du " \
           "1 nov. 2026." in text
    assert "Le montant de 18,45 € vous est crédité au titre de la facture INV-2026-000001." in text  # 15.50 + 2.95
    assert "Merci de régler" not in text


def test_a_debit_note_in_english_asks_for_payment_by_its_due_date():
    doc = note(DEBIT_NOTE, "DN-2026-000001", country="GB")
    assert subject(doc, "en") == f"Your debit note DN-2026-000001 from {SELLER.trading_name}"
    text = body(doc, "en")
    assert "please find attached your debit note DN-2026-000001 of 1 Nov 2026 for invoice INV-2026-000001 of " \
           "1 Nov 2026." in text
    assert "Please pay €18.45 by 15 Nov 2026." in text


@pytest.mark.parametrize(("type_code", "kind"), [(CREDIT_NOTE, "creditNote"), (DEBIT_NOTE, "debitNote")])
def test_a_notes_message_id_names_its_kind(type_code, kind):
    doc = note(type_code, "XN-2026-000001")
    msg = compose(doc, "en", sender=SENDER, recipient="marie@example.org", at=datetime(2026, 11, 1, 9, tzinfo=UTC),
                  attachments=[("XN-2026-000001.pdf", "application/pdf", b"%PDF-1.7")])
    assert msg["Message-ID"] == f"<{kind}.{doc.invoice.id}@nordwind.example>"
    assert [a.get_filename() for a in msg.iter_attachments()] == ["XN-2026-000001.pdf"]


def test_every_language_has_every_mail_label():
    assert {lang: set(labels) for lang, labels in MAIL_LABELS.items()} == {lang: set(MAIL_LABELS["en"])
                                                                           for lang in MAIL_LABELS}

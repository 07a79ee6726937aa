"""Invoice PDFs (WeasyPrint, Babel en/de/fr) with the call detail appendix, and Factur-X (PDF/A-3b with the CII
embedded), read back with pypdf and validated with the EN 16931 rules.

The invoice of every test: Mobile at 1,000.00 EUR a month from 2026-10-01, billed on Nov 1 for October: October
and November in advance (2 × 1,000.00) plus three calls at 0.0020 EUR a second (95 s = 0.19, 61 s = 0.122,
3,725 s = 7.45; together 7.762, billed 7.76): net 2,007.76 EUR."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from openbss.billing import service as billing
from openbss.billing.documents import facturx, pdf
from openbss.billing.documents.cii import to_cii
from openbss.billing.documents.context import VatGroup
from openbss.billing.documents.i18n import LABELS, Formatter, document_language
from openbss.billing.documents.validation import fatal, validate
from openbss.core.money import Money
from tests.integration.invoice_documents import billed_month, set_seller, utc

CALLS = [  # (start, seconds, destination): 10:00, 11:30 and 20:15 in Berlin (UTC+2 until Oct 25, then UTC+1)
    (utc(2026, 10, 5, 8, 0, 0), 95, "+493012345678"),
    (utc(2026, 10, 20, 9, 30, 0), 61, "+33140000000"),
    (utc(2026, 10, 28, 19, 15, 0), 3725, "+4989765432"),
]


def text_of(content: bytes) -> str:
    """The PDF's text, with the no-break spaces Babel puts in amounts ("2.389,23\u00a0€") as plain spaces."""
    pages = PdfReader(io.BytesIO(content)).pages
    return "\n".join(p.extract_text() for p in pages).replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
def invoiced(engine, uow, clock):
    def make(**kwargs):
        set_seller(uow)
        return billed_month(engine, uow, clock, monthly="1000.00", calls=CALLS, **kwargs)

    return make


def render(uow, invoice_id, **kwargs) -> bytes:
    with uow() as u:
        printable = pdf.printable_of(u, invoice_id, **kwargs)
    return pdf.render_pdf(printable)


def test_german_invoice_has_number_lines_totals_payment_and_the_call_detail(uow, invoiced):
    inv = invoiced()  # a DE account: German
    assert inv.gross_total == Money.of("2389.23", "EUR")  # 2,007.76 + 19 % VAT 381.4744 -> 381.47
    text = text_of(render(uow, inv.id))
    assert f"Rechnung {inv.number}" in text
    assert "Rechnungsdatum 01.11.2026" in text and "Fällig am 15.11.2026" in text  # 14 days' payment terms
    assert "Abrechnungszeitraum 01.10.2026 – 31.10.2026" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "Mobile Ada Lovelace, 2026-10-01 to 2026-10-31 01.10.26 – 31.10.26 1 Monat 19 % 1.000,00 €" in lines
    assert "Mobile Ada Lovelace, voice usage 1:04:41 19 % 7,76 €" in lines  # 95 + 61 + 3,725 = 3,881 s; 7.762
    assert "Summe netto 2.007,76 €" in text  # 1,000.00 + 1,000.00 + 7.76
    assert "USt. 19 % · Bemessungsgrundlage 2.007,76 € 381,47 €" in text
    assert "Gesamtbetrag 2.389,23 €" in text  # 2,007.76 + 381.47
    assert "Offener Betrag 2.389,23 €" in text
    assert "Bitte zahlen Sie 2.389,23 € bis zum 15.11.2026." in text
    assert "IBAN DE89 3704 0044 0532 0130 00" in text and "BIC COBADEFFXXX" in text
    assert f"Verwendungszweck {inv.number}" in text
    assert "Nordwind Telekom GmbH" in text and "USt-IdNr.: DE136695976" in text
    # The appendix: every call, at its time in Berlin, with destination, duration and charge as rated.
    assert "Einzelverbindungsnachweis" in text
    assert "Anschluss +4915100000001 · 3 Verbindungen, 7,76 €" in text  # 0.19 + 0.122 + 7.45 = 7.762
    assert "05.10.26 10:00:00 +493012345678 Gespräch 1:35 0,19 €" in lines  # 08:00Z is 10:00 CEST
    assert "20.10.26 11:30:00 +33140000000 Gespräch 1:01 0,122 €" in lines  # 61 × 0.0020 keeps its 3 decimals
    assert "28.10.26 20:15:00 +4989765432 Gespräch 1:02:05 7,45 €" in lines  # 19:15Z is 20:15 CET (after Oct 25)


def test_french_invoice_formats_amounts_and_dates_the_french_way(uow, invoiced):
    inv = invoiced(name="Blaise Pascal", country="FR", time_zone="Europe/Paris", msisdn="+33600000001")
    text = text_of(render(uow, inv.id))
    assert f"Facture {inv.number}" in text
    assert "Date de facture 1 nov. 2026" in text
    assert "Total HT 2 007,76 €" in text  # 1,000.00 + 1,000.00 + 7.76
    assert "Total TVA 401,55 €" in text  # 2,007.76 × 20 % = 401.552
    assert "Total TTC 2 409,31 €" in text  # 2,007.76 + 401.55
    assert "TVA 20 %" in text
    assert "Détail des communications" in text
    assert "Ligne +33600000001 · 3 communications, 7,76 €" in text


def test_english_for_other_countries_and_a_preferred_language_wins(uow, invoiced, engine, clock):
    inv = invoiced(name="Grace Hopper", country="GB", time_zone="Europe/London", msisdn="+447700900001")
    text = text_of(render(uow, inv.id))
    assert f"Invoice {inv.number}" in text
    assert "Total €2,409.31" in text  # en_GB: 2,007.76 + 20 % VAT 401.55
    assert "Invoice date 1 Nov 2026" in text
    assert "Call detail" in text
    assert document_language("DE", [{"name": "preferredLanguage", "value": "fr-FR"}]) == "fr"
    assert document_language("FR", [{"name": "language", "value": "it"}]) == "fr"  # no Italian documents: country
    assert document_language("AT") == "de" and document_language("NL") == "en" and document_language(None) == "en"


def test_a_customers_preferred_language_is_used(uow, invoiced):
    inv = invoiced(characteristic=[{"name": "preferredLanguage", "value": "fr"}])  # a DE account, in French
    text = text_of(render(uow, inv.id))
    assert f"Facture {inv.number}" in text and "Total TTC 2 389,23 €" in text  # German VAT, French words


def test_payments_show_as_paid_and_the_rest_as_due(uow, invoiced):
    inv = invoiced()
    with uow() as u:
        billing.apply_payment(u, inv.id, Money.of("1000.00", "EUR"))
    text = text_of(render(uow, inv.id, language="en"))  # English as written in Germany (CLDR en_DE)
    assert "Amount paid 1.000,00 €" in text
    assert "Amount due 1.389,23 €" in text  # 2,389.23 - 1,000.00
    assert "Please pay 1.389,23 € by 15 Nov 2026." in text


def test_the_call_detail_is_capped_and_can_be_left_out(uow, invoiced):
    inv = invoiced()
    capped = text_of(render(uow, inv.id, language="en", call_detail_limit=2))
    assert "The first 2 of 3 records are listed." in capped
    assert "+493012345678" in capped and "+33140000000" in capped and "+4989765432" not in capped
    without = text_of(render(uow, inv.id, call_detail_limit=0))
    assert "Einzelverbindungsnachweis" not in without and "+493012345678" not in without
    assert "Gesamtbetrag 2.389,23 €" in without


def test_reverse_charge_and_exemptions_are_written_in_the_notes(uow, invoiced):
    inv = invoiced()
    with uow() as u:
        printable = pdf.printable_of(u, inv.id)
    eur = Money.zero("EUR")
    doc = replace(printable.doc, vat_groups=(
        VatGroup("AE", Decimal(0), eur, eur, "Reverse charge", "VATEX-EU-AE"),
        VatGroup("E", Decimal(0), eur, eur, "Medical care, § 4 Nr. 14 UStG"),
    ))
    f = Formatter.of("de", "DE", "Europe/Berlin")
    assert pdf.notes(doc, f) == [LABELS["de"]["reverse_charge_note"], "Steuerbefreit: Medical care, § 4 Nr. 14 UStG"]
    text = text_of(pdf.render_pdf(replace(printable, doc=doc)))
    assert "Steuerschuldnerschaft des Leistungsempfängers" in text


def test_every_language_has_every_label():
    assert {lang: set(labels) for lang, labels in LABELS.items()} == {lang: set(LABELS["en"]) for lang in LABELS}


def test_facturx_embeds_the_cii_which_round_trips_and_validates(uow, invoiced):
    inv = invoiced()
    with uow() as u:
        printable = pdf.printable_of(u, inv.id)
    content = facturx.to_facturx(printable)
    reader = PdfReader(io.BytesIO(content))
    assert reader.pdf_header == "%PDF-1.7"
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp.replace(" ", "") or 'pdfaid:part="3"' in xmp  # PDF/A-3
    assert "factur-x.xml" in xmp.lower() or "EN 16931" in xmp
    xml = facturx.embedded_xml(content)
    assert xml == to_cii(printable.doc)
    assert fatal(validate(xml, "cii")) == []
    assert f"Rechnung {inv.number}" in text_of(content)

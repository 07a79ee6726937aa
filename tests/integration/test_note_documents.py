"""Credit notes and debit notes as documents, like invoices: PDF (en, de, fr), Factur-X, e-mail through a real SMTP
peer, TMF678-style download with ETag and 304, and `openbss invoice export` of every issued document.

The October invoice of tests/integration/billed_account.py (INV-2026-000001, issued 2026-11-01): lines 30.00
(October), 30.00 (November in advance), 2.00 (1,000 s of calls); net 62.00, VAT 11.78, gross 73.78. Corrected on
2026-11-01 by
- CN-2026-000001: half of November (30.00 x 0.5 = 15.00) and 0.50 of the calls: net 15.50, VAT 15.50 x 0.19 =
  2.945 -> 2.95, gross 18.45;
- DN-2026-000001: a missed SIM replacement fee of 10.00: VAT 10.00 x 0.19 = 1.90, gross 11.90, due 2026-11-15
  (14 days' payment terms).
"""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from lxml import etree
from pypdf import PdfReader

from openbss.billing import bill_documents, delivery
from openbss.billing import correction_service as corrections
from openbss.billing.corrections import DebitItem, LineCredit
from openbss.billing.delivery_tables import bill_document
from openbss.billing.documents import cii, facturx, pdf
from openbss.billing.documents.validation import fatal, validate
from openbss.cli import app
from openbss.core.money import Money
from openbss.jobs.invoice_mail import MailReport
from tests.integration.billed_account import billed_october
from tests.integration.invoice_documents import SELLER, set_seller
from tests.integration.smtp_sink import received, send, smtp_sink_fixture  # noqa: F401 - the fixture

BASE = "/tmf-api/customerBillManagement/v4"
CII_NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
          "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def text_of(content: bytes) -> str:
    """The PDF's text, with the no-break spaces Babel puts in amounts ("18,45\u00a0€") as plain spaces."""
    pages = PdfReader(io.BytesIO(content)).pages
    return "\n".join(p.extract_text() for p in pages).replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
def corrected(uow, clock):
    """(invoice, credit note, debit note): see the module docstring."""
    set_seller(uow)
    _, inv = billed_october(uow, clock)
    november, calls = inv.lines[1], inv.lines[2]
    with uow() as u:
        credit = corrections.issue_credit_note(
            u, inv.id, [LineCredit(november.id, quantity=Decimal("0.5")), LineCredit(calls.id, amount=Decimal("0.50"))],
            "Outage from 2026-11-16")
        debit = corrections.issue_debit_note(u, inv.id, [DebitItem("SIM replacement", Decimal("10.00"), "standard")],
                                             "missed fee")
    assert (credit.number, credit.gross_total) == ("CN-2026-000001", Money.of("18.45", "EUR"))
    assert (debit.number, debit.gross_total) == ("DN-2026-000001", Money.of("11.90", "EUR"))
    return inv, credit, debit


def printable(uow, kind, note_id, **kwargs):
    with uow() as u:
        return pdf.printable_of(u, note_id, kind=kind, **kwargs)


def test_a_credit_note_pdf_names_the_invoice_it_corrects_and_credits_instead_of_asking_for_payment(uow, corrected):
    inv, credit, _ = corrected
    text = text_of(pdf.render_pdf(printable(uow, "creditNote", credit.id)))  # a DE account: German
    assert "Rechnungskorrektur CN-2026-000001" in text
    assert "Nummer der Rechnungskorrektur CN-2026-000001" in text
    assert "Ausstellungsdatum 01.11.2026" in text
    assert "Ursprungsrechnung INV-2026-000001 vom 01.11.2026" in text
    assert "Credit: Mobile" in text  # the lines, named after the credited invoice lines
    assert "15,00 €" in text and "0,50 €" in text  # 30.00 x 0.5 and the 0.50 of calls, positive
    assert "Summe netto 15,50 €" in text
    assert "Summe USt. 2,95 €" in text  # 15.50 x 0.19 = 2.945 -> 2.95
    assert "Gesamtbetrag der Korrektur 18,45 €" in text  # 15.50 + 2.95
    assert "18,45 € werden Ihnen zur Rechnung INV-2026-000001 gutgeschrieben." in text
    for invoice_only in ("Fällig am", "Bitte zahlen", "Offener Betrag", "Rechnungsnummer"):
        assert invoice_only not in text
    assert inv.number != credit.number


def test_credit_and_debit_notes_in_english_and_french(uow, corrected):
    _, credit, debit = corrected
    english = text_of(pdf.render_pdf(printable(uow, "creditNote", credit.id, language="en")))  # English as in DE
    assert "Credit note CN-2026-000001" in english
    assert "Original invoice INV-2026-000001 of 1 Nov 2026" in english
    assert "Total credited 18,45 €" in english
    assert "18,45 € is credited to you against invoice INV-2026-000001." in english

    french = text_of(pdf.render_pdf(printable(uow, "debitNote", debit.id, language="fr")))
    assert "Note de débit DN-2026-000001" in french
    assert "Numéro de note de débit DN-2026-000001" in french
    assert "Facture d'origine INV-2026-000001 du 1 nov. 2026" in french
    assert "SIM replacement" in french
    assert "Total TTC 11,90 €" in french  # 10.00 + 19 % VAT 1.90
    assert "Merci de régler 11,90 € avant le 15 nov. 2026." in french  # a debit note is paid like an invoice
    assert "Référence DN-2026-000001" in french  # the remittance names the debit note


def test_a_german_debit_note_asks_for_payment_by_its_due_date(uow, corrected):
    _, _, debit = corrected
    text = text_of(pdf.render_pdf(printable(uow, "debitNote", debit.id)))
    assert "Belastungsanzeige DN-2026-000001" in text
    assert "Ursprungsrechnung INV-2026-000001 vom 01.11.2026" in text
    assert "Fällig am 15.11.2026" in text
    assert "Gesamtbetrag 11,90 €" in text and "Offener Betrag 11,90 €" in text
    assert "Bitte zahlen Sie 11,90 € bis zum 15.11.2026." in text


@pytest.mark.parametrize(("kind", "type_code"), [("creditNote", "381"), ("debitNote", "383")])
def test_facturx_of_a_note_embeds_its_cii_which_validates(uow, corrected, kind, type_code):
    _, credit, debit = corrected
    note = credit if kind == "creditNote" else debit
    p = printable(uow, kind, note.id)
    content = facturx.to_facturx(p)
    reader = PdfReader(io.BytesIO(content))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp.replace(" ", "") or 'pdfaid:part="3"' in xmp  # PDF/A-3
    xml = facturx.embedded_xml(content)
    assert xml == cii.to_cii(p.doc)
    root = etree.fromstring(xml)
    assert root.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=CII_NS) == type_code
    assert root.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=CII_NS) == \
        "INV-2026-000001"
    assert fatal(validate(xml, "cii")) == []
    assert note.number in text_of(content)
    assert reader.metadata.title == f"{'Rechnungskorrektur' if kind == 'creditNote' else 'Belastungsanzeige'} " \
                                    f"{note.number}"


def test_issued_notes_are_emailed_with_their_pdf(engine, uow, clock, corrected, smtp_sink):
    inv, credit, debit = corrected
    with uow() as u:  # queued in the issuing transactions, beside the invoice's own e-mail
        queued = {d.number: (d.kind, d.status) for d in delivery.list_deliveries(u)}
    assert queued == {inv.number: ("invoice", "pending"), credit.number: ("creditNote", "pending"),
                      debit.number: ("debitNote", "pending")}

    assert send(engine, clock, smtp_sink.settings) == MailReport(sent=3)

    messages = {m["Subject"]: m for m in map(received, smtp_sink.accepted)}
    seller = SELLER["name"]
    cn = messages[f"Ihre Rechnungskorrektur CN-2026-000001 von {seller}"]
    assert cn["To"] == "ada@example.org"
    assert cn["Message-ID"] == f"<creditNote.{credit.id}@nordwind.example>"
    body = cn.get_body(("plain",)).get_content()
    assert "anbei erhalten Sie Ihre Rechnungskorrektur CN-2026-000001 vom 01.11.2026 zur Rechnung " \
           "INV-2026-000001 vom 01.11.2026." in body
    assert "18,45\xa0€ werden Ihnen zur Rechnung INV-2026-000001 gutgeschrieben." in body
    [attachment] = list(cn.iter_attachments())  # a consumer: the PDF only
    assert attachment.get_filename() == "CN-2026-000001.pdf"
    with uow() as u:
        kept = bill_documents.stored_document(u, credit.id, "pdf")
    assert attachment.get_content() == kept.content and kept.sha256 == hashlib.sha256(kept.content).hexdigest()
    assert (kept.kind, kept.file_name) == ("creditNote", "CN-2026-000001.pdf")
    assert "Rechnungskorrektur CN-2026-000001" in text_of(kept.content)

    dn = messages[f"Ihre Belastungsanzeige DN-2026-000001 von {seller}"]
    assert "Bitte zahlen Sie 11,90\xa0€ bis zum 15.11.2026." in dn.get_body(("plain",)).get_content()
    assert [a.get_filename() for a in dn.iter_attachments()] == ["DN-2026-000001.pdf"]

    with uow() as u:
        sent = delivery.get_delivery(u, credit.id)
    assert (sent.status, sent.kind, sent.attachments, sent.recipient) == ("sent", "creditNote", ("pdf",),
                                                                          "ada@example.org")
    assert send(engine, clock, smtp_sink.settings) == MailReport()  # each sent once


NOTE_DOCUMENTS = [("creditNote", "document.pdf", "application/pdf", ".pdf"),
                  ("creditNote", "document.ubl.xml", "application/xml", ".ubl.xml"),
                  ("debitNote", "document.cii.xml", "application/xml", ".cii.xml"),
                  ("debitNote", "document.facturx.pdf", "application/pdf", ".facturx.pdf")]


@pytest.mark.parametrize(("resource", "route", "media_type", "suffix"), NOTE_DOCUMENTS,
                         ids=[f"{r}/{d}" for r, d, *_ in NOTE_DOCUMENTS])
def test_a_note_document_downloads_as_stored_with_etag_and_304(client, engine, corrected, resource, route, media_type,
                                                               suffix):
    _, credit, debit = corrected
    note = credit if resource == "creditNote" else debit
    first = client.get(f"{BASE}/{resource}/{note.id}/{route}")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].split(";")[0] == media_type
    assert first.headers["content-disposition"] == f'attachment; filename="{note.number}{suffix}"'
    assert first.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()}"'
    assert first.headers["cache-control"] == "private, max-age=31536000, immutable"
    if media_type == "application/pdf":
        assert note.number in text_of(first.content)
    else:
        assert etree.fromstring(first.content).find(".//{*}ID") is not None and note.number.encode() in first.content
    again = client.get(f"{BASE}/{resource}/{note.id}/{route}")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    cached = client.get(f"{BASE}/{resource}/{note.id}/{route}", headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    with engine.connect() as conn:  # kept once, as the note's
        rows = conn.execute(sa.select(bill_document.c.kind, bill_document.c.format)
                            .where(bill_document.c.document_id == note.id)).all()
    assert [tuple(r) for r in rows] == [(resource, bill_documents.FORMAT_OF_EXTENSION[route.removeprefix("document.")])]


def test_a_credit_note_ubl_download_is_a_ubl_credit_note(client, corrected):
    _, credit, _ = corrected
    root = etree.fromstring(client.get(f"{BASE}/creditNote/{credit.id}/document.ubl.xml").content)
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"


def test_a_note_is_not_found_under_another_resource_or_an_unknown_id(client, corrected):
    inv, credit, debit = corrected
    assert client.get(f"{BASE}/creditNote/{credit.id}/document.pdf").status_code == 200  # now kept
    for path in (f"customerBill/{credit.id}", f"debitNote/{credit.id}", f"creditNote/{debit.id}",
                 f"creditNote/{inv.id}", "creditNote/01900000-0000-7000-8000-000000000000", "debitNote/nonsense"):
        response = client.get(f"{BASE}/{path}/document.pdf")
        assert response.status_code == 404, path
        assert path.split("/")[0] in response.json()["message"], path
    unknown = client.get(f"{BASE}/creditNote/{credit.id}/document.docx")
    assert unknown.status_code == 404 and "document.docx" in unknown.json()["message"]


@pytest.fixture
def cli(run_cli, monkeypatch):
    monkeypatch.delenv("OPENBSS_BASE_URL", raising=False)  # the CLI installs the events sink with the environment's
    return lambda *args: run_cli(app, ["invoice", *args])


@pytest.mark.parametrize(("fmt", "ext"), [("pdf", "pdf"), ("ubl", "ubl.xml"), ("cii", "cii.xml"),
                                          ("facturx", "facturx.pdf")])
def test_export_writes_every_issued_document_credit_and_debit_notes_included(cli, corrected, tmp_path, fmt, ext):
    inv, credit, debit = corrected
    result = cli("export", "--format", fmt, "--out", str(tmp_path / "all"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        f"CN-2026-000001.{ext}", f"DN-2026-000001.{ext}", f"INV-2026-000001.{ext}"]
    content = (tmp_path / "all" / f"CN-2026-000001.{ext}").read_bytes()
    if fmt in ("pdf", "facturx"):
        assert "Rechnungskorrektur CN-2026-000001" in text_of(content)
    if fmt == "facturx":
        assert fatal(validate(facturx.embedded_xml(content), "cii")) == []
    if fmt == "ubl":
        assert etree.fromstring(content).tag.endswith("}CreditNote")
    if fmt == "cii":
        assert fatal(validate(content, "cii")) == []


def test_export_by_period_takes_the_notes_of_the_bills_of_that_period(cli, corrected, tmp_path):
    result = cli("export", "--format", "ubl", "--period", "2026-10", "--out", str(tmp_path / "october"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "october").iterdir()) == [
        "CN-2026-000001.ubl.xml", "DN-2026-000001.ubl.xml", "INV-2026-000001.ubl.xml"]
    result = cli("export", "--format", "ubl", "--period", "2026-11", "--out", str(tmp_path / "november"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "november").exists() or list((tmp_path / "november").iterdir()) == []
    result = cli("validate")
    assert result.exit_code == 0, result.output

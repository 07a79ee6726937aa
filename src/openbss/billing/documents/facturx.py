"""Factur-X / ZUGFeRD: the invoice PDF as PDF/A-3b with its UN/CEFACT CII embedded as `factur-x.xml`.

The PDF is WeasyPrint's PDF/A-3b rendering of the same page a plain PDF shows (`pdf.render_pdf`); the CII is
the EN 16931 document (`cii.to_cii`, guideline `urn:cen.eu:en16931:2017`), so the profile is EN 16931
("Comfort" in ZUGFeRD terms). The `factur-x` library embeds the XML (AFRelationship "Data"), writes the
Factur-X XMP extension schema and checks the XML against the Factur-X EN 16931 XSD on the way. The EN 16931
business rules themselves are checked by `validation.validate` (the tests do, on the XML taken back out).
Credit notes (381) and debit notes (383) are Factur-X documents the same way: their CII carries the type code and
the reference to the corrected invoice, the PDF their own title.
"""

from __future__ import annotations

from openbss.billing.documents.cii import to_cii
from openbss.billing.documents.pdf import KIND_LABELS, PrintableInvoice, formatter, render_pdf

PROFILE = "en16931"
ATTACHMENT = "factur-x.xml"


def to_facturx(p: PrintableInvoice) -> bytes:
    """The invoice (or credit or debit note) as a Factur-X EN 16931 PDF/A-3b."""
    import facturx  # here, not at the top: it loads pypdf, half a second every `openbss` command would pay

    f = formatter(p)
    doc = p.doc
    kind = f.label(KIND_LABELS[doc.kind][0])
    title = f"{kind} {doc.number}"
    metadata = {
        "author": doc.seller.name, "keywords": f"Factur-X, {kind}", "title": title,
        "subject": f"{title}, {doc.buyer.name}, {f.date(doc.invoice.issue_date)}",
    }
    return facturx.generate_from_binary(
        render_pdf(p, pdf_variant="pdf/a-3b"), to_cii(doc), flavor="factur-x", level=PROFILE, check_xsd=True,
        pdf_metadata=metadata, lang=str(f.locale).replace("_", "-"),
    )


def embedded_xml(pdf: bytes) -> bytes:
    """The Factur-X XML carried by a PDF (raises ValueError when there is none)."""
    import facturx

    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    if not xml:
        raise ValueError("the PDF carries no Factur-X XML")
    return xml

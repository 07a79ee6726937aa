"""Factur-X / ZUGFeRD: the invoice PDF as PDF/A-3b with its UN/CEFACT CII embedded as `factur-x.xml`.

The PDF is WeasyPrint's PDF/A-3b rendering of the same page a plain PDF shows (`pdf.render_pdf`); the CII is
the EN 16931 document (`cii.to_cii`, guideline `urn:cen.eu:en16931:2017`), so the profile is EN 16931
("Comfort" in ZUGFeRD terms). The `factur-x` library embeds the XML (AFRelationship "Data"), writes the
Factur-X XMP extension schema and checks the XML against the Factur-X EN 16931 XSD on the way. The EN 16931
business rules themselves are checked by `validation.validate` (the tests do, on the XML taken back out).
"""

from __future__ import annotations

from openbss.billing.documents.cii import to_cii
from openbss.billing.documents.pdf import PrintableInvoice, formatter, render_pdf

PROFILE = "en16931"
ATTACHMENT = "factur-x.xml"


def to_facturx(p: PrintableInvoice) -> bytes:
    """The invoice as a Factur-X EN 16931 PDF/A-3b."""
    import facturx  # here, not at the top: it loads pypdf, half a second every `openbss` command would pay

    f = formatter(p)
    doc = p.doc
    title = f"{f.label('invoice')} {doc.number}"
    metadata = {
        "author": doc.seller.name, "keywords": "Factur-X, " + f.label("invoice"), "title": title,
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

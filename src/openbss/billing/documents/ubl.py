"""UBL 2.1 Invoice and CreditNote per EN 16931 (the CEN syntax binding), Peppol BIS Billing 3 when it applies.

The document is written in the order the UBL 2.1 schema sets; which BT comes from where is in
docs/invoices.md and `context`. A credit note differs only where UBL does: the root and line element
names, CreditNoteTypeCode, CreditedQuantity, and the due date in PaymentMeans/PaymentDueDate.
"""

from __future__ import annotations

from lxml import etree

from openbss.billing.documents.context import DocumentLine, InvoiceDocument
from openbss.billing.documents.xml import amount_text, decimal_text, element

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

EN16931 = "urn:cen.eu:en16931:2017"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return element(parent, CAC, name)


def _cbc(parent: etree._Element, name: str, text: object, **attrs: str) -> etree._Element | None:
    return element(parent, CBC, name, text, **attrs) if text is not None and text != "" else None


def _money(parent: etree._Element, name: str, doc: InvoiceDocument, amount) -> None:
    _cbc(parent, name, amount_text(amount), currencyID=doc.currency)


def _address(parent: etree._Element, tag: str, address) -> None:
    a = _cac(parent, tag)
    _cbc(a, "StreetName", address.street)
    _cbc(a, "AdditionalStreetName", address.additional)
    _cbc(a, "CityName", address.city)
    _cbc(a, "PostalZone", address.post_code)
    _cbc(a, "CountrySubentity", address.subdivision)
    _cbc(_cac(a, "Country"), "IdentificationCode", address.country)


def _tax_scheme(parent: etree._Element) -> None:
    _cbc(_cac(parent, "TaxScheme"), "ID", "VAT")


def _party(parent: etree._Element, tag: str, *, name: str, trading_name: str | None, address, vat_id: str | None,
           registration_id: str | None, endpoint, contact: tuple[str | None, str | None, str | None]) -> None:
    p = _cac(_cac(parent, tag), "Party")
    if endpoint is not None:
        _cbc(p, "EndpointID", endpoint.identifier, schemeID=endpoint.scheme)
    if trading_name:
        _cbc(_cac(p, "PartyName"), "Name", trading_name)
    _address(p, "PostalAddress", address)
    if vat_id:
        scheme = _cac(p, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", vat_id)
        _tax_scheme(scheme)
    legal = _cac(p, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", name)
    _cbc(legal, "CompanyID", registration_id)
    if any(contact):
        c = _cac(p, "Contact")
        for tag, value in zip(("Name", "Telephone", "ElectronicMail"), contact, strict=True):
            _cbc(c, tag, value)


def _tax_category(parent: etree._Element, tag: str, category: str, rate, reason_code=None, reason=None) -> None:
    c = _cac(parent, tag)
    _cbc(c, "ID", category)
    if category != "O":  # BR-O-5/BR-O-9: no rate in "not subject to VAT"
        _cbc(c, "Percent", decimal_text(rate))
    _cbc(c, "TaxExemptionReasonCode", reason_code)
    _cbc(c, "TaxExemptionReason", reason)
    _tax_scheme(c)


def _period(parent: etree._Element, start, end) -> None:
    if start is None and end is None:
        return
    p = _cac(parent, "InvoicePeriod")
    _cbc(p, "StartDate", start.isoformat() if start else None)
    _cbc(p, "EndDate", end.isoformat() if end else None)


def _line(root: etree._Element, doc: InvoiceDocument, line: DocumentLine) -> None:
    credit = doc.credit_note
    el = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(el, "ID", line.line_no)
    _cbc(el, "CreditedQuantity" if credit else "InvoicedQuantity", decimal_text(line.quantity), unitCode=line.unit_code)
    _money(el, "LineExtensionAmount", doc, line.net)
    _period(el, line.period_start, line.period_end)
    item = _cac(el, "Item")
    _cbc(item, "Name", line.name)
    _tax_category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    price = _cac(el, "Price")
    _cbc(price, "PriceAmount", decimal_text(line.price), currencyID=doc.currency)
    _cbc(price, "BaseQuantity", decimal_text(line.base_quantity), unitCode=line.unit_code)


def to_ubl(doc: InvoiceDocument) -> bytes:
    """The UBL 2.1 Invoice (or CreditNote) of `doc`, UTF-8 with an XML declaration."""
    credit = doc.credit_note
    ns = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(f"{{{ns}}}{'CreditNote' if credit else 'Invoice'}", nsmap={None: ns, "cac": CAC, "cbc": CBC})
    _cbc(root, "CustomizationID", PEPPOL_CUSTOMIZATION if doc.peppol else EN16931)
    if doc.peppol:
        _cbc(root, "ProfileID", PEPPOL_PROFILE)
    inv = doc.invoice
    _cbc(root, "ID", inv.number)
    _cbc(root, "IssueDate", inv.issue_date.isoformat())
    if not credit:
        _cbc(root, "DueDate", inv.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", doc.type_code)
    for note in doc.notes:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", doc.currency)
    _cbc(root, "BuyerReference", doc.buyer.account_number)
    _period(root, doc.period_start, doc.period_end)
    for ref in doc.preceding:
        r = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(r, "ID", ref.number)
        _cbc(r, "IssueDate", ref.issue_date.isoformat() if ref.issue_date else None)
    s, b = doc.seller, doc.buyer
    _party(root, "AccountingSupplierParty", name=s.name, trading_name=s.trading_name, address=s.address,
           vat_id=s.vat_id, registration_id=s.registration_id, endpoint=s.electronic_address,
           contact=(s.contact_name, s.contact_phone, s.contact_email))
    _party(root, "AccountingCustomerParty", name=b.name, trading_name=None, address=b.address, vat_id=b.vat_id,
           registration_id=None, endpoint=b.electronic_address, contact=(None, None, b.email))
    if doc.payment_means is not None:
        m = doc.payment_means
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", m.code)
        if credit:
            _cbc(means, "PaymentDueDate", inv.due_date.isoformat())
        _cbc(means, "PaymentID", m.remittance)
        if m.iban:
            account = _cac(means, "PayeeFinancialAccount")
            _cbc(account, "ID", m.iban)
            _cbc(account, "Name", m.account_name)
            if m.bic:
                _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", m.bic)
    _cbc(_cac(root, "PaymentTerms"), "Note", doc.payment_terms)
    tax_total = _cac(root, "TaxTotal")
    _money(tax_total, "TaxAmount", doc, doc.tax_total)
    for g in doc.vat_groups:
        sub = _cac(tax_total, "TaxSubtotal")
        _money(sub, "TaxableAmount", doc, g.taxable)
        _money(sub, "TaxAmount", doc, g.tax)
        _tax_category(sub, "TaxCategory", g.category, g.rate, g.exemption_code, g.exemption_reason)
    totals = _cac(root, "LegalMonetaryTotal")
    _money(totals, "LineExtensionAmount", doc, doc.line_total)
    _money(totals, "TaxExclusiveAmount", doc, doc.tax_exclusive)
    _money(totals, "TaxInclusiveAmount", doc, doc.tax_inclusive)
    if doc.prepaid.amount:
        _money(totals, "PrepaidAmount", doc, doc.prepaid)
    _money(totals, "PayableAmount", doc, doc.payable)
    for line in doc.lines:
        _line(root, doc, line)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

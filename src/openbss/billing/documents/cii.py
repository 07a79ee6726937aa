"""UN/CEFACT Cross Industry Invoice (CII D16B) per EN 16931, guideline `urn:cen.eu:en16931:2017`.

Written in the element order of the D16B schema; which BT comes from where is in docs/invoices.md and
`context`. A credit note is the same document with TypeCode 381 and the corrected invoices in
InvoiceReferencedDocument (BG-3). Dates are format 102 (YYYYMMDD).
"""

from __future__ import annotations

from datetime import date

from lxml import etree

from openbss.billing.documents.context import DocumentLine, InvoiceDocument
from openbss.billing.documents.xml import amount_text, decimal_text, element

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
GUIDELINE = "urn:cen.eu:en16931:2017"


def _ram(parent: etree._Element, name: str, text: object = None, **attrs: str) -> etree._Element | None:
    if text == "":
        return None
    return element(parent, RAM, name, text, **attrs)


def _opt(parent: etree._Element, name: str, text: object) -> None:
    if text is not None and text != "":
        _ram(parent, name, text)


def _date(parent: etree._Element, name: str, day: date, namespace: str = UDT) -> None:
    element(_ram(parent, name), namespace, "DateTimeString", day.strftime("%Y%m%d"), format="102")


def _money(parent: etree._Element, name: str, amount, currency: str | None = None) -> None:
    _ram(parent, name, amount_text(amount), **({"currencyID": currency} if currency else {}))


def _party(parent: etree._Element, tag: str, *, name: str, trading_name: str | None, registration_id: str | None,
           contact: tuple[str | None, str | None, str | None], address, endpoint, vat_id: str | None) -> None:
    p = _ram(parent, tag)
    _ram(p, "Name", name)
    if registration_id or trading_name:
        legal = _ram(p, "SpecifiedLegalOrganization")
        _opt(legal, "ID", registration_id)
        _opt(legal, "TradingBusinessName", trading_name)
    name_, phone, email = contact
    if any(contact):
        c = _ram(p, "DefinedTradeContact")
        _opt(c, "PersonName", name_)
        if phone:
            _ram(_ram(c, "TelephoneUniversalCommunication"), "CompleteNumber", phone)
        if email:
            _ram(_ram(c, "EmailURIUniversalCommunication"), "URIID", email)
    a = _ram(p, "PostalTradeAddress")
    _opt(a, "PostcodeCode", address.post_code)
    _opt(a, "LineOne", address.street)
    _opt(a, "LineTwo", address.additional)
    _opt(a, "CityName", address.city)
    _ram(a, "CountryID", address.country)
    _opt(a, "CountrySubDivisionName", address.subdivision)
    if endpoint is not None:
        _ram(_ram(p, "URIUniversalCommunication"), "URIID", endpoint.identifier, schemeID=endpoint.scheme)
    if vat_id:
        _ram(_ram(p, "SpecifiedTaxRegistration"), "ID", vat_id, schemeID="VA")


def _period(parent: etree._Element, start: date | None, end: date | None) -> None:
    if start is None and end is None:
        return
    p = _ram(parent, "BillingSpecifiedPeriod")
    if start:
        _date(p, "StartDateTime", start)
    if end:
        _date(p, "EndDateTime", end)


def _tax(parent: etree._Element, category: str, rate, *, basis=None, calculated=None, reason=None,
         reason_code=None) -> None:
    t = _ram(parent, "ApplicableTradeTax")
    if calculated is not None:
        _money(t, "CalculatedAmount", calculated)
    _ram(t, "TypeCode", "VAT")
    _opt(t, "ExemptionReason", reason)
    if basis is not None:
        _money(t, "BasisAmount", basis)
    _ram(t, "CategoryCode", category)
    _opt(t, "ExemptionReasonCode", reason_code)
    if category != "O":  # BR-O-5: no rate in "not subject to VAT"
        _ram(t, "RateApplicablePercent", decimal_text(rate))


def _line(transaction: etree._Element, line: DocumentLine) -> None:
    item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
    _ram(_ram(item, "AssociatedDocumentLineDocument"), "LineID", line.line_no)
    _ram(_ram(item, "SpecifiedTradeProduct"), "Name", line.name)
    price = _ram(_ram(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
    _ram(price, "ChargeAmount", decimal_text(line.price))
    _ram(price, "BasisQuantity", decimal_text(line.base_quantity), unitCode=line.unit_code)
    _ram(_ram(item, "SpecifiedLineTradeDelivery"), "BilledQuantity", decimal_text(line.quantity),
         unitCode=line.unit_code)
    settlement = _ram(item, "SpecifiedLineTradeSettlement")
    _tax(settlement, line.vat_category, line.vat_rate)
    _period(settlement, line.period_start, line.period_end)
    _money(_ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation"), "LineTotalAmount", line.net)


def to_cii(doc: InvoiceDocument) -> bytes:
    """The CII CrossIndustryInvoice of `doc`, UTF-8 with an XML declaration."""
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT})
    context = element(root, RSM, "ExchangedDocumentContext")
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE)
    inv = doc.invoice
    header = element(root, RSM, "ExchangedDocument")
    _ram(header, "ID", inv.number)
    _ram(header, "TypeCode", doc.type_code)
    _date(header, "IssueDateTime", inv.issue_date)
    for note in doc.notes:
        _ram(_ram(header, "IncludedNote"), "Content", note)
    transaction = element(root, RSM, "SupplyChainTradeTransaction")
    for line in doc.lines:
        _line(transaction, line)
    agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
    _ram(agreement, "BuyerReference", doc.buyer.account_number)
    s, b = doc.seller, doc.buyer
    _party(agreement, "SellerTradeParty", name=s.name, trading_name=s.trading_name, registration_id=s.registration_id,
           contact=(s.contact_name, s.contact_phone, s.contact_email), address=s.address, endpoint=s.electronic_address, vat_id=s.vat_id)
    _party(agreement, "BuyerTradeParty", name=b.name, trading_name=None, registration_id=None, contact=(None, None, b.email),
           address=b.address, endpoint=b.electronic_address, vat_id=b.vat_id)
    _ram(transaction, "ApplicableHeaderTradeDelivery")
    settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
    if doc.payment_means is not None:
        _ram(settlement, "PaymentReference", doc.payment_means.remittance)
    _ram(settlement, "InvoiceCurrencyCode", doc.currency)
    if doc.payment_means is not None:
        m = doc.payment_means
        means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _ram(means, "TypeCode", m.code)
        if m.iban:
            account = _ram(means, "PayeePartyCreditorFinancialAccount")
            _ram(account, "IBANID", m.iban)
            _opt(account, "AccountName", m.account_name)
        if m.bic:
            _ram(_ram(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", m.bic)
    for g in doc.vat_groups:
        _tax(settlement, g.category, g.rate, basis=g.taxable, calculated=g.tax, reason=g.exemption_reason,
             reason_code=g.exemption_code)
    _period(settlement, doc.period_start, doc.period_end)
    terms = _ram(settlement, "SpecifiedTradePaymentTerms")
    _ram(terms, "Description", doc.payment_terms)
    _date(terms, "DueDateDateTime", inv.due_date)
    totals = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _money(totals, "LineTotalAmount", doc.line_total)
    _money(totals, "TaxBasisTotalAmount", doc.tax_exclusive)
    _money(totals, "TaxTotalAmount", doc.tax_total, doc.currency)
    _money(totals, "GrandTotalAmount", doc.tax_inclusive)
    if doc.prepaid.amount:
        _money(totals, "TotalPrepaidAmount", doc.prepaid)
    _money(totals, "DuePayableAmount", doc.payable)
    for ref in doc.preceding:
        r = _ram(settlement, "InvoiceReferencedDocument")
        _ram(r, "IssuerAssignedID", ref.number)
        if ref.issue_date:
            _date(r, "FormattedIssueDateTime", ref.issue_date, QDT)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

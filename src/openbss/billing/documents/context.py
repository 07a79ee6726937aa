"""What an invoice document says, gathered once for every format (UBL, CII, PDF).

`document_of(uow, invoice_id)` loads an issued invoice, the seller profile and the buyer, and
`build_document(...)` (pure) turns them into an `InvoiceDocument`: the EN 16931 semantic model
in openbss terms, so each syntax only has to write it out. Rules (EN 16931 business rules named):

- Document type: 380 commercial invoice, 381 credit note, 383 debit note (a credit or debit note names
  the invoice it corrects, BG-3; a credit note's amounts are the positive amounts credited).
- Dates: issue date (BT-2), due date (BT-9) and payment terms text (BT-20). Billing periods and
  service periods are half-open ([start, end)); EN 16931 periods are inclusive, so the end dates
  here are the last day covered. The invoice period (BG-14) is the bill period widened to every
  line's service period: recurring charges billed in advance cover the next period, and Peppol
  wants each line period inside the invoice period (PEPPOL-EN16931-R110/R111).
- Amounts in the invoice currency, rounded as billing rounded them: line net total (BT-106) = sum
  of line nets, no document-level allowances or charges (discounts and credits are negative lines,
  which EN 16931 allows: BR-27 only forbids a negative price, so a negative line has a negative
  quantity and a positive price), tax exclusive (BT-109) = line total, VAT (BT-110) = sum of the
  groups, tax inclusive (BT-112) = exclusive + VAT, prepaid (BT-113) = what payments allocated
  so far, payable (BT-115) = inclusive - prepaid (BR-CO-16).
- VAT categories (UNCL5305 as EN 16931 restricts it): billing's standard and reduced rates are S,
  zero is Z, exempt is E (with the account's tax-exemption reason, BR-E-10), and a reverse-charge
  category AE (BR-AE-10, "Reverse charge", VATEX-EU-AE); K, G and O carry their VATEX codes.
- Payment means (BG-16): credit transfer (30) to the seller's IBAN/BIC, with the invoice number as
  the remittance information (BT-83). No payment method is stored per account yet, so direct debit
  (59) is not chosen; without an IBAN the document carries no payment means.
- Buyer (BG-7): the customer's name (or the organization's registered name), the account's VAT id
  (BT-48), a postal address from the customer's or its party's contact media (mediumType
  "postalAddress": street1, street2, city, postCode, stateOrProvince, country; the account's
  country when none), and an electronic address (BT-49) from a contact medium of mediumType
  "electronicAddress" with characteristic {"scheme": EAS code, "identifier": ...}.
- Peppol BIS 3 applies (`peppol`) when the buyer is a business (an organization or a VAT id) with an
  electronic address and the seller has one too (PEPPOL-EN16931-R010/R020 require both).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openbss.billing.model import Invoice, InvoiceLine
from openbss.billing.service import get_invoice
from openbss.core.errors import InvalidValue
from openbss.core.money import Money, total
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.party import service as party
from openbss.seller import service as seller_service
from openbss.seller.model import ElectronicAddress, PostalAddress, SellerProfile, check_electronic_address

INVOICE = "380"
CREDIT_NOTE = "381"
DEBIT_NOTE = "383"  # UNCL1001 debit note, which EN 16931 accepts as an Invoice (UBL) / CII document
# the bill document kinds (bill_document.kind, the API's resources) by document type
KIND_OF_TYPE = {INVOICE: "invoice", CREDIT_NOTE: "creditNote", DEBIT_NOTE: "debitNote"}
CREDIT_TRANSFER = "30"

# billing's tax categories -> UNCL5305 VAT category codes as EN 16931 uses them.
VAT_CATEGORY_CODES = {
    "standard": "S", "reduced": "S", "zero": "Z", "exempt": "E",
    "reverseCharge": "AE", "intraCommunity": "K", "export": "G", "outOfScope": "O",
}
# Exemption reason (BT-120) and code (BT-121) for the categories that need one (BR-E-10, BR-AE-10, ...).
EXEMPTION = {
    "E": ("Exempt from VAT", None),
    "AE": ("Reverse charge", "VATEX-EU-AE"),
    "K": ("Intra-Community supply", "VATEX-EU-IC"),
    "G": ("Export outside the EU", "VATEX-EU-G"),
    "O": ("Not subject to VAT", "VATEX-EU-O"),
}
# UN/ECE Recommendation 20 unit codes for the units billing lines are counted in.
UNIT_CODES = {
    "each": "C62", "message": "C62", "second": "SEC", "minute": "MIN", "hour": "HUR", "byte": "AD",
    "day": "DAY", "week": "WEE", "month": "MON", "quarter": "QAN", "year": "ANN",
}


@dataclass(frozen=True)
class Buyer:
    name: str
    address: PostalAddress
    account_number: str  # BT-10 buyer reference: what the customer quotes back
    vat_id: str | None = None
    electronic_address: ElectronicAddress | None = None
    email: str | None = None
    business: bool = False


@dataclass(frozen=True)
class DocumentLine:
    line_no: int
    name: str  # BT-153 item name: the line's description
    quantity: Decimal  # BT-129, its sign the sign of `net`
    unit_code: str  # BT-130
    price: Decimal  # BT-146, never negative
    base_quantity: Decimal  # BT-149: the quantity `price` is for (net = quantity x price / base_quantity)
    net: Money  # BT-131
    vat_category: str
    vat_rate: Decimal  # percent, BT-152
    period_start: date | None = None  # BG-26, inclusive
    period_end: date | None = None
    source: InvoiceLine | None = None


@dataclass(frozen=True)
class VatGroup:
    category: str
    rate: Decimal  # percent
    taxable: Money
    tax: Money
    exemption_reason: str | None = None
    exemption_code: str | None = None


@dataclass(frozen=True)
class PaymentMeans:
    code: str  # UNCL4461: 30 credit transfer, 58 SEPA credit transfer, 59 SEPA direct debit
    remittance: str  # BT-83
    iban: str | None = None
    bic: str | None = None
    account_name: str | None = None


@dataclass(frozen=True)
class PrecedingInvoice:
    number: str  # BT-25
    issue_date: date | None = None  # BT-26


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    type_code: str
    seller: SellerProfile
    buyer: Buyer
    lines: tuple[DocumentLine, ...]
    vat_groups: tuple[VatGroup, ...]
    period_start: date  # BG-14, inclusive
    period_end: date
    line_total: Money
    tax_exclusive: Money
    tax_total: Money
    tax_inclusive: Money
    prepaid: Money
    payable: Money
    payment_terms: str
    payment_means: PaymentMeans | None = None
    notes: tuple[str, ...] = ()
    preceding: tuple[PrecedingInvoice, ...] = ()
    # What the account owed before this invoice (negative: a credit it held), for the PDF's account summary. Not
    # part of EN 16931's totals (BR-CO-16 leaves no room for earlier balances): the XML documents ignore it.
    balance_forward: Money | None = None

    @property
    def balance_after(self) -> Money | None:
        return None if self.balance_forward is None else self.balance_forward + self.tax_inclusive

    @property
    def number(self) -> str:
        return self.invoice.number

    @property
    def currency(self) -> str:
        return self.invoice.currency

    @property
    def credit_note(self) -> bool:
        return self.type_code == CREDIT_NOTE

    @property
    def kind(self) -> str:
        """invoice, creditNote or debitNote: which bill document this is."""
        return KIND_OF_TYPE[self.type_code]

    @property
    def peppol(self) -> bool:
        """Whether the document goes out as Peppol BIS Billing 3 (see the module docstring)."""
        return bool(self.buyer.business and self.buyer.electronic_address and self.seller.electronic_address)


def vat_category(tax_category: str) -> str:
    try:
        return VAT_CATEGORY_CODES[tax_category]
    except KeyError:
        raise InvalidValue("taxCategory", tax_category, f"has no EN 16931 VAT category; known: "
                           f"{', '.join(VAT_CATEGORY_CODES)}") from None


def percent(rate: Decimal) -> Decimal:
    """A rate fraction (0.19) as the percentage EN 16931 writes (19)."""
    value = (rate * 100).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def _inclusive_end(end: date | None) -> date | None:
    return end - timedelta(days=1) if end is not None else None


def _line(line: InvoiceLine) -> DocumentLine:
    net = line.net.amount
    quantity = abs(line.quantity) if line.quantity else Decimal(1)
    quantity = -quantity if net < 0 else quantity
    # A clean unit price (0.002 per second) when net = quantity x price exactly; otherwise (prorated terms) the
    # price of the line's whole quantity, which keeps BT-131 = BT-129 x BT-146 / BT-149 exact.
    unit_price = (abs(net) / abs(quantity)).quantize(Decimal("0.000001"))
    price, base = (unit_price, Decimal(1)) if unit_price * quantity == net else (abs(net), abs(quantity))
    category = vat_category(line.tax_category)
    return DocumentLine(
        line_no=line.line_no, name=line.description, quantity=quantity, unit_code=UNIT_CODES.get(line.unit, "C62"),
        price=price, base_quantity=base, net=line.net, vat_category=category, vat_rate=percent(line.tax_rate),
        period_start=line.service_start, period_end=_inclusive_end(line.service_end), source=line,
    )


def _exemption_reason(category: str, exemptions: Sequence[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    if category not in EXEMPTION:
        return None, None
    reason, code = EXEMPTION[category]
    if category == "E":  # the account's own exemption, as its certificate states it
        given = next((e.get("reason") for e in exemptions if e.get("reason")), None)
        reason = given or reason
    return reason, code


def build_document(invoice: Invoice, seller: SellerProfile, buyer: Buyer, *, tax_exemption: Sequence[Mapping] = (),
                   type_code: str = INVOICE, preceding: Sequence[PrecedingInvoice] = ()) -> InvoiceDocument:
    """The document of an issued invoice (or of a credit note shaped as an `Invoice`), a pure function."""
    cur = invoice.currency
    lines = tuple(_line(line) for line in invoice.lines)
    groups = []
    for t in invoice.taxes:
        category = vat_category(t.tax_category)
        reason, code = _exemption_reason(category, tax_exemption)
        groups.append(VatGroup(category, percent(t.tax_rate), t.taxable, t.tax, reason, code))
    line_total = total((line.net for line in invoice.lines), cur)
    tax_total = total((t.tax for t in invoice.taxes), cur)
    if line_total != invoice.net_total or tax_total != invoice.tax_total:
        raise InvalidValue("invoice", invoice.number, f"lines ({line_total}) and VAT groups ({tax_total}) do not add "
                           f"up to its totals ({invoice.net_total}, {invoice.tax_total})")
    starts = [invoice.period_start, *(line.period_start for line in lines if line.period_start)]
    ends = [_inclusive_end(invoice.period_end), *(line.period_end for line in lines if line.period_end)]
    payable = invoice.gross_total - invoice.amount_paid
    means = None
    if seller.iban:
        means = PaymentMeans(CREDIT_TRANSFER, invoice.number, seller.iban, seller.bic, seller.name)
    terms = f"Payable by {invoice.due_date.isoformat()} ({(invoice.due_date - invoice.issue_date).days} days net)"
    notes = tuple(n for n in (seller.invoice_note,) if n)
    if any(g.category == "O" for g in groups):
        # Not subject to VAT (a customer outside the operator's VAT jurisdictions): EN 16931 BR-O-02 forbids both
        # VAT identifiers on such a document; the seller is named by its registration id instead (BR-CO-26).
        seller, buyer = replace(seller, vat_id=None), replace(buyer, vat_id=None)
    return InvoiceDocument(
        invoice=invoice, type_code=type_code, seller=seller, buyer=buyer, lines=lines, vat_groups=tuple(groups),
        period_start=min(starts), period_end=max(ends), line_total=line_total, tax_exclusive=line_total,
        tax_total=tax_total, tax_inclusive=line_total + tax_total, prepaid=invoice.amount_paid,
        payable=payable, payment_terms=terms, payment_means=means,
        notes=notes, preceding=tuple(preceding),
    )


def _medium(media: Sequence[Mapping[str, Any]], medium_type: str) -> Mapping[str, Any] | None:
    return next((m.get("characteristic") or {} for m in media
                 if str(m.get("mediumType", "")).lower() == medium_type.lower()), None)


def buyer_from(account_number: str, name: str, country: str, vat_id: str | None,
               media: Sequence[Mapping[str, Any]], organization: bool) -> Buyer:
    """The buyer from its account and contact media (see the module docstring for the media read)."""
    postal = _medium(media, "postalAddress") or {}
    address = PostalAddress(
        country=postal.get("country") or country, street=postal.get("street1"), additional=postal.get("street2"),
        city=postal.get("city"), post_code=postal.get("postCode"), subdivision=postal.get("stateOrProvince"))
    electronic = _medium(media, "electronicAddress")
    e_address = None
    if electronic:
        e_address = check_electronic_address(electronic.get("scheme"), electronic.get("identifier"),
                                             "contactMedium.characteristic.identifier",
                                             "contactMedium.characteristic.scheme")
    email = (_medium(media, "email") or {}).get("emailAddress")
    return Buyer(name=name, address=address, account_number=account_number, vat_id=vat_id,
                 electronic_address=e_address, email=email, business=organization or vat_id is not None)


def document_of(uow: UnitOfWork, invoice_id: uuid.UUID) -> InvoiceDocument:
    """The document of an issued invoice: the invoice with its lines and VAT groups, the seller profile
    (a Conflict while none is set) and the buyer of the invoiced account."""
    invoice = get_invoice(uow, invoice_id)
    seller = seller_service.get_seller(uow)
    account = party.get_billing_account(uow, invoice.account_id)
    media: list[Mapping[str, Any]] = []
    name, organization = account.customer_name or account.name, False
    if account.customer_id is not None:
        customer = party.get_customer(uow, account.customer_id)
        media += customer.contact_medium
        if customer.party is not None and customer.party.local:
            owner = party.get_party(uow, uuid.UUID(customer.party.id))
            media += owner.contact_medium
            organization = owner.kind == "Organization"
            name = (owner.name or name) if organization else name
    buyer = buyer_from(account.number, name, account.country or "", account.vat_id, media, organization)
    document = build_document(invoice, seller, buyer, tax_exemption=account.tax_exemption)
    return replace(document, balance_forward=ledger.ar_balance_before(uow, "invoice", invoice.id))

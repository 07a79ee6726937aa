"""The EN 16931 document model and its UBL / CII rendering, on hand-made invoices (no database): proration
credits as negative lines, usage with a unit price, zero-rated and exempt groups, a partial payment, a reverse
charge B2B invoice and a credit note; each validated with the CEN (and Peppol) XSLTs."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from lxml import etree

from openbss.billing.documents.cii import to_cii
from openbss.billing.documents.context import (
    CREDIT_NOTE,
    Buyer,
    PrecedingInvoice,
    build_document,
    buyer_from,
    percent,
)
from openbss.billing.documents.ubl import to_ubl
from openbss.billing.model import Invoice, InvoiceLine, vat_breakdown
from openbss.core.errors import InvalidValue
from openbss.core.money import Money, total
from openbss.seller.model import ElectronicAddress, PostalAddress, check_seller
from tests.einvoicing import SELLER, fatal_failures

NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
BUSINESS = Buyer("Acme Logistics GmbH", PostalAddress("DE", "Kaiserstrasse 5", None, "Frankfurt am Main", "60311"),
                 "ACC-000001", "DE811569869", ElectronicAddress("9930", "DE811569869"), "ap@acme.example", True)
PERSON = Buyer("Ada Lovelace", PostalAddress("DE"), "ACC-000002", email="ada@example.org")


def _line(n, net, quantity, unit, category="standard", rate="0.19", start=None, end=None):
    return InvoiceLine(uuid.uuid4(), n, "recurring", f"line {n}", uuid.uuid4(), uuid.uuid4(), None, D(quantity), unit,
                       start, end, Money.of(net, "EUR"), category, D(rate))


def _invoice(lines, paid="0.00", number="INV-2026-000001") -> Invoice:
    taxes = vat_breakdown(lines, "EUR", "half_up")
    net, tax = total((x.net for x in lines), "EUR"), total((t.tax for t in taxes), "EUR")
    return Invoice(uuid.uuid4(), number, uuid.uuid4(), date(2026, 10, 1), date(2026, 11, 1), date(2026, 11, 1),
                   date(2026, 11, 15), "Europe/Berlin", "EUR", net, tax, net + tax, Money.of(paid, "EUR"), "sent",
                   datetime(2026, 11, 1, tzinfo=UTC), tuple(lines), taxes)


MONTH = _invoice([
    _line(1, "30.00", "1", "month", start=date(2026, 11, 1), end=date(2026, 12, 1)),  # November in advance
    _line(2, "-21.29", "-0.709677", "month", start=date(2026, 10, 10), end=date(2026, 11, 1)),  # credit 22/31 days
    _line(3, "7.21", "3605", "second"),  # 3605 s x 0.002
    _line(4, "5.00", "1", "each", "zero", "0"),
    _line(5, "2.00", "1", "each", "exempt", "0"),
], paid="5.00")


@pytest.mark.parametrize("buyer", [BUSINESS, PERSON], ids=["business-peppol", "person"])
def test_a_month_with_a_credit_usage_and_zero_and_exempt_groups_is_valid(buyer):
    doc = build_document(MONTH, SELLER, buyer)
    assert doc.peppol == (buyer is BUSINESS)
    assert fatal_failures(doc) == {"ubl": [], "cii": []}
    # 30.00 - 21.29 + 7.21 + 5.00 + 2.00 = 22.92 net; S group 15.92 x 19 % = 3.0248 -> 3.02; gross 25.94
    assert (doc.line_total.amount, doc.tax_total.amount, doc.tax_inclusive.amount) == (D("22.92"), D("3.02"),
                                                                                      D("25.94"))
    assert (doc.prepaid.amount, doc.payable.amount) == (D("5.00"), D("20.94"))  # 25.94 - 5.00 paid


def test_lines_keep_net_equal_to_quantity_times_price_and_never_a_negative_price():
    doc = build_document(MONTH, SELLER, PERSON)
    month, credit, usage = doc.lines[:3]
    assert (month.quantity, month.price, month.base_quantity) == (D(1), D("30.000000"), D(1))
    # no clean unit price for 22/31 of a month: the price is that of the line's own quantity
    assert (credit.quantity, credit.price, credit.base_quantity) == (D("-0.709677"), D("21.29"), D("0.709677"))
    assert (usage.quantity, usage.price, usage.base_quantity, usage.unit_code) == (D(3605), D("0.002"), D(1), "SEC")
    assert (credit.period_start, credit.period_end) == (date(2026, 10, 10), date(2026, 10, 31))  # inclusive end
    # the invoice period widens to November, billed in advance
    assert (doc.period_start, doc.period_end) == (date(2026, 10, 1), date(2026, 11, 30))
    ubl = etree.fromstring(to_ubl(doc))
    assert ubl.xpath("//cac:InvoiceLine[2]/cbc:InvoicedQuantity/text()", namespaces=NS) == ["-0.709677"]
    assert ubl.xpath("//cac:InvoiceLine[2]/cac:Price/cbc:PriceAmount/text()", namespaces=NS) == ["21.29"]
    assert ubl.xpath("//cac:TaxSubtotal/cac:TaxCategory/cbc:ID/text()", namespaces=NS) == ["E", "S", "Z"]


def test_a_reverse_charge_b2b_invoice_names_the_reason():
    """An EU business customer in France: category AE at 0 % with both VAT ids (BR-AE-2) and the reason."""
    buyer = dataclasses.replace(BUSINESS, name="Lyon Data SARL", vat_id="FR40303265045",
                                address=PostalAddress("FR", "1 rue de la Republique", None, "Lyon", "69001"),
                                electronic_address=ElectronicAddress("9957", "FR40303265045"))
    doc = build_document(_invoice([_line(1, "100.00", "1", "month", "reverseCharge", "0")]), SELLER, buyer)
    assert [(g.category, g.exemption_code, g.exemption_reason) for g in doc.vat_groups] == [
        ("AE", "VATEX-EU-AE", "Reverse charge")]
    assert fatal_failures(doc) == {"ubl": [], "cii": []}


def test_an_invoice_outside_the_scope_of_vat_names_no_vat_id():
    """A business customer in the US: every line "not subject to VAT" (O); BR-O-02 forbids the seller's and the
    buyer's VAT ids, so the seller is identified by its registration id (BR-CO-26)."""
    buyer = dataclasses.replace(BUSINESS, name="Boston Data Inc.", vat_id=None, electronic_address=None,
                                address=PostalAddress("US", "1 Main St", None, "Boston", "02108"))
    doc = build_document(_invoice([_line(1, "100.00", "1", "month", "outOfScope", "0")]), SELLER, buyer)
    assert [g.category for g in doc.vat_groups] == ["O"] and doc.seller.vat_id is None
    assert doc.seller.registration_id == SELLER.registration_id
    assert fatal_failures(doc) == {"ubl": [], "cii": []}


def test_a_credit_note_references_the_invoice_it_corrects():
    corrected = PrecedingInvoice("INV-2026-000001", date(2026, 11, 1))
    credit = _invoice([_line(1, "21.29", "0.709677", "month", start=date(2026, 10, 10), end=date(2026, 11, 1))],
                      number="CN-2026-000001")
    doc = build_document(credit, SELLER, BUSINESS, type_code=CREDIT_NOTE, preceding=[corrected])
    assert fatal_failures(doc) == {"ubl": [], "cii": []}
    ubl = etree.fromstring(to_ubl(doc))
    assert etree.QName(ubl).localname == "CreditNote"
    assert ubl.xpath("//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()", namespaces=NS) == [
        "INV-2026-000001"]
    cii = etree.fromstring(to_cii(doc))
    assert cii.xpath("//ram:TypeCode/text()", namespaces=NS)[0] == "381"
    assert cii.xpath("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()", namespaces=NS) == [
        "INV-2026-000001"]


def test_totals_that_do_not_add_up_are_refused():
    broken = dataclasses.replace(MONTH, net_total=Money.of("1.00", "EUR"))
    with pytest.raises(InvalidValue, match="invoice='INV-2026-000001'"):
        build_document(broken, SELLER, PERSON)


def test_an_unknown_tax_category_is_refused():
    with pytest.raises(InvalidValue, match="taxCategory='luxury'"):
        build_document(_invoice([_line(1, "1.00", "1", "each", "luxury", "0")]), SELLER, PERSON)


def test_the_buyer_is_read_from_contact_media():
    media = [{"mediumType": "email", "characteristic": {"emailAddress": "ap@acme.example"}},
             {"mediumType": "postalAddress", "characteristic": {"street1": "Kaiserstrasse 5", "city": "Frankfurt",
                                                                 "postCode": "60311"}},
             {"mediumType": "electronicAddress", "characteristic": {"scheme": "0088", "identifier": "4000001000005"}}]
    buyer = buyer_from("ACC-1", "Acme", "DE", None, media, organization=True)
    assert buyer.address == PostalAddress("DE", "Kaiserstrasse 5", None, "Frankfurt", "60311")  # country: account's
    assert (buyer.electronic_address, buyer.email, buyer.business) == (
        ElectronicAddress("0088", "4000001000005"), "ap@acme.example", True)
    assert buyer_from("ACC-2", "Ada", "FR", None, [], organization=False) == Buyer("Ada", PostalAddress("FR"), "ACC-2")
    with pytest.raises(InvalidValue, match="contactMedium.characteristic.scheme='peppol'"):
        buyer_from("ACC-3", "X", "DE", None, [{"mediumType": "electronicAddress",
                                               "characteristic": {"scheme": "peppol", "identifier": "1"}}], True)


def test_percent_is_written_as_en16931_writes_it():
    assert [str(percent(D(r))) for r in ("0.19", "0.055", "0", "0.200000")] == ["19", "5.5", "0", "20"]


def test_the_seller_profile_rules():
    assert check_seller(dataclasses.replace(SELLER, vat_id="DE 136 695 976", iban="DE89 3704 0044 0532 0130 00")
                        ).vat_id == "DE136695976"
    for changes, field in (({"vat_id": "DE136695975"}, "vatId"), ({"iban": "DE89370400440532013001"}, "iban"),
                           ({"bic": "NOTABIC"}, "bic"), ({"name": " "}, "name"),
                           ({"address": PostalAddress("XX")}, "country"), ({"contact_email": "nobody"}, "contactEmail")):
        with pytest.raises(InvalidValue) as refused:
            check_seller(dataclasses.replace(SELLER, **changes))
        assert refused.value.field == field

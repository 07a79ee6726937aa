"""E-invoices of issued invoices: the seller profile, `document_of`, and UBL / CII from real bill runs that pass
the EN 16931 XSLTs (and Peppol BIS 3 for a business buyer with an electronic address), with the XML's amounts
equal to the invoice's."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

import pytest
from lxml import etree

from openbss.billing import service as billing
from openbss.billing.documents.cii import to_cii
from openbss.billing.documents.context import document_of
from openbss.billing.documents.ubl import to_ubl
from openbss.billing.documents.validation import fatal, validate
from openbss.cli import app
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.ordering import service as ordering
from openbss.party import service as party
from openbss.party.model import PartyRef
from openbss.party.service import NewBillingAccount, NewCustomer
from openbss.payments import service as payments
from openbss.seller import service as seller
from tests import factories
from tests.einvoicing import SELLER_FIELDS, fatal_failures
from tests.scenarios.billing_steps import bill, invoice_of, utc

NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
_keys = itertools.count(1)


def _business(u, name="Acme Logistics GmbH", vat_id="DE811569869"):
    """An organization with a postal address and a Peppol address, as customer of a DE account with a VAT id."""
    org = party.create_party(u, "Organization", {"name": name, "contact_medium": [
        {"mediumType": "postalAddress", "characteristic": {"street1": "Kaiserstrasse 5", "city": "Frankfurt am Main",
                                                            "postCode": "60311", "country": "DE"}},
        {"mediumType": "electronicAddress", "characteristic": {"scheme": "9930", "identifier": vat_id}},
    ]})
    customer = party.create_customer(u, NewCustomer(name=name, email="ap@acme.example",
                                                    party=PartyRef(str(org.id), "Organization", local=True)))
    return party.create_billing_account(u, NewBillingAccount(customer.id, f"{name} main", "EUR", "DE", 1,
                                                             "Europe/Berlin", vat_id=vat_id, payment_terms_days=30))


def test_the_seller_profile_is_set_shown_and_checked(uow, run_cli):
    with uow() as u:
        with pytest.raises(Conflict, match="no seller profile"):
            seller.get_seller(u)
        with pytest.raises(InvalidValue, match="vatId='DE000000000'"):
            seller.set_seller(u, {**SELLER_FIELDS, "vat_id": "DE000000000"})
        with pytest.raises(InvalidValue, match="iban='DE00123'"):
            seller.set_seller(u, {**SELLER_FIELDS, "iban": "DE00123"})
        with pytest.raises(InvalidValue, match="electronicAddressScheme='peppol'"):
            seller.set_seller(u, {**SELLER_FIELDS, "electronic_address_scheme": "peppol"})
    result = run_cli(app, ["seller", "set", "--name", "Nordnetz Telekom GmbH", "--country", "DE",
                           "--vat-id", "DE 136 695 976", "--iban", "DE89 3704 0044 0532 0130 00", "--city", "Hamburg"])
    assert result.exit_code == 0, result.output
    result = run_cli(app, ["seller", "set", "--trading-name", "Nordnetz"])  # changes just that field
    assert result.exit_code == 0, result.output
    with uow() as u:
        profile = seller.get_seller(u)
    assert (profile.name, profile.trading_name, profile.vat_id, profile.iban, profile.address.city) == (
        "Nordnetz Telekom GmbH", "Nordnetz", "DE136695976", "DE89370400440532013000", "Hamburg")
    shown = run_cli(app, ["seller", "show"])
    assert shown.exit_code == 0 and "DE136695976" in shown.output
    refused = run_cli(app, ["seller", "set", "--country", "XX"])
    assert refused.exit_code == 1 and "country='XX'" in refused.output


def _amounts(xml: bytes, path: str) -> list[D]:
    return [D(t) for t in etree.fromstring(xml).xpath(path, namespaces=NS)]


def test_a_business_buyer_gets_peppol_ubl_and_cii_equal_to_its_invoices(engine, uow, clock):
    """Acme subscribes on 10 October to Mobile M (30.00 a month in advance, SMS 0.09) and Fibre (40.00), sends
    10 SMS, cancels Mobile M on 11 November (a credit line on the November invoice); it paid 20.00 in October."""
    clock.move_to(utc(2026, 10, 10, 9))
    with uow() as u:
        seller.set_seller(u, SELLER_FIELDS)
        acme = _business(u)
        product = factories.subscribe(u, acme.id, factories.offering(u).id, "+4915100000077")
        factories.subscribe(u, acme.id, factories.offering(u, "Fibre", "40.00", usage={}).id, "fibre-77")
        mediation.ingest(u, [UsageRecord("msc-1", f"r{next(_keys)}", "+4915100000077", "sms", utc(2026, 10, 20, 9),
                                         D(1)) for _ in range(10)])
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, acme.id, date(2026, 10, 1))
    with uow() as u:
        payments.record_payment(u, payments.NewPayment(acme.id, Money.of("20.00", "EUR"), invoice_id=october.id))
    clock.move_to(utc(2026, 11, 11, 9))
    with uow() as u:
        ordering.cancel_product(u, product.id)
    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, acme.id, date(2026, 11, 1))
    assert any(line.net.amount < 0 for line in november.lines)  # the credit for 11-30 November

    for inv in (october, november):
        with uow() as u:
            inv = billing.get_invoice(u, inv.id)
            doc = document_of(u, inv.id)
        assert doc.peppol and doc.buyer.business
        assert fatal_failures(doc) == {"ubl": [], "cii": []}
        ubl, cii = to_ubl(doc), to_cii(doc)
        nets = [line.net.amount for line in inv.lines]
        assert _amounts(ubl, "//cac:InvoiceLine/cbc:LineExtensionAmount/text()") == nets
        assert _amounts(ubl, "//cac:LegalMonetaryTotal/cbc:LineExtensionAmount/text()") == [sum(nets)]
        assert _amounts(ubl, "//cac:TaxSubtotal/cbc:TaxAmount/text()") == [t.tax.amount for t in inv.taxes]
        assert _amounts(ubl, "//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount/text()") == [inv.gross_total.amount]
        assert _amounts(ubl, "//cbc:PayableAmount/text()") == [inv.gross_total.amount - inv.amount_paid.amount]
        assert _amounts(cii, "//ram:LineTotalAmount/text()") == [*nets, sum(nets)]
        assert _amounts(cii, "//ram:DuePayableAmount/text()") == [inv.gross_total.amount - inv.amount_paid.amount]
        assert etree.fromstring(ubl).findtext("cbc:EndpointID", namespaces=NS) is None  # on the parties, not root
    with uow() as u:
        assert document_of(u, october.id).prepaid == Money.of("20.00", "EUR")


def test_exempt_and_zero_rated_invoices_carry_their_vat_category(engine, uow, clock):
    """An individual with a tax exemption (category E, its reason) and one on a zero-rated offering (Z)."""
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        seller.set_seller(u, SELLER_FIELDS)
        exempt = factories.account(u, "Diplomatic Mission", tax_exemption=[
            {"issuingJurisdiction": "DE", "reason": "Exempt under Art. 151 Directive 2006/112/EC"}])
        zero = factories.account(u, "Zara Zero")
        factories.subscribe(u, exempt.id, factories.offering(u).id, "+4915100000081")
        factories.subscribe(u, zero.id, factories.offering(u, "Export", tax_category="zero").id, "+4915100000082")
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    for account, category, reason in ((exempt, "E", "Exempt under Art. 151 Directive 2006/112/EC"),
                                      (zero, "Z", None)):
        with uow() as u:
            doc = document_of(u, invoice_of(uow, account.id, date(2026, 10, 1)).id)
        assert not doc.peppol  # an individual without an electronic address: EN 16931 only
        assert [(g.category, g.rate, g.exemption_reason) for g in doc.vat_groups] == [(category, D(0), reason)]
        assert fatal_failures(doc) == {"ubl": [], "cii": []}


def test_a_broken_document_fails_with_the_named_rule(engine, uow, clock):
    """Negative control on our own output: a payable amount that does not add up is BR-CO-16."""
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        seller.set_seller(u, SELLER_FIELDS)
        acc = factories.account(u)
        factories.subscribe(u, acc.id, factories.offering(u).id, "+4915100000091")
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    with uow() as u:
        doc = document_of(u, invoice_of(uow, acc.id, date(2026, 10, 1)).id)
    ubl = etree.fromstring(to_ubl(doc))
    ubl.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).text = "1.00"
    assert [f.id for f in fatal(validate(etree.tostring(ubl), "ubl"))] == ["BR-CO-16"]

"""Shared by the e-invoice tests: a seller profile and the check that a document renders valid UBL and CII."""

from __future__ import annotations

from openbss.billing.documents.cii import to_cii
from openbss.billing.documents.context import InvoiceDocument
from openbss.billing.documents.ubl import to_ubl
from openbss.billing.documents.validation import fatal, validate
from openbss.seller.model import ElectronicAddress, PostalAddress, SellerProfile

# A real-looking German operator: the VAT id and IBAN pass their checksums.
SELLER_FIELDS = {
    "name": "Nordnetz Telekom GmbH", "trading_name": "Nordnetz", "street": "Hafenstrasse 1", "city": "Hamburg",
    "post_code": "20457", "country": "DE", "vat_id": "DE136695976", "registration_id": "HRB 123456",
    "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "electronic_address_scheme": "9930",
    "electronic_address": "DE136695976", "contact_name": "Billing department",
    "contact_phone": "+49 40 123456", "contact_email": "billing@nordnetz.example",
    "invoice_note": "Nordnetz Telekom GmbH, Amtsgericht Hamburg HRB 123456",
}

SELLER = SellerProfile(
    name=SELLER_FIELDS["name"], trading_name="Nordnetz", vat_id="DE136695976", registration_id="HRB 123456",
    address=PostalAddress("DE", "Hafenstrasse 1", None, "Hamburg", "20457"), iban="DE89370400440532013000",
    bic="COBADEFFXXX", electronic_address=ElectronicAddress("9930", "DE136695976"),
    contact_name="Billing department", contact_phone="+49 40 123456", contact_email="billing@nordnetz.example", invoice_note=SELLER_FIELDS["invoice_note"],
)


def fatal_failures(doc: InvoiceDocument) -> dict[str, list[str]]:
    """The fatal assertions of the document's UBL (with Peppol when it applies) and CII, by syntax."""
    return {
        "ubl": [str(f) for f in fatal(validate(to_ubl(doc), "ubl", peppol=doc.peppol))],
        "cii": [str(f) for f in fatal(validate(to_cii(doc), "cii"))],
    }

"""The seller profile: who issues the invoices, as EN 16931 needs it (BG-4 seller, BG-16 payment instructions).

One profile per installation (an operator bills in its own name). Rules:
- name, country and a VAT id are required: every standard-rated invoice must carry the seller's VAT id
  (BR-S-2), and the address's country is BT-40 (BR-9). The VAT id is checked with python-stdnum as party
  checks a buyer's and kept compact (DE136695976).
- IBAN (BT-84) and BIC (BT-86) are checked with python-stdnum; an IBAN is what a credit transfer needs (BR-61).
- The electronic address (BT-34) is a Peppol participant identifier: an EAS scheme code (0088 GLN, 0204
  Leitweg-ID, 9930 German VAT, 0192 Norwegian org no, EM e-mail, ...) and the identifier in that scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

from openbss.core.errors import InvalidValue
from openbss.party.model import check_country, check_name, check_vat_id

# EAS: a four-digit ISO 6523 ICD code or one of the letter codes the Electronic Address Scheme list adds.
_EAS = re.compile(r"^(\d{4}|EM|AN|AQ|AS|AU)$")


@dataclass(frozen=True)
class PostalAddress:
    """A postal address as EN 16931 splits it (BG-5 / BG-8): street, extra line, city, post code, region, country."""

    country: str
    street: str | None = None
    additional: str | None = None
    city: str | None = None
    post_code: str | None = None
    subdivision: str | None = None


@dataclass(frozen=True)
class ElectronicAddress:
    """An electronic address (BT-34 / BT-49): an EAS scheme code and the identifier in that scheme."""

    scheme: str
    identifier: str


@dataclass(frozen=True)
class SellerProfile:
    name: str
    address: PostalAddress
    vat_id: str
    trading_name: str | None = None
    registration_id: str | None = None  # BT-30, the company register number (HRB 12345, SIREN, ...)
    iban: str | None = None
    bic: str | None = None
    electronic_address: ElectronicAddress | None = None
    contact_name: str | None = None  # BT-41, the seller contact point (Peppol DE-R-005 wants it within Germany)
    contact_phone: str | None = None  # BT-42 (DE-R-006)
    contact_email: str | None = None  # BT-43
    invoice_note: str | None = None  # BT-22 on every invoice, e.g. the legal notes an operator must print
    updated_at: datetime | None = None


def check_electronic_address(scheme: str | None, identifier: str | None, field: str = "electronicAddress",
                             scheme_field: str = "electronicAddressScheme") -> ElectronicAddress | None:
    if scheme is None and identifier is None:
        return None
    if not scheme or not _EAS.match(scheme):
        raise InvalidValue(scheme_field, scheme, "is not an EAS code such as 0088, 0204, 9930 or EM")
    if not identifier or not identifier.strip():
        raise InvalidValue(field, identifier, "must not be empty when a scheme is given")
    return ElectronicAddress(scheme, identifier.strip())


def check_seller(profile: SellerProfile) -> SellerProfile:
    """The whole profile's rules; returns it with the VAT id, IBAN and BIC in compact form."""
    check_name(profile.name)
    check_country(profile.address.country, "country")
    vat_id = check_vat_id(profile.vat_id)
    if vat_id is None:
        raise InvalidValue("vatId", None, "is required: standard-rated invoices carry the seller's VAT id (BR-S-2)")
    iban = bic = None
    if profile.iban is not None:
        if not stdnum_iban.is_valid(profile.iban):
            raise InvalidValue("iban", profile.iban, "is not a valid IBAN")
        iban = stdnum_iban.compact(profile.iban)
    if profile.bic is not None:
        if not stdnum_bic.is_valid(profile.bic):
            raise InvalidValue("bic", profile.bic, "is not a valid BIC")
        bic = stdnum_bic.compact(profile.bic)
    if profile.contact_email is not None and "@" not in profile.contact_email.strip("@"):
        raise InvalidValue("contactEmail", profile.contact_email, "is not an e-mail address")
    return SellerProfile(**{**profile.__dict__, "vat_id": vat_id, "iban": iban, "bic": bic})

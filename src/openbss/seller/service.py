"""Use cases of the seller profile: read it, set it (create or change, audited)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork
from openbss.seller.model import (
    ElectronicAddress,
    PostalAddress,
    SellerProfile,
    check_electronic_address,
    check_seller,
)
from openbss.seller.tables import seller_profile

ADDRESS_FIELDS = tuple(f.name for f in dataclasses.fields(PostalAddress))
PROFILE_FIELDS = tuple(f.name for f in dataclasses.fields(SellerProfile) if f.name not in ("address", "updated_at",
                                                                                              "electronic_address"))
# What `set_seller` accepts: the profile's own fields, the address's, and the electronic address's two parts.
SETTABLE = (*PROFILE_FIELDS, *ADDRESS_FIELDS, "electronic_address_scheme", "electronic_address")


def _profile(row: sa.Row) -> SellerProfile:
    m = row._mapping
    scheme, identifier = m["electronic_address_scheme"], m["electronic_address"]
    return SellerProfile(
        name=m["name"], trading_name=m["trading_name"], vat_id=m["vat_id"], registration_id=m["registration_id"],
        address=PostalAddress(country=m["country"], street=m["street"], additional=m["additional_street"],
                              city=m["city"], post_code=m["post_code"], subdivision=m["subdivision"]),
        iban=m["iban"], bic=m["bic"], contact_name=m["contact_name"], contact_phone=m["contact_phone"],
        contact_email=m["contact_email"], invoice_note=m["invoice_note"],
        electronic_address=ElectronicAddress(scheme, identifier) if identifier else None, updated_at=m["updated_at"],
    )


def _row(p: SellerProfile) -> dict[str, Any]:
    a, e = p.address, p.electronic_address
    return {
        "name": p.name, "trading_name": p.trading_name, "vat_id": p.vat_id, "registration_id": p.registration_id,
        "country": a.country, "street": a.street, "additional_street": a.additional, "city": a.city,
        "post_code": a.post_code, "subdivision": a.subdivision, "iban": p.iban, "bic": p.bic,
        "electronic_address_scheme": e.scheme if e else None, "electronic_address": e.identifier if e else None,
        "contact_name": p.contact_name, "contact_phone": p.contact_phone, "contact_email": p.contact_email,
        "invoice_note": p.invoice_note,
    }


def find_seller(uow: UnitOfWork) -> SellerProfile | None:
    row = uow.conn.execute(sa.select(seller_profile)).first()
    return _profile(row) if row else None


def get_seller(uow: UnitOfWork) -> SellerProfile:
    """The seller profile; a Conflict while none is set, since no legal invoice can be written without it."""
    profile = find_seller(uow)
    if profile is None:
        raise Conflict("no seller profile is set: run `openbss seller set --name ... --country ... --vat-id ...`")
    return profile


def set_seller(uow: UnitOfWork, changes: Mapping[str, Any]) -> SellerProfile:
    """Create the profile or change the given fields (names as in SETTABLE; None clears an optional one)."""
    unknown = sorted(set(changes) - set(SETTABLE))
    if unknown:
        raise InvalidValue(unknown[0], changes[unknown[0]], f"is not a seller profile field; known: {', '.join(SETTABLE)}")
    row = uow.conn.execute(sa.select(seller_profile).with_for_update()).first()
    before = _row(_profile(row)) if row else {}
    values = {**before, **{("additional_street" if k == "additional" else k): v for k, v in changes.items()}}
    scheme, identifier = values.get("electronic_address_scheme"), values.get("electronic_address")
    profile = check_seller(SellerProfile(
        name=values.get("name") or "", trading_name=values.get("trading_name"), vat_id=values.get("vat_id"),
        registration_id=values.get("registration_id"), iban=values.get("iban"), bic=values.get("bic"),
        address=PostalAddress(country=values.get("country") or "", street=values.get("street"),
                              additional=values.get("additional_street"), city=values.get("city"),
                              post_code=values.get("post_code"), subdivision=values.get("subdivision")),
        electronic_address=check_electronic_address(scheme, identifier),
        contact_name=values.get("contact_name"), contact_phone=values.get("contact_phone"),
        contact_email=values.get("contact_email"), invoice_note=values.get("invoice_note"),
    ))
    after = _row(profile)
    if row is None:
        profile_id = new_id()
        uow.conn.execute(sa.insert(seller_profile).values(id=profile_id, created_at=uow.now(), updated_at=uow.now(),
                                                          **after))
        audit.record(uow, "seller.created", "seller", profile_id, after=after)
    else:
        profile_id = row.id
        uow.conn.execute(sa.update(seller_profile).where(seller_profile.c.id == row.id)
                         .values(updated_at=uow.now(), **after))
        audit.record(uow, "seller.updated", "seller", profile_id, before=before, after=after)
    return dataclasses.replace(profile, updated_at=uow.now())

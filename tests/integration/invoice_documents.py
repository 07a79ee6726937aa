"""Invoices to print: a seller profile and one billed month of a customer with calls, built through the services."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from openbss.billing import service as billing
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.party import service as party
from openbss.seller import service as seller
from tests import factories

SELLER = {
    "name": "Nordwind Telekom GmbH", "vat_id": "DE136695976", "registration_id": "HRB 12345 Berlin",
    "street": "Friedrichstraße 100", "post_code": "10117", "city": "Berlin", "country": "DE",
    "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "contact_email": "billing@nordwind.example",
}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def set_seller(uow) -> None:
    with uow() as u:
        seller.set_seller(u, SELLER)


def billed_month(engine, uow, clock, *, name="Ada Lovelace", country="DE", time_zone="Europe/Berlin", monthly="30.00",
                 calls=(), msisdn="+4915100000001", characteristic=None):
    """An account subscribed on 2026-10-01 to Mobile M at `monthly` a month (voice 0.0020 per second), its
    `calls` ((usage date, seconds, destination), in October) rated, and its October invoice issued on Nov 1
    (the clock is set to 2026-10-01 09:00 UTC first, so one test may bill several such accounts)."""
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        offer = factories.offering(u, name=f"Mobile {name}", monthly=monthly)
        acc = factories.account(u, name, country=country, time_zone=time_zone)
        factories.subscribe(u, acc.id, offer.id, msisdn)
        if characteristic:
            party.update_customer(u, acc.customer_id, {"characteristic": characteristic})
    clock.move_to(utc(2026, 10, 31, 20))
    with uow() as u:
        result = mediation.ingest(u, [
            UsageRecord("msc", f"{msisdn}-{n}", msisdn, "voice", at, Decimal(seconds), destination)
            for n, (at, seconds, destination) in enumerate(calls)
        ])
        assert result.rejected == []
    clock.move_to(utc(2026, 11, 1, 6))
    with uow() as u:
        return billing.bill_account(u, acc.id, "2026-10")

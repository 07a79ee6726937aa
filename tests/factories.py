"""Build test data through the services (never by inserting rows), so tests exercise the real rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.money import Money
from openbss.ordering import service as ordering
from openbss.ordering.service import NewOrder, NewOrderItem
from openbss.party import service as party
from openbss.party.service import NewBillingAccount, NewCustomer

# usage type -> (price per block, block size in the usage type's unit: second, message, byte)
MOBILE_USAGE = {"voice": ("0.0020", 1), "sms": ("0.0900", 1), "data": ("0.0100", 1_000_000)}


def offering(u, name="Mobile M", monthly="30.00", currency="EUR", usage=None, tax_category="standard"):
    usage = MOBILE_USAGE if usage is None else usage
    prices = [NewPrice(kind="recurring", amount=Money.of(monthly, currency), period="month")]
    prices += [
        NewPrice(kind="usage", amount=Money.of(price, currency), usage_type=t, unit_size=Decimal(size))
        for t, (price, size) in usage.items()
    ]
    return catalog.create_offering(u, NewOffering(name=name, tax_category=tax_category, prices=prices))


def account(u, name="Ada Lovelace", currency="EUR", country="DE", bill_cycle_day=1, time_zone="Europe/Berlin",
            **terms):
    """A customer (an individual of `name`) with one billing account; `terms` are further NewBillingAccount fields
    (payment_terms_days, credit_limit, vat_id, parent_id, bill_to_parent, ...)."""
    c = party.create_customer(u, NewCustomer(name=name, email="ada@example.org"))
    return party.create_billing_account(
        u, NewBillingAccount(c.id, f"{name} account", currency, country, bill_cycle_day, time_zone, **terms)
    )


def subscribe(u, account_id, offering_id, service_id: str, start: datetime | None = None):
    """Order one offering for the account; returns its product (subscription): active, or pendingActive
    until a `start` in the future, when `ordering.complete_due_orders` activates it."""
    order = ordering.place_order(
        u, NewOrder(account_id=account_id, items=[NewOrderItem(offering_id=offering_id, service_id=service_id)],
                    requested_start=start)
    )
    return order.products[0]

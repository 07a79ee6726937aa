"""What every charge builder of the generator shares: the charge before numbering and tax (`Charge`), the context
of one account on one invoice (`Context`), and small rules on cycles and bundles."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from openbss.billing.periods import BillCycle, BillPeriod, cycle_of, local_date, period_containing
from openbss.core.money import Money

if TYPE_CHECKING:
    from openbss.billing.model import Subscriptions
    from openbss.catalog.model import ProductOffering
    from openbss.ordering.model import Product
    from openbss.party.model import BillingAccount


@dataclass(frozen=True)
class Charge:
    """A line before numbering and tax: what `generate` collects from recurring, one-time, fees and usage."""

    kind: str
    description: str
    product_id: uuid.UUID
    offering_id: uuid.UUID
    tax_category: str
    usage_type: str | None
    quantity: Decimal
    unit: str
    service_start: date | None
    service_end: date | None
    net: Money
    reverses_id: uuid.UUID | None = None
    component_id: uuid.UUID | None = None
    tax_included: bool = False  # `net` is the gross of a tax-inclusive price



def periods_between(first: BillPeriod, later: BillPeriod) -> int:
    return (later.start.year - first.start.year) * 12 + later.start.month - first.start.month


def cycle_start_on_or_after(at: datetime, bill_cycle_day: int, time_zone: str) -> datetime:
    period = period_containing(local_date(at, time_zone), bill_cycle_day, time_zone)
    return period.start_at if period.start_at >= at else period.next().start_at




def components(offering: ProductOffering, offerings: Mapping[uuid.UUID, ProductOffering]) -> list[ProductOffering]:
    """What a product on `offering` is charged for: the offering, and for a bundle each bundled offering too."""
    return [offering, *(offerings[o] for o in offering.bundled_offering_ids)]


@dataclass(frozen=True)
class Context:
    """What every charge of one account on one invoice needs."""

    payer: BillingAccount  # the invoice's account: its cycle, zone and currency
    subject: Subscriptions
    label: str  # "" for the payer's own products; "ACC-000002: " for a child's on a consolidated invoice
    rounding: str

    @property
    def currency(self) -> str:
        return self.payer.currency

    @property
    def cycle(self) -> BillCycle:
        return cycle_of(self.payer)

    def offering(self, offering_id: uuid.UUID) -> ProductOffering:
        return self.subject.offerings[offering_id]

    def held(self, at: datetime) -> set[uuid.UUID]:
        return {p.offering_id for p in self.subject.products if p.is_active_at(at)}

    def promotion_code(self, product: Product) -> str | None:
        """The promotion code the product was ordered with, from its activation event's details."""
        return next((e.details.get("promotionCode") for e in self.subject.events
                     if e.product_id == product.id and e.kind in ("activated", "trial_started")), None)

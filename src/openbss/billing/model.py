"""Invoices as billing's pure types (no I/O): lines, VAT breakdown, drafts, issued invoices, and what the generator
reads about an account (`Subscriptions`); the EN 16931 VAT breakdown rule (`vat_breakdown`).

The generator that turns subscriptions into a draft lives in billing.generator (its decisions are written
there); `generate`, `priced_on_totals`, `charged_spans` and `Span` are importable from here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openbss.billing.periods import BillPeriod
from openbss.billing.spans import Span as Span  # re-exported: importers of the generator's helpers
from openbss.billing.spans import charged_spans as charged_spans
from openbss.core.money import Money, total

if TYPE_CHECKING:
    from openbss.catalog.model import ProductOffering
    from openbss.mediation.model import UsageTotal
    from openbss.ordering.model import Product, ProductEvent
    from openbss.party.model import BillingAccount

# Line kinds. "recurring" and "discount" lines cover service days and are what a change of a product's life
# reverses; "oneTime" and "fee" (an early-termination fee) are charged once per product; "commitment" tops a
# product's usage up to its minimum spend for the period (billing.commitment).
LINE_KINDS = ("recurring", "discount", "oneTime", "fee", "usage", "commitment")
PRORATED_KINDS = ("recurring", "discount")
EXEMPT = "exempt"
INVOICE_STATES = ("sent", "partiallyPaid", "settled")
OPEN_STATES = ("sent", "partiallyPaid")

TaxRates = Callable[[str, str, date], Decimal]


@dataclass(frozen=True)
class InvoiceLine:
    id: uuid.UUID
    line_no: int
    kind: str  # one of LINE_KINDS
    description: str
    product_id: uuid.UUID
    offering_id: uuid.UUID
    usage_type: str | None
    quantity: Decimal
    unit: str
    service_start: date | None
    service_end: date | None
    net: Money
    tax_category: str
    tax_rate: Decimal
    reverses_id: uuid.UUID | None = None  # a credit: the line whose days it gives back
    # Recurring and discount lines: the offering whose recurring price the line charges (a bundled offering's
    # for a bundle). None on lines billed before it was recorded: they count for every charge of `offering_id`.
    component_id: uuid.UUID | None = None
    # A line priced tax-inclusive: the amount charged including VAT, from which `net` was derived. Only on a
    # draft (the issued invoice keeps the VAT breakdown it was issued with); None for tax-exclusive lines.
    gross: Money | None = None


@dataclass(frozen=True)
class InvoiceTax:
    tax_category: str
    tax_rate: Decimal
    taxable: Money
    tax: Money
    country: str | None = None  # the jurisdiction (billing.tax.Supply.country); None on invoices issued before


@dataclass(frozen=True)
class InvoiceDraft:
    account_id: uuid.UUID
    period: BillPeriod
    issue_date: date
    due_date: date
    currency: str
    lines: tuple[InvoiceLine, ...]
    taxes: tuple[InvoiceTax, ...]
    net_total: Money
    tax_total: Money
    gross_total: Money


@dataclass(frozen=True)
class Invoice:
    id: uuid.UUID
    number: str
    account_id: uuid.UUID
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    time_zone: str
    currency: str
    net_total: Money
    tax_total: Money
    gross_total: Money
    amount_paid: Money
    state: str
    created_at: datetime
    lines: tuple[InvoiceLine, ...] = ()
    taxes: tuple[InvoiceTax, ...] = ()

    @property
    def remaining(self) -> Money:
        return self.gross_total - self.amount_paid

    @property
    def period(self) -> BillPeriod:
        return BillPeriod(self.period_start, self.period_end, self.time_zone)


@dataclass(frozen=True)
class BilledLine:
    """An invoice line with the header of its invoice (TMF678 appliedCustomerBillingRate)."""

    invoice: Invoice
    line: InvoiceLine


@dataclass(frozen=True)
class OpenInvoice:
    id: uuid.UUID
    number: str
    issue_date: date
    gross: Money
    remaining: Money


@dataclass(frozen=True)
class Subscriptions:
    """One account's products and what billing reads about them: the generator's input per account.

    `offerings` holds every offering the products ran on (also before an upgrade) and the offerings bundled
    in a bundle; `events` are the account's product events (ordering.service.product_events); `segment` is
    the customer's segment, for loyalty discounts."""

    account: BillingAccount
    products: Sequence[Product]
    offerings: Mapping[uuid.UUID, ProductOffering]
    events: Sequence[ProductEvent] = ()
    usage_totals: Sequence[UsageTotal] = ()
    segment: str | None = None


def vat_breakdown(lines: Sequence[InvoiceLine], currency: str, rounding: str,
                  country: str | None = None) -> tuple[InvoiceTax, ...]:
    """EN 16931 VAT breakdown: one entry per (category, rate), tax rounded once per group. Reads only each
    line's tax_category, tax_rate and net (credit notes pass their own line type)."""
    groups: dict[tuple[str, Decimal], list[Money]] = {}
    for line in lines:
        groups.setdefault((line.tax_category, line.tax_rate), []).append(line.net)
    result = []
    for (category, rate), nets in sorted(groups.items()):
        taxable = total(nets, currency)
        result.append(InvoiceTax(category, rate, taxable, (taxable * rate).rounded(rounding), country))
    return tuple(result)




def __getattr__(name: str) -> Any:
    # The generator imports this module's types, so it is loaded on first use rather than imported above.
    if name in ("generate", "priced_on_totals"):
        from openbss.billing import generator, usage

        return getattr(generator if name == "generate" else usage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

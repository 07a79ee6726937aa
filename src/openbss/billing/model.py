"""Bill cycles and the invoice generator: pure types and rules, no I/O.

Decisions (the issue's, recorded here so the code can be read against them):

- Bill cycle periods. `YYYY-MM` names the period that STARTS in that month on the account's bill-cycle
  day at 00:00 in the account's time zone: BCD 15, "2026-10" = [2026-10-15 00:00, 2026-11-15 00:00)
  local. Periods are half-open; `period_end` and a line's `service_end` are the first day NOT covered.
  The bill run for a period runs after it closes and issues the invoice dated the period's end date
  (local); due date = issue date + 14 days.
- Telecom convention: recurring charges in advance, usage in arrears. The invoice for period P carries
  (a) every recurring charge not yet billed for a product, from its start up to the end of P+1 (the
  first invoice catches up a mid-period activation, prorated, and bills P+1 in advance; later invoices
  bill just P+1), and (b) all rated, unbilled usage dated before the end of P (late usage of earlier
  periods included), one line per product and usage type.
- Proration by calendar day in the account's time zone: fraction = days active in the period / days
  in the period (start Oct 10 in Oct 1 - Nov 1: 22/31). A product with `end_at` bills only the days
  before end_at's local date. No refunds in this slice: a period already billed is never re-billed.
- What is already billed is derived from the existing recurring invoice lines (product, service
  period), never from a mutable "billed through" flag, so `generate` is a pure function of its inputs
  (Kill Bill style): a cycle period of a product counts as billed when any existing recurring line of
  that product overlaps it.
- Each line is rounded once to the currency's minor units. VAT per EN 16931: lines are grouped by
  (tax category, rate), each group's tax = round(sum of its rounded line nets x rate), the invoice's
  tax is the sum of the groups, gross = net + tax: the invoice adds up to the cent. The tax point is
  the issue date.
- Recurring prices are taken in the account's currency and valid at the start of the charged span; an
  offering whose recurring prices exist only in other currencies is an InvalidValue for the account.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import RATED_QUANTUM, Money, total

if TYPE_CHECKING:
    from openbss.catalog.model import Price, ProductOffering
    from openbss.mediation.model import UsageTotal
    from openbss.ordering.model import Product
    from openbss.party.model import BillingAccount

PAYMENT_TERM = timedelta(days=14)
INVOICE_STATES = ("sent", "partiallyPaid", "settled")
OPEN_STATES = ("sent", "partiallyPaid")
_PERIOD = re.compile(r"(\d{4})-(\d{2})")

TaxRates = Callable[[str, str, date], Decimal]


@dataclass(frozen=True)
class BillPeriod:
    """One bill cycle period [start, end) in local dates of `time_zone`."""

    start: date
    end: date
    time_zone: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start, self.time_zone)

    @property
    def end_at(self) -> datetime:
        return local_midnight(self.end, self.time_zone)

    def next(self) -> BillPeriod:
        return BillPeriod(self.end, add_month(self.end), self.time_zone)


def local_midnight(day: date, time_zone: str) -> datetime:
    """00:00 of a local date as a UTC instant (zoneinfo resolves DST: no zone changes at midnight in CET)."""
    return datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)


def local_date(at: datetime, time_zone: str) -> date:
    return at.astimezone(ZoneInfo(time_zone)).date()


def add_month(day: date) -> date:
    # Bill-cycle days stop at 28, so the same day exists in every month.
    return date(day.year + day.month // 12, day.month % 12 + 1, day.day)


def parse_period(value: str, field: str = "period") -> tuple[int, int]:
    match = _PERIOD.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidValue(field, value, "must be a month as YYYY-MM, e.g. 2026-10")
    return int(match[1]), int(match[2])


def cycle_period(period: str, bill_cycle_day: int, time_zone: str) -> BillPeriod:
    """The account's bill cycle period that starts in the month `period` (YYYY-MM)."""
    year, month = parse_period(period)
    start = date(year, month, bill_cycle_day)
    return BillPeriod(start, add_month(start), time_zone)


def period_containing(day: date, bill_cycle_day: int, time_zone: str) -> BillPeriod:
    start = date(day.year, day.month, bill_cycle_day)
    if day < start:
        start = date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, bill_cycle_day)
    return BillPeriod(start, add_month(start), time_zone)


@dataclass(frozen=True)
class InvoiceLine:
    id: uuid.UUID
    line_no: int
    kind: str  # "recurring" | "usage"
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


@dataclass(frozen=True)
class InvoiceTax:
    tax_category: str
    tax_rate: Decimal
    taxable: Money
    tax: Money


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
class _Charge:
    """A line before numbering and tax: what `generate` collects from recurring and usage."""

    kind: str
    description: str
    product: Product
    offering: ProductOffering
    usage_type: str | None
    quantity: Decimal
    unit: str
    service_start: date | None
    service_end: date | None
    net: Money


def _recurring_prices(offering: ProductOffering, currency: str, at: datetime) -> list[Price]:
    priced_in = {p.currency for p in offering.prices if p.kind == "recurring"}
    if priced_in and currency not in priced_in:
        raise InvalidValue(
            "currency", currency,
            f"has no recurring price in offering {offering.name!r} (priced in {', '.join(sorted(priced_in))})",
        )
    return offering.recurring_prices(currency, at)


def _billed(product_id: uuid.UUID, period: BillPeriod, existing: Sequence[InvoiceLine]) -> bool:
    return any(
        line.product_id == product_id and line.service_start < period.end and period.start < line.service_end
        for line in existing
    )


def _recurring(
    account: BillingAccount, through: BillPeriod, product: Product, offering: ProductOffering,
    existing: Sequence[InvoiceLine], rounding: str,
) -> list[_Charge]:
    tz = account.time_zone
    first_day = local_date(product.start_at, tz)
    stop_day = min(through.end, local_date(product.end_at, tz)) if product.end_at else through.end
    charges = []
    period = period_containing(first_day, account.bill_cycle_day, tz)
    while period.start < stop_day:
        start, end = max(period.start, first_day), min(period.end, stop_day)
        if start < end and not _billed(product.id, period, existing):
            days = (end - start).days
            label = "" if days == period.days else f" ({days}/{period.days} days)"
            last_day = end - timedelta(days=1)
            for price in _recurring_prices(offering, account.currency, local_midnight(start, tz)):
                charges.append(_Charge(
                    kind="recurring",
                    description=f"{offering.name}, {start.isoformat()} to {last_day.isoformat()}{label}",
                    product=product, offering=offering, usage_type=None,
                    quantity=(Decimal(days) / period.days).quantize(RATED_QUANTUM), unit="month",
                    service_start=start, service_end=end,
                    # Multiply before dividing: 31.00 x 10 / 31 is exactly 10.00 even with rounding "up".
                    net=Money(price.amount.amount * days / period.days, account.currency).rounded(rounding),
                ))
        period = period.next()
    return charges


def _usage(
    usage_totals: Iterable[UsageTotal], products: dict[uuid.UUID, tuple[Product, ProductOffering]],
    currency: str, rounding: str,
) -> list[_Charge]:
    """One charge per product and usage type, in the order of `products`, rounded after summing."""
    grouped: dict[tuple[uuid.UUID, str], list[UsageTotal]] = {}
    for u in usage_totals:
        if u.product_id not in products:
            raise InvalidValue("usage.productId", str(u.product_id), "is not a product of this account")
        grouped.setdefault((u.product_id, u.usage_type), []).append(u)
    rank = {product_id: i for i, product_id in enumerate(products)}
    charges = []
    for (product_id, usage_type), totals in sorted(grouped.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1])):
        product, offering = products[product_id]
        charges.append(_Charge(
            kind="usage",
            description=f"{offering.name}, {usage_type} usage",
            product=product, offering=offering, usage_type=usage_type,
            quantity=sum((u.quantity for u in totals), Decimal(0)), unit=totals[0].unit,
            service_start=None, service_end=None,
            net=total((u.amount for u in totals), currency).rounded(rounding),
        ))
    return charges


def generate(
    account: BillingAccount,
    period: BillPeriod,
    products_with_offerings: Sequence[tuple[Product, ProductOffering]],
    existing_recurring_lines: Sequence[InvoiceLine],
    usage_totals: Sequence[UsageTotal],
    tax_rates: TaxRates,
    rounding: str,
) -> InvoiceDraft | None:
    """The invoice for `period` of `account`, or None when there is nothing to bill.

    Lines come product by product (oldest first): recurring spans in date order, then usage by type.
    A product's status needs no test: its start_at/end_at decide which days it is billed for.
    """
    products = {p.id: (p, o) for p, o in sorted(products_with_offerings, key=lambda po: (po[0].start_at, po[0].id))}
    through = period.next()
    charges = [
        c for p, o in products.values() for c in _recurring(account, through, p, o, existing_recurring_lines, rounding)
    ]
    charges += _usage(usage_totals, products, account.currency, rounding)
    if not charges:
        return None
    issue_date = period.end
    lines = tuple(
        InvoiceLine(
            id=new_id(), line_no=n, kind=c.kind, description=c.description, product_id=c.product.id,
            offering_id=c.offering.id, usage_type=c.usage_type, quantity=c.quantity, unit=c.unit,
            service_start=c.service_start, service_end=c.service_end, net=c.net, tax_category=c.offering.tax_category,
            tax_rate=tax_rates(account.country, c.offering.tax_category, issue_date),
        )
        for n, c in enumerate(charges, start=1)
    )
    taxes = vat_breakdown(lines, account.currency, rounding)
    net = total((line.net for line in lines), account.currency)
    tax = total((t.tax for t in taxes), account.currency)
    return InvoiceDraft(
        account_id=account.id, period=period, issue_date=issue_date, due_date=issue_date + PAYMENT_TERM,
        currency=account.currency, lines=lines, taxes=taxes, net_total=net, tax_total=tax, gross_total=net + tax,
    )


def vat_breakdown(lines: Sequence[InvoiceLine], currency: str, rounding: str) -> tuple[InvoiceTax, ...]:
    """EN 16931 VAT breakdown: one entry per (category, rate), tax rounded once per group."""
    groups: dict[tuple[str, Decimal], list[Money]] = {}
    for line in lines:
        groups.setdefault((line.tax_category, line.tax_rate), []).append(line.net)
    result = []
    for (category, rate), nets in sorted(groups.items()):
        taxable = total(nets, currency)
        result.append(InvoiceTax(category, rate, taxable, (taxable * rate).rounded(rounding)))
    return tuple(result)

"""Bill cycles and the invoice generator: pure types and rules, no I/O.

Decisions (the issue's, recorded here so the code can be read against them):

- Bill cycle periods. `YYYY-MM` names the period that STARTS in that month on the account's bill-cycle
  day at 00:00 in the account's time zone: BCD 15, "2026-10" = [2026-10-15 00:00, 2026-11-15 00:00)
  local. Periods are half-open; `period_end` and a line's `service_end` are the first day NOT covered.
  The bill run for a period runs after it closes and issues the invoice dated the period's end date
  (local); due date = issue date + the account's payment terms (`payment_terms_days`, 14 by default).
- Recurring charges by timing (`chargeTiming`, in advance by default), usage in arrears. The invoice for
  period P carries (a) every recurring charge not yet billed for a product whose term is billable (`_chunks`):
  in advance, terms that start before the end of P+1 (the first invoice catches up a mid-period activation,
  prorated, and bills P+1 in advance; later invoices bill just P+1); in arrears, terms that have ended by the
  end of P (a monthly price in arrears bills P on P's invoice), or whose product stopped before their end,
  (b) all rated, unbilled usage dated before the end of P (late usage of earlier periods included), one line
  per product and usage type, (c) one-time prices of products whose life started before the end of P, and
  early-termination fees of cancellations before the end of P.
- Terms of recurring prices (`charge_term`): a month is the bill cycle period; a quarter and a year are 3 and
  12 of them aligned to the year (quarters from the cycle periods starting in January, April, July, October;
  years from January's), so an annual fee is billed once a year, on the invoice for December's period, and an
  activation mid-year is prorated by day to the year's end (Oct 10 to Dec 31: 83/365). A day is a day; weeks
  run from the day the product moved to the offering. Day and week prices are billed as a count of days or
  weeks: one line per bill period with price × days / 7 (or × days); a week that straddles two bill periods
  is counted, whole, in the period it starts in when billed in advance, and in the period it ends in when
  billed in arrears (each term is billed on one invoice, before it starts or after it ends). Every charge is
  price × days / days of its term, so proration on activation and credits on cancellation are by day for
  every period. An invoice looks at product events up to the end of the longest term it may bill
  (`events_horizon`), so an end-of-term cancellation already decided shortens a year billed in advance.
- Usage is priced on the bill period's totals where the price needs them (`catalog.model.usage_charge`):
  a usage price with an allowance (`included_units`) or a block, graduated or volume model charges
  usage_charge(price, the quantity claimed for the line), rounded once; allowances are per bill period and
  per product, not prorated for a partial first period. Blocks are started blocks of the period's total, as
  the catalog defines the model (61 s + 30 s + 125 s in 60-second blocks is 4 blocks, not the 6 of per-call
  rounding, which would need a model of its own). The version is the one the subscription has at the
  period's start (`price_for_subscription`). A per-unit price without allowance keeps the sum of the
  per-record rated amounts, each rated at the price valid at its usage date. Late usage (dated in an
  earlier, already billed period) counts with the period it is billed in: an issued invoice is never
  reopened, so the earlier period's allowance and tiers stay as they were billed and the late quantity
  joins the current period's total (as a rating engine that closes its period counters at bill time does).
- The subscription's life is read from its product events (Kill Bill style, `charged_spans`): charged
  from `activated` / `trial_converted`, for the new offering from the day of an `upgraded` /
  `downgraded` (that day included), not between `suspended` and `resumed` when the suspension stops
  charges, until `cancelled` (immediate, or the end of term). Proration is by calendar day in the zone
  of the invoiced account: fraction = days / days in the term (Oct 10 to Oct 31 of October: 22/31).
- What is already billed is derived from the existing lines (product, offering, the charged component
  `component_id`, service days), never from a mutable "billed through" flag, so `generate` is a pure
  function of its inputs. Per offering, days billed and no longer due are CREDITED; per charge (offering
  and component), days due and not yet billed are CHARGED. A credit is a line of the same kind as the line it gives back (recurring, or discount for a
  discount) with negative quantity and amount, `reverses_id` naming that line, and the description
  starting "Credit:": it takes that line's own amount pro rata (net × days / line days), so it mirrors
  what was billed, whatever price or discount applies today. VAT follows the line (same category, rate
  of the new invoice's tax point). Ledger-wise a credit reduces the revenue of its kind.
- An invoice never totals below zero: when the credits of a period exceed its charges, the credits are
  left out and come back on the next invoice that has charges to set them against (a credit note for
  a customer who leaves with a credit is not issued yet).
- Prices: the recurring price version is chosen by `catalog.model.price_for_subscription` from when the
  product moved to the offering (keep: grandfathered; next_cycle: from the next cycle start on or after
  the new version's start), valid at the first charged day of the span. A bundle is charged its own
  prices plus those of each bundled offering. Discounts (`discount_applies`, `discount_amount`) follow
  each recurring charge they apply to as their own negative "discount" line, counted in bill periods
  from when the product moved to the offering (period 0 is the one it started in); a promotion's code
  is read from the activation event's details `promotionCode`.
- Parent pays: a child account with `bill_to_parent` has no invoice; its charges go on its payer's
  invoice, on the payer's cycle and zone, after the payer's own lines, each line's description starting
  with the child's account number.
- Each line is rounded once to the currency's minor units. VAT per EN 16931: lines are grouped by
  (tax category, rate), each group's tax = round(sum of its rounded line nets x rate), the invoice's
  tax is the sum of the groups, gross = net + tax: the invoice adds up to the cent. The tax point is
  the issue date. Where and how the invoice is taxed (`billing.tax.place_of_supply`: the seller's country,
  the account's country and VAT id) gives the tax country and each line's category: a tax-exempt account
  (TMF666 taxExemption) gets every line "exempt" at 0 %, a business in another EU member state
  "reverseCharge" at 0 %, a customer outside the EU where the operator does not collect tax "outOfScope".
- Tax-inclusive prices (`Price.tax_included`): the charge computed from the price (prorated, discounted,
  rounded once as any other) is the line's gross; its net = round(gross / (1 + rate)) at the line's rate.
  The group's tax is then round(sum of the exclusive lines' nets x rate) + the sum of (gross - net) of its
  inclusive lines, so the customer pays exactly the inclusive prices (9.99 incl. 19 %: net 8.39, VAT 1.60,
  gross 9.99, where round(8.39 x 0.19) would give 1.59 and 9.98). That tax stays within the one-unit
  tolerance EN 16931 allows a VAT group (BR-CO-17); if it would not, the group falls back to
  round(taxable x rate). At a 0 % rate (exempt, reverse charge) the inclusive price is the net.
- Recurring prices are taken in the account's currency; an offering whose recurring prices exist only in
  other currencies is an InvalidValue for the account.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from openbss.billing import tax
from openbss.billing.periods import (
    TERM_DAYS,
    BillPeriod,
    Term,
    charge_term,
    events_horizon,
    local_date,
    local_midnight,
    period_containing,
)
from openbss.catalog.model import discount_amount, discount_applies, price_for_subscription, usage_charge
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import RATED_QUANTUM, Money, total

if TYPE_CHECKING:
    from openbss.catalog.model import Price, ProductOffering
    from openbss.mediation.model import UsageTotal
    from openbss.ordering.model import Product, ProductEvent
    from openbss.party.model import BillingAccount

# Line kinds. "recurring" and "discount" lines cover service days and are what a change of a product's life
# reverses; "oneTime" and "fee" (an early-termination fee) are charged once per product.
LINE_KINDS = ("recurring", "discount", "oneTime", "fee", "usage")
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


@dataclass(frozen=True)
class _Charge:
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


@dataclass(frozen=True)
class Span:
    """Local days [start, end) on which a product is charged for `offering_id` (end None: still running);
    `since` is when the product moved to that offering (its price versions and discount periods count from
    there)."""

    offering_id: uuid.UUID
    start: date
    end: date | None
    since: datetime


def charged_spans(product: Product, events: Sequence[ProductEvent], time_zone: str) -> list[Span]:
    """The product's charged spans from its events (see ordering.service.product_events): charging starts at
    `activated` / `trial_converted`, moves to the new offering at `upgraded` / `downgraded` (the change day is
    the new offering's), pauses from `suspended` to `resumed` when the suspension stops charges, and ends at
    `cancelled`. A product without events (older data) is charged from start_at to end_at."""
    own = [e for e in events if e.product_id == product.id]
    if not own:
        end = local_date(product.end_at, time_zone) if product.end_at else None
        return [Span(product.offering_id, local_date(product.start_at, time_zone), end, product.start_at)]
    spans: list[Span] = []
    offering_id, since, charging_from = product.offering_id, product.start_at, None
    paused = False

    def close(at: datetime) -> None:
        if charging_from is not None:
            spans.append(Span(offering_id, local_date(charging_from, time_zone), local_date(at, time_zone), since))

    for e in own:
        if e.kind in ("activated", "trial_converted"):
            offering_id, since, charging_from = e.offering_id, e.at, e.at
        elif e.kind in ("upgraded", "downgraded"):
            close(e.at)
            offering_id, since = e.offering_id, e.at
            charging_from = None if paused else e.at
        elif e.kind == "suspended" and not e.details.get("chargeDuringSuspension", False):
            close(e.at)
            charging_from, paused = None, True
        elif e.kind == "resumed" and paused:
            charging_from, paused = e.at, False
        elif e.kind == "cancelled":
            close(e.at)
            charging_from = None
            break
    if charging_from is not None:
        spans.append(Span(offering_id, local_date(charging_from, time_zone), None, since))
    return [s for s in spans if s.end is None or s.start < s.end]


def _days(start: date, end: date) -> set[int]:
    """The days of [start, end) as proleptic ordinals (`date.toordinal`): a bill run builds and compares these
    sets for every product, and sets of ints cost a fraction of sets of dates."""
    return set(range(start.toordinal(), end.toordinal()))


def _ranges(days: Iterable[int]) -> list[tuple[date, date]]:
    """Contiguous [start, end) date ranges of a set of day ordinals, in date order."""
    result: list[list[int]] = []
    for day in sorted(days):
        if result and result[-1][1] == day:
            result[-1][1] = day + 1
        else:
            result.append([day, day + 1])
    return [(date.fromordinal(a), date.fromordinal(b)) for a, b in result]


def _periods_between(first: BillPeriod, later: BillPeriod) -> int:
    return (later.start.year - first.start.year) * 12 + later.start.month - first.start.month


def _cycle_start_on_or_after(at: datetime, bill_cycle_day: int, time_zone: str) -> datetime:
    period = period_containing(local_date(at, time_zone), bill_cycle_day, time_zone)
    return period.start_at if period.start_at >= at else period.next().start_at


def _recurring_price(offering: ProductOffering, currency: str, since: datetime, at: datetime,
                     bill_cycle_day: int, time_zone: str) -> Price | None:
    """The recurring price version that applies at `at` to a subscription on `offering` since `since`, under
    each version's change policy (keep: grandfathered; next_cycle: from the next cycle start)."""
    versions = [p for p in offering.prices if p.kind == "recurring"]
    priced_in = {p.currency for p in versions}
    if priced_in and currency not in priced_in:
        raise InvalidValue(
            "currency", currency,
            f"has no recurring price in offering {offering.name!r} (priced in {', '.join(sorted(priced_in))})",
        )
    versions = [p for p in versions if p.currency == currency]
    price = price_for_subscription(
        versions, since, at, lambda t: _cycle_start_on_or_after(t, bill_cycle_day, time_zone))
    # A charge whose first version started after the subscription did takes the version valid now.
    return price or next(iter(offering.recurring_prices(currency, at)), None)


def _components(offering: ProductOffering, offerings: Mapping[uuid.UUID, ProductOffering]) -> list[ProductOffering]:
    """What a product on `offering` is charged for: the offering, and for a bundle each bundled offering too."""
    return [offering, *(offerings[o] for o in offering.bundled_offering_ids)]


@dataclass(frozen=True)
class _Context:
    """What every charge of one account on one invoice needs."""

    payer: BillingAccount  # the invoice's account: its cycle, zone and currency
    subject: Subscriptions
    label: str  # "" for the payer's own products; "ACC-000002: " for a child's on a consolidated invoice
    rounding: str

    @property
    def currency(self) -> str:
        return self.payer.currency

    def offering(self, offering_id: uuid.UUID) -> ProductOffering:
        return self.subject.offerings[offering_id]

    def held(self, at: datetime) -> set[uuid.UUID]:
        return {p.offering_id for p in self.subject.products if p.is_active_at(at)}

    def promotion_code(self, product: Product) -> str | None:
        """The promotion code the product was ordered with, from its activation event's details."""
        return next((e.details.get("promotionCode") for e in self.subject.events
                     if e.product_id == product.id and e.kind in ("activated", "trial_started")), None)


@dataclass(frozen=True)
class _Chunk:
    """Days [start, end) of `term` of `price` that the invoice charges for `component` (the offering of `span`,
    or one it bundles; `index` is its place among them, for line order). Day and week charges of one bill
    period are merged into one chunk (`_merged`), so `bucket` is the start of the bill period the term is
    counted in."""

    span: Span
    component: ProductOffering
    index: int
    price: Price
    term: Term
    start: date
    end: date
    bucket: date


def _extent(period: str, days: int, term_days: int) -> str:
    """How much of its price a charge of `days` is, for its description: nothing for one whole month, quarter
    or year, "(22/31 days)" for part of one; "(4 weeks)", "(10/7 weeks)", "(30 days)" for week and day prices."""
    if period == "day":
        return f" ({days} day{'s' * (days != 1)})"
    if period == "week":
        return f" ({days // 7 if days % 7 == 0 else f'{days}/7'} week{'s' * (days != 7)})"
    return "" if days == term_days else f" ({days}/{term_days} days)"


def _recurring_charge(ctx: _Context, product: Product, chunk: _Chunk) -> list[_Charge]:
    """The charge of one chunk (its price × days / days of its term: 30.00 × 22/31 for 22 days of a 31-day
    month, 2.50 × 28/7 for four weeks), followed by the discounts that apply to it."""
    tz, payer = ctx.payer.time_zone, ctx.payer
    start, end, price, component = chunk.start, chunk.end, chunk.price, chunk.component
    at = local_midnight(start, tz)
    offering = ctx.offering(chunk.span.offering_id)
    days, term_days = (end - start).days, chunk.term.days
    when = f"{start.isoformat()} to {(end - timedelta(days=1)).isoformat()}{_extent(price.period, days, term_days)}"
    quantity = (Decimal(days) / term_days).quantize(RATED_QUANTUM)
    # Multiply before dividing: 31.00 x 10 / 31 is exactly 10.00 even with rounding "up".
    net = Money(price.amount.amount * days / term_days, ctx.currency).rounded(ctx.rounding)
    charges = [_Charge(
        "recurring", f"{ctx.label}{component.name}, {when}", product.id, offering.id, offering.tax_category,
        None, quantity, price.period, start, end, net, component_id=component.id, tax_included=price.tax_included)]
    index = _periods_between(period_containing(local_date(chunk.span.since, tz), payer.bill_cycle_day, tz),
                             period_containing(start, payer.bill_cycle_day, tz))
    for d in offering.discounts(at):
        if not discount_applies(d, segment=ctx.subject.segment, held_offering_ids=ctx.held(at),
                                promotion_code=ctx.promotion_code(product), at=at):
            continue
        if d.amount is not None and d.amount.currency != ctx.currency or d.applies_to not in (None, price.name):
            continue
        off = discount_amount(d, net, index).rounded(ctx.rounding)
        if off.is_zero():
            continue
        what = f"{d.percentage.normalize():f} %" if d.percentage is not None else str(d.amount)
        name = d.name or ("promotion " + d.promotion_code if d.promotion_code else "discount")
        charges.append(_Charge(
            "discount", f"{ctx.label}{name} ({what} off {component.name}), {when}", product.id, offering.id,
            offering.tax_category, None, quantity, price.period, start, end, -off, component_id=component.id,
            tax_included=price.tax_included))  # off an inclusive price, the discount is inclusive too
    return charges


def _reversal(ctx: _Context, line: InvoiceLine, start: date, end: date) -> _Charge:
    """Give back `line`'s charge for [start, end): its own amount pro rata, so the credit mirrors exactly what
    was billed (price version, discount) whatever the catalog says today. Its quantity counts in the line's
    unit, the period of the price it charged (lines billed before other periods existed say "month")."""
    days = (end - start).days
    line_days = (line.service_end - line.service_start).days
    if line.unit in TERM_DAYS:
        term_days, what = TERM_DAYS[line.unit], f"{days} day{'s' * (days != 1)}"
    else:
        term_days = charge_term(line.unit, start, ctx.payer.bill_cycle_day, ctx.payer.time_zone, start).days
        what = f"{days}/{term_days} days"
    return _Charge(
        line.kind, f"Credit: {line.description.split(', ')[0]}, {start.isoformat()} to "
        f"{(end - timedelta(days=1)).isoformat()} ({what} not used)",
        line.product_id, line.offering_id, line.tax_category, None,
        -(Decimal(days) / term_days).quantize(RATED_QUANTUM), line.unit, start, end,
        # Multiply before dividing, as for the charge: 30.00 x 21 / 30 = 21.00 exactly.
        -Money(line.net.amount * days / line_days, ctx.currency).rounded(ctx.rounding), reverses_id=line.id,
        component_id=line.component_id,
    )


def _chunks(ctx: _Context, period: BillPeriod, spans: Sequence[Span], component: ProductOffering, index: int,
    todo: set[int], due: set[int]) -> list[_Chunk]:
    """The days of `todo` (due, not billed; `spans` are the product's on one offering) that the invoice for `period` charges for `component`, cut at the
    terms of its price. In advance a term is billed once it starts before the next period ends (the invoice
    whose next period starts it; a term already running, e.g. at activation, is caught up at once). In arrears
    a term is billed once it has ended by the end of `period`, or when none of its days after `period` is
    `due` (the product stopped). Days are ordinals (`_days`). So a day or week price counts each day or week in the bill period it starts
    in (in advance) or ends in (in arrears)."""
    tz, bcd = ctx.payer.time_zone, ctx.payer.bill_cycle_day
    through = period.next()
    chunks = []
    for start, end in _ranges(todo):
        day = start
        while day < end:
            span = next(s for s in spans if s.start <= day and (s.end is None or day < s.end))
            price = _recurring_price(component, ctx.currency, span.since, local_midnight(day, tz), bcd, tz)
            if price is None:
                break
            term = charge_term(price.period, day, bcd, tz, local_date(span.since, tz))
            if price.charge_timing == "inArrears":
                billable = day < period.end and (term.end <= period.end or _days(period.end, term.end).isdisjoint(due))
                counted_in = term.end - timedelta(days=1)
            else:
                billable, counted_in = term.start < through.end, term.start
            if not billable:
                break
            stop = min(end, term.end)
            chunks.append(_Chunk(span, component, index, price, term, day, stop,
                                 period_containing(counted_in, bcd, tz).start))
            day = stop
    return chunks


def _merged(chunks: Sequence[_Chunk]) -> list[_Chunk]:
    """Consecutive day or week terms of one price counted in the same bill period make one line ("4 weeks");
    a month, quarter or year stays one line per term."""
    result: list[_Chunk] = []
    for c in chunks:
        last = result[-1] if result else None
        if (last is not None and c.price.period in TERM_DAYS and last.price.id == c.price.id
                and last.span == c.span and last.bucket == c.bucket and last.end == c.start):
            result[-1] = replace(last, end=c.end)
        else:
            result.append(c)
    return result


def _recurring(ctx: _Context, period: BillPeriod, product: Product, existing: Sequence[InvoiceLine]) -> list[_Charge]:
    """Recurring charges, discounts and credits of one product on the invoice for `period`: the days the
    product is charged for each offering (its spans) against the days already billed for each of its charges
    (existing lines less their reversals, per offering and component). Days billed and no longer due are
    credited; days due and not billed are charged when their term is billable (`_chunks`). Per bill period
    (of the line's first day), credits come first, then charges in date order, each followed by its
    discounts."""
    tz, bcd = ctx.payer.time_zone, ctx.payer.bill_cycle_day
    spans = charged_spans(product, ctx.subject.events, tz)
    mine = [line for line in existing if line.product_id == product.id and line.service_start is not None]
    reversed_days: dict[uuid.UUID, set[int]] = {}
    for line in mine:
        if line.reverses_id is not None:
            reversed_days.setdefault(line.reverses_id, set()).update(_days(line.service_start, line.service_end))
    billed = {line.id: _days(line.service_start, line.service_end) - reversed_days.get(line.id, set())
              for line in mine if line.reverses_id is None and line.kind in PRORATED_KINDS}
    # Days are due up to the end of the longest term this invoice may bill; open spans stop there.
    limit = local_date(events_horizon(period), tz)
    due: dict[uuid.UUID, set[int]] = {}
    for span in spans:
        due.setdefault(span.offering_id, set()).update(_days(span.start, limit if span.end is None else span.end))
    keyed: list[tuple[tuple, list[_Charge]]] = []
    for i, line in enumerate(mine):
        if line.id in billed:
            for start, end in _ranges(billed[line.id] - due.get(line.offering_id, set())):
                keyed.append(((period_containing(start, bcd, tz).start, 0, i, start), [_reversal(ctx, line, start, end)]))
    covered: dict[tuple[uuid.UUID, uuid.UUID | None], set[int]] = {}
    for line in mine:
        if line.id in billed and line.kind == "recurring":
            covered.setdefault((line.offering_id, line.component_id), set()).update(billed[line.id])
    for offering_id, days in due.items():
        own = [s for s in spans if s.offering_id == offering_id]
        for index, component in enumerate(_components(ctx.offering(offering_id), ctx.subject.offerings)):
            todo = days - covered.get((offering_id, component.id), set()) - covered.get((offering_id, None), set())
            for chunk in _merged(_chunks(ctx, period, own, component, index, todo, days)):
                key = (period_containing(chunk.start, bcd, tz).start, 1, chunk.start, index)
                keyed.append((key, _recurring_charge(ctx, product, chunk)))
    return [c for _, charges in sorted(keyed, key=lambda kv: kv[0]) for c in charges]


def _one_time(ctx: _Context, period: BillPeriod, product: Product, existing: Sequence[InvoiceLine]) -> list[_Charge]:
    """One-time prices of the offering the product started on, billed once on the invoice of the period its
    life started in (or the first one after), and the early-termination fee of an immediate cancellation."""
    tz = ctx.payer.time_zone
    done = {line.kind for line in existing if line.product_id == product.id}
    charges = []
    for e in ctx.subject.events:
        if e.product_id != product.id or local_date(e.at, tz) >= period.end:
            continue
        day = local_date(e.at, tz)
        if e.kind in ("activated", "trial_started") and "oneTime" not in done:
            offering = ctx.offering(e.offering_id)
            for component in _components(offering, ctx.subject.offerings):
                for price in component.one_time_prices(ctx.currency, e.at):
                    charges.append(_Charge(
                        "oneTime", f"{ctx.label}{component.name}: {price.name or 'one-time charge'}, {day.isoformat()}",
                        product.id, offering.id, offering.tax_category, None, Decimal(1), "each", day,
                        day + timedelta(days=1), price.amount.rounded(ctx.rounding), tax_included=price.tax_included))
        fee = e.details.get("earlyTerminationFee")
        if e.kind == "cancelled" and fee and "fee" not in done:
            offering = ctx.offering(e.offering_id)
            amount = Money.of(fee["value"], fee["unit"])
            if amount.currency != ctx.currency:
                raise InvalidValue("earlyTerminationFee.unit", amount.currency, f"differs from the account's {ctx.currency}")
            charges.append(_Charge(
                "fee", f"{ctx.label}{offering.name}: early-termination fee, cancelled {day.isoformat()}", product.id,
                offering.id, offering.tax_category, None, Decimal(1), "each", day, day + timedelta(days=1),
                amount.rounded(ctx.rounding)))
    return charges


def _usage_price(ctx: _Context, product: Product, usage_type: str, period: BillPeriod) -> Price | None:
    """The usage price a period's total is re-priced with: of the product's offering, or for a bundle without
    one, of the first bundled offering that has one (as rating finds it); the version the subscription has at
    the start of `period`, or at its move to the offering when later (`price_for_subscription`: keep or
    next_cycle, so one version holds for a whole period). None when the offering has no such price."""
    tz, bcd = ctx.payer.time_zone, ctx.payer.bill_cycle_day
    spans = charged_spans(product, ctx.subject.events, tz)
    since = spans[-1].since if spans else product.start_at
    at = max(period.start_at, since)
    for component in _components(ctx.offering(product.offering_id), ctx.subject.offerings):
        versions = [p for p in component.prices
                    if p.kind == "usage" and p.usage_type == usage_type and p.currency == ctx.currency]
        if versions:
            price = price_for_subscription(versions, since, at, lambda t: _cycle_start_on_or_after(t, bcd, tz))
            return price or component.usage_price(usage_type, ctx.currency, at)
    return None


def priced_on_totals(price: Price | None) -> bool:
    """Whether a usage price charges a period's total rather than each record: an allowance, blocks or tiers.
    Never a price rated with a rate table: rating charged each record by the table (zones, bands, increments)
    and already took its included units from allowance buckets, so its usage is the sum of the records."""
    return price is not None and price.rate_table is None and (
        (price.usage_model or "perUnit") != "perUnit" or price.included_units > 0)


def _usage(ctx: _Context, period: BillPeriod) -> list[_Charge]:
    """One charge per product and usage type, in product order, rounded once. A price per unit without an
    allowance charges the sum of the rated records (each rated to 6 decimals); a price with an allowance,
    blocks or tiers charges `usage_charge` of the total quantity claimed (late usage of earlier periods
    counts with this period's: see the module docstring). Rerating adjustments of a product's usage type
    follow its usage line on a line of their own, the sum of their signed differences (a credit when
    negative), never re-priced: quantity = the records adjusted."""
    products = {p.id: p for p in ctx.subject.products}
    grouped: dict[tuple[uuid.UUID, str, bool], list[UsageTotal]] = {}
    for u in ctx.subject.usage_totals:
        if u.product_id not in products:
            raise InvalidValue("usage.productId", str(u.product_id), "is not a product of this account")
        grouped.setdefault((u.product_id, u.usage_type, u.adjustment), []).append(u)
    rank = {product_id: i for i, product_id in enumerate(products)}
    charges = []
    for (product_id, usage_type, adjustment), totals in sorted(
            grouped.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1], kv[0][2])):
        # Usage is the offering's the product has now: rated usage carries no offering of its own.
        product = products[product_id]
        offering = ctx.offering(product.offering_id)
        if adjustment:
            charges.append(_Charge(
                "usage", f"{ctx.label}{offering.name}, {usage_type} usage rerating adjustment", product_id,
                offering.id, offering.tax_category, usage_type, Decimal(sum(u.count for u in totals)), "each",
                None, None, total((u.amount for u in totals), ctx.currency).rounded(ctx.rounding)))
            continue
        quantity, unit = sum((u.quantity for u in totals), Decimal(0)), totals[0].unit
        price = _usage_price(ctx, product, usage_type, period)
        description = f"{ctx.label}{offering.name}, {usage_type} usage"
        if any(u.late for u in totals):  # arrived after its period was billed: priced with this period's
            late = "late," if all(u.late for u in totals) else "with late usage"
            description += f" ({late} from before {period.start.isoformat()})"
        if priced_on_totals(price):
            net = usage_charge(price, quantity)
            if price.included_units:
                description += f" ({price.included_units.normalize():f} {unit}s included)"
        else:
            net = total((u.amount for u in totals), ctx.currency)
        charges.append(_Charge(
            "usage", description, product_id, offering.id, offering.tax_category, usage_type, quantity, unit,
            None, None, net.rounded(ctx.rounding), tax_included=price is not None and price.tax_included,
        ))
    return charges


def _charges(ctx: _Context, period: BillPeriod, existing: Sequence[InvoiceLine]) -> list[_Charge]:
    products = sorted(ctx.subject.products, key=lambda p: (p.start_at, p.id))
    charges = []
    for p in products:
        charges += _one_time(ctx, period, p, existing)
        charges += _recurring(ctx, period, p, existing)
    return charges + _usage(replace(ctx, subject=replace(ctx.subject, products=products)), period)


def generate(
    payer: Subscriptions,
    period: BillPeriod,
    existing_lines: Sequence[InvoiceLine],
    tax_rates: TaxRates,
    rounding: str,
    children: Sequence[Subscriptions] = (),
    *,
    seller_country: str | None = None,
) -> InvoiceDraft | None:
    """The invoice for `period` of `payer.account`, or None when there is nothing to bill.

    `existing_lines` are the lines already billed (on any invoice) for the products of `payer` and
    `children`, all kinds but usage. `children` are the accounts whose charges go on this invoice ("parent
    pays"): each is charged on the payer's cycle, in the payer's zone, and its lines follow the payer's own,
    account by account, each description starting with the child's account number. Per account, lines come
    product by product (oldest first): one-time charges, recurring spans in date order with their discounts
    and credits, then usage by type. `seller_country` (the seller profile's; None when no profile is set)
    decides with the payer's country and VAT id where the invoice is taxed (`billing.tax.place_of_supply`).
    """
    account = payer.account
    charges = []
    for subject in (payer, *children):
        label = "" if subject is payer else f"{subject.account.number}: "
        charges += _charges(_Context(account, subject, label, rounding), period, existing_lines)
    supply = tax.place_of_supply(seller_country, account.country, account.vat_id, account.tax_exempt)
    draft = _draft(account, period, charges, supply, tax_rates, rounding)
    if draft is not None and draft.gross_total.amount < 0:
        # Credits larger than the charges would make a credit note, which billing does not issue: they wait
        # for the next invoice with charges, where `generate` finds them again (nothing is stored meanwhile).
        draft = _draft(account, period, [c for c in charges if c.reverses_id is None], supply, tax_rates, rounding)
    return draft


def _draft(account: BillingAccount, period: BillPeriod, charges: Sequence[_Charge], supply: tax.Supply,
           tax_rates: TaxRates, rounding: str) -> InvoiceDraft | None:
    if not charges:
        return None
    issue_date = period.end
    lines = []
    for n, c in enumerate(charges, start=1):
        # VAT follows the invoiced party: an exempt payer's lines are all exempt, credits included.
        category = supply.category(c.tax_category)
        rate = tax_rates(supply.country, category, issue_date)
        net, gross = c.net, None
        if c.tax_included:
            gross, net = c.net, Money(c.net.amount / (1 + rate), c.net.currency).rounded(rounding)
        lines.append(InvoiceLine(
            id=new_id(), line_no=n, kind=c.kind, description=c.description, product_id=c.product_id,
            offering_id=c.offering_id, usage_type=c.usage_type, quantity=c.quantity, unit=c.unit,
            service_start=c.service_start, service_end=c.service_end, net=net, tax_category=category,
            tax_rate=rate, reverses_id=c.reverses_id, component_id=c.component_id, gross=gross,
        ))
    taxes = _keeping_gross(vat_breakdown(lines, account.currency, rounding, supply.country), lines, rounding)
    net = total((line.net for line in lines), account.currency)
    tax_total = total((t.tax for t in taxes), account.currency)
    return InvoiceDraft(
        account_id=account.id, period=period, issue_date=issue_date,
        due_date=issue_date + timedelta(days=account.payment_terms_days), currency=account.currency,
        lines=tuple(lines), taxes=taxes, net_total=net, tax_total=tax_total, gross_total=net + tax_total,
    )


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


def _keeping_gross(taxes: Sequence[InvoiceTax], lines: Sequence[InvoiceLine], rounding: str) -> tuple[InvoiceTax, ...]:
    """The breakdown with each group holding tax-inclusive lines taxed so that they keep their gross: round(the
    exclusive lines' nets x rate) + the sum of (gross - net) of the inclusive ones, unless that is 1 unit or more
    away from round(taxable x rate), which EN 16931 would refuse (BR-CO-17)."""
    result = []
    for t in taxes:
        members = [line for line in lines if (line.tax_category, line.tax_rate) == (t.tax_category, t.tax_rate)]
        inclusive = [line for line in members if line.gross is not None]
        if inclusive:
            exclusive = total((line.net for line in members if line.gross is None), t.taxable.currency)
            kept = ((exclusive * t.tax_rate).rounded(rounding)
                    + total((line.gross - line.net for line in inclusive), t.taxable.currency))
            if abs(kept.amount - t.tax.amount) < 1:
                t = replace(t, tax=kept)
        result.append(t)
    return tuple(result)

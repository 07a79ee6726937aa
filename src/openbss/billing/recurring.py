"""Recurring charges of one product on an invoice: charges cut at the terms of their prices, their discounts, and
credits for days billed and no longer due (see billing.generator for the rules). Pure, no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from openbss.billing.charges import Charge, Context, components, cycle_start_on_or_after, periods_between
from openbss.billing.model import PRORATED_KINDS, InvoiceLine
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
from openbss.billing.spans import Span, charged_spans, date_ranges, day_ordinals
from openbss.catalog.model import discount_amount, discount_applies, price_for_subscription
from openbss.core.errors import InvalidValue
from openbss.core.money import RATED_QUANTUM, Money

if TYPE_CHECKING:
    from openbss.catalog.model import Price, ProductOffering
    from openbss.ordering.model import Product


def recurring_price(offering: ProductOffering, currency: str, since: datetime, at: datetime,
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
        versions, since, at, lambda t: cycle_start_on_or_after(t, bill_cycle_day, time_zone))
    # A charge whose first version started after the subscription did takes the version valid now.
    return price or next(iter(offering.recurring_prices(currency, at)), None)



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


def _recurring_charge(ctx: Context, product: Product, chunk: _Chunk) -> list[Charge]:
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
    charges = [Charge(
        "recurring", f"{ctx.label}{component.name}, {when}", product.id, offering.id, offering.tax_category,
        None, quantity, price.period, start, end, net, component_id=component.id, tax_included=price.tax_included)]
    index = periods_between(period_containing(local_date(chunk.span.since, tz), payer.bill_cycle_day, tz),
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
        charges.append(Charge(
            "discount", f"{ctx.label}{name} ({what} off {component.name}), {when}", product.id, offering.id,
            offering.tax_category, None, quantity, price.period, start, end, -off, component_id=component.id,
            tax_included=price.tax_included))  # off an inclusive price, the discount is inclusive too
    return charges


def _reversal(ctx: Context, line: InvoiceLine, start: date, end: date) -> Charge:
    """Give back `line`'s charge for [start, end): its own amount pro rata, so the credit mirrors exactly what
    was billed (price version, discount) whatever the catalog says today. Its quantity counts in the line's
    unit, the period of the price it charged (lines billed before other periods existed say "month")."""
    days = (end - start).days
    line_days = (line.service_end - line.service_start).days
    if line.unit in TERM_DAYS:
        term_days, what = TERM_DAYS[line.unit], f"{days} day{'s' * (days != 1)}"
    else:
        term_days = charge_term(line.unit, start, ctx.payer.bill_cycle_day, ctx.payer.time_zone, start,
                                ctx.cycle.origin_month).days
        what = f"{days}/{term_days} days"
    return Charge(
        line.kind, f"Credit: {line.description.split(', ')[0]}, {start.isoformat()} to "
        f"{(end - timedelta(days=1)).isoformat()} ({what} not used)",
        line.product_id, line.offering_id, line.tax_category, None,
        -(Decimal(days) / term_days).quantize(RATED_QUANTUM), line.unit, start, end,
        # Multiply before dividing, as for the charge: 30.00 x 21 / 30 = 21.00 exactly.
        -Money(line.net.amount * days / line_days, ctx.currency).rounded(ctx.rounding), reverses_id=line.id,
        component_id=line.component_id,
    )


def _chunks(ctx: Context, period: BillPeriod, spans: Sequence[Span], component: ProductOffering, index: int,
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
    for start, end in date_ranges(todo):
        day = start
        while day < end:
            span = next(s for s in spans if s.start <= day and (s.end is None or day < s.end))
            price = recurring_price(component, ctx.currency, span.since, local_midnight(day, tz), bcd, tz)
            if price is None:
                break
            term = charge_term(price.period, day, bcd, tz, local_date(span.since, tz), ctx.cycle.origin_month)
            if price.charge_timing == "inArrears":
                billable = day < period.end and (term.end <= period.end or day_ordinals(period.end, term.end).isdisjoint(due))
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


def recurring_charges(ctx: Context, period: BillPeriod, product: Product, existing: Sequence[InvoiceLine]) -> list[Charge]:
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
            reversed_days.setdefault(line.reverses_id, set()).update(day_ordinals(line.service_start, line.service_end))
    billed = {line.id: day_ordinals(line.service_start, line.service_end) - reversed_days.get(line.id, set())
              for line in mine if line.reverses_id is None and line.kind in PRORATED_KINDS}
    # Days are due up to the end of the longest term this invoice may bill; open spans stop there.
    limit = local_date(events_horizon(period), tz)
    due: dict[uuid.UUID, set[int]] = {}
    for span in spans:
        due.setdefault(span.offering_id, set()).update(day_ordinals(span.start, limit if span.end is None else span.end))
    keyed: list[tuple[tuple, list[Charge]]] = []
    for i, line in enumerate(mine):
        if line.id in billed:
            for start, end in date_ranges(billed[line.id] - due.get(line.offering_id, set())):
                keyed.append(((period_containing(start, bcd, tz).start, 0, i, start), [_reversal(ctx, line, start, end)]))
    covered: dict[tuple[uuid.UUID, uuid.UUID | None], set[int]] = {}
    for line in mine:
        if line.id in billed and line.kind == "recurring":
            covered.setdefault((line.offering_id, line.component_id), set()).update(billed[line.id])
    for offering_id, days in due.items():
        own = [s for s in spans if s.offering_id == offering_id]
        for index, component in enumerate(components(ctx.offering(offering_id), ctx.subject.offerings)):
            todo = days - covered.get((offering_id, component.id), set()) - covered.get((offering_id, None), set())
            for chunk in _merged(_chunks(ctx, period, own, component, index, todo, days)):
                key = (period_containing(chunk.start, bcd, tz).start, 1, chunk.start, index)
                keyed.append((key, _recurring_charge(ctx, product, chunk)))
    return [c for _, charges in sorted(keyed, key=lambda kv: kv[0]) for c in charges]

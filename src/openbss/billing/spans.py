"""A product's charged spans, read from its product events, and the day sets billing compares: pure, no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from openbss.billing.periods import local_date

if TYPE_CHECKING:
    from openbss.ordering.model import Product, ProductEvent


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


def day_ordinals(start: date, end: date) -> set[int]:
    """The days of [start, end) as proleptic ordinals (`date.toordinal`): a bill run builds and compares these
    sets for every product, and sets of ints cost a fraction of sets of dates."""
    return set(range(start.toordinal(), end.toordinal()))


def date_ranges(days: Iterable[int]) -> list[tuple[date, date]]:
    """Contiguous [start, end) date ranges of a set of day ordinals, in date order."""
    ordered = sorted(days)
    if ordered and ordered[-1] - ordered[0] + 1 == len(ordered):  # one range: the usual case, no walk needed
        return [(date.fromordinal(ordered[0]), date.fromordinal(ordered[-1] + 1))]
    result: list[list[int]] = []
    for day in ordered:
        if result and result[-1][1] == day:
            result[-1][1] = day + 1
        else:
            result.append([day, day + 1])
    return [(date.fromordinal(a), date.fromordinal(b)) for a, b in result]

"""Product orders and the products (subscriptions) they create: pure types, state machines and term rules.

Product events are the subscription's history as billing reads it (Kill Bill style: charges are a pure
function of the events). Each event is written by the use case that decides it, dated `at`, the instant it
takes effect: an activation found due by the scheduler is still dated at the product's start, and a
cancellation at the end of the term is dated at the term's end (the only event that may lie in the future
when written, so that billing in advance already sees where the product stops).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money

ORDER_ACTIONS = ("add", "modify", "delete", "noChange")

# TMF622 ProductOrderStateType, the subset openbss reaches. A client may only ask for inProgress (submit a
# captured order) or cancelled; completed, failed and partial are reached by fulfilment alone.
ORDER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "acknowledged": ("inProgress", "pendingCancellation"),
    "inProgress": ("completed", "failed", "partial", "pendingCancellation"),
    "pendingCancellation": ("cancelled",),
    "completed": (),
    "failed": (),
    "partial": (),
    "cancelled": (),
}
ORDER_STATES = tuple(ORDER_TRANSITIONS)
CLIENT_ORDER_STATES = ("inProgress", "cancelled")

# TMF637 ProductStatusType. A product is "live" (holds its service id) from creation until it ends.
PRODUCT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "created": ("pendingActive", "active", "cancelled", "aborted"),
    "pendingActive": ("active", "cancelled", "aborted"),
    "active": ("suspended", "pendingTerminate", "terminated"),
    "suspended": ("active", "pendingTerminate", "terminated"),
    "pendingTerminate": ("terminated",),
    "cancelled": (),
    "aborted": (),
    "terminated": (),
}
PRODUCT_STATUSES = tuple(PRODUCT_TRANSITIONS)
LIVE_STATUSES = ("created", "pendingActive", "active", "suspended", "pendingTerminate")

EVENT_KINDS = (
    "activated", "upgraded", "downgraded", "suspended", "resumed", "cancelled", "renewed", "trial_started",
    "trial_converted",
)


@dataclass(frozen=True)
class Term:
    """A contract term: `months` long from `start_at`; cancelling before `end_at` costs the fee, if any."""

    months: int
    start_at: datetime
    end_at: datetime
    auto_renew: bool
    early_termination_fee: Money | None = None


@dataclass(frozen=True)
class Product:
    id: uuid.UUID
    account_id: uuid.UUID
    offering_id: uuid.UUID
    order_id: uuid.UUID
    service_id: str
    status: str
    start_at: datetime
    end_at: datetime | None
    created_at: datetime
    trial_end_at: datetime | None = None
    term: Term | None = None
    related_party: tuple[dict[str, Any], ...] = ()

    def is_active_at(self, at: datetime) -> bool:
        """The product's life is half-open [start_at, end_at): usage at the termination instant is not its own."""
        return self.start_at <= at and (self.end_at is None or at < self.end_at)


@dataclass(frozen=True)
class NewTerm:
    months: int
    auto_renew: bool = False


@dataclass(frozen=True)
class ProductOrderItem:
    id: uuid.UUID
    action: str
    offering_id: uuid.UUID | None
    service_id: str | None
    product_id: uuid.UUID | None
    label: str = ""  # the TMF item id: the client's, unique in its order
    state: str = "completed"
    trial_days: int | None = None
    term: NewTerm | None = None
    early_termination_fee: Money | None = None
    promotion_code: str | None = None  # billing applies the offering's discounts that carry this code


@dataclass(frozen=True)
class ProductOrder:
    id: uuid.UUID
    account_id: uuid.UUID | None
    state: str
    requested_start: datetime | None
    completed_at: datetime | None
    created_at: datetime
    items: tuple[ProductOrderItem, ...]
    products: tuple[Product, ...]
    requested_completion: datetime | None = None
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None
    external_id: str | None = None
    category: str | None = None
    priority: str | None = None
    description: str | None = None
    notes: tuple[dict[str, Any], ...] = ()
    related_party: tuple[dict[str, Any], ...] = ()
    channel: str | None = None


@dataclass(frozen=True)
class ProductEvent:
    id: uuid.UUID
    product_id: uuid.UUID
    account_id: uuid.UUID
    kind: str
    at: datetime
    offering_id: uuid.UUID
    from_offering_id: uuid.UUID | None
    details: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


def check_order_transition(order_id: uuid.UUID, current: str, target: str) -> str:
    if target not in ORDER_TRANSITIONS[current]:
        raise Conflict(f"productOrder {order_id} is {current}; it cannot become {target}")
    return target


def check_product_transition(product_id: uuid.UUID, current: str, target: str) -> str:
    if target not in PRODUCT_TRANSITIONS[current]:
        raise Conflict(f"product {product_id} is {current}; it cannot become {target}")
    return target


def outcome(item_states: list[str]) -> str:
    """The order's final state from its items': all done, none done, or some of each."""
    done = sum(s == "completed" for s in item_states)
    if done == len(item_states):
        return "completed"
    return "failed" if done == 0 else "partial"


def add_months(at: datetime, months: int, zone: ZoneInfo) -> datetime:
    """`months` calendar months after `at` on the account's local calendar, at the same local time; a day
    missing in the target month (31 January + 1 month) becomes its last day. Returned in UTC."""
    local = at.astimezone(zone)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    last = (datetime(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return local.replace(year=year, month=month, day=min(local.day, last)).astimezone(UTC)


def add_days(at: datetime, days: int, zone: ZoneInfo) -> datetime:
    """`days` local calendar days after `at` (a trial of 14 days ends at the same wall-clock time)."""
    return (at.astimezone(zone) + timedelta(days=days)).astimezone(UTC)


def new_term(t: NewTerm, start: datetime, zone: ZoneInfo, fee: Money | None) -> Term:
    return Term(t.months, start, add_months(start, t.months, zone), t.auto_renew, fee)


def renewed(term: Term, zone: ZoneInfo) -> Term:
    """The next term: as long as the last one, starting where it ended."""
    return Term(term.months, term.end_at, add_months(term.end_at, term.months, zone), term.auto_renew,
                term.early_termination_fee)


def early_termination_fee(product: Product, at: datetime) -> Money | None:
    """The fee due when the product ends at `at`: the whole fee, if a term with one is still running."""
    term = product.term
    if term is None or term.early_termination_fee is None or at >= term.end_at:
        return None
    return term.early_termination_fee


def change_kind(old_recurring: Money, new_recurring: Money) -> str:
    """A change to an offering whose recurring charge is not lower is an upgrade; a cheaper one a downgrade."""
    return "upgraded" if new_recurring >= old_recurring else "downgraded"


def check_unique_service_ids(service_ids: list[str | None], field: str) -> None:
    """Two items of one order cannot subscribe the same service id: usage could not tell them apart."""
    seen: dict[str, int] = {}
    for i, sid in enumerate(service_ids):
        if sid is None:
            continue
        if sid in seen:
            raise InvalidValue(field.format(i=i), sid, f"is also ordered by productOrderItem[{seen[sid]}]")
        seen[sid] = i


def check_unique_labels(labels: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label in seen:
            raise InvalidValue(f"productOrderItem[{i}].id", label, f"is also the id of productOrderItem[{seen[label]}]")
        seen[label] = i


def check_start(value: datetime | None, field: str = "requestedStartDate") -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidValue(field, value.isoformat(), "must carry a time zone offset")

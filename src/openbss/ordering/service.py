"""Use cases for product orders and the product inventory. Each takes a UnitOfWork and never commits.

An order is placed in one of two ways. With a billing account it is validated in full (422 naming the field
on any bad item, nothing written) and fulfilled: at once when its requested start is not in the future
(state completed), otherwise it waits in state inProgress, its new products reserved as pendingActive, until
`complete_due_orders` runs at the start. Without a billing account (TMF622 allows it) the order is only
captured: state acknowledged, items stored as sent, until a PATCH supplies the account and moves it to
inProgress. Every change to a product is an audited row change plus a dated product event (see model.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.catalog import service as catalog
from openbss.catalog.model import Price, ProductOffering, is_eligible
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money, total
from openbss.db.query import among, paged
from openbss.db.uow import UnitOfWork
from openbss.ordering.model import (
    LIVE_STATUSES,
    ORDER_ACTIONS,
    NewTerm,
    Product,
    ProductEvent,
    ProductOrder,
    ProductOrderItem,
    Term,
    add_days,
    change_kind,
    check_order_transition,
    check_product_transition,
    check_start,
    check_unique_labels,
    check_unique_service_ids,
    early_termination_fee,
    new_term,
    outcome,
    renewed,
)
from openbss.ordering.tables import product, product_event, product_order, product_order_item
from openbss.party import service as party
from openbss.party.model import BillingAccount, check_name

ORDER_FILTERS = {"state": product_order.c.state, "externalId": product_order.c.external_id,
                 "category": product_order.c.category, "priority": product_order.c.priority}
PRODUCT_FILTERS = {"status": product.c.status}
# Parsed rather than compared as text: ids, the account id (billingAccountId) and dates.
ID_FILTER = "id"
ACCOUNT_FILTER = "billingAccountId"
ORDER_DATE_FILTER = "orderDate"
SERVICE_ID_FIELD = "productOrderItem[{i}].product.productCharacteristic.serviceId"
# The APIs' base-path names, as TMF688 events name them (TMF622, TMF637).
ORDERING_API = "productOrderingManagement"
INVENTORY_API = "productInventory"
# The prices TMF637 shows on a product: what it is charged while it runs (one-time fees were charged once).
CHARGED_KINDS = ("recurring", "usage")


@dataclass(frozen=True)
class NewOrderItem:
    offering_id: uuid.UUID | None
    service_id: str | None = None
    action: str = "add"
    product_id: uuid.UUID | None = None  # the existing product a modify, delete or noChange item is about
    label: str | None = None  # the client's item id; "1", "2"... by position when absent
    trial_days: int | None = None
    term: NewTerm | None = None
    early_termination_fee: Money | None = None
    promotion_code: str | None = None


@dataclass(frozen=True)
class NewOrder:
    account_id: uuid.UUID | None
    items: list[NewOrderItem]
    requested_start: datetime | None = None
    requested_completion: datetime | None = None
    external_id: str | None = None
    category: str | None = None
    priority: str | None = None
    description: str | None = None
    notes: tuple[dict[str, Any], ...] = ()
    related_party: tuple[dict[str, Any], ...] = ()
    channel: str | None = None  # the sales channel's code, for the offerings' eligibility


@dataclass(frozen=True)
class Buyer:
    """Who orders through which channel: what an offering's eligibility is checked against."""

    account: BillingAccount
    segment: str | None
    channel: str | None


@dataclass(frozen=True)
class ProductView:
    """A product as TMF637 shows it: with the prices it is charged now, in its account's currency."""

    product: Product
    prices: tuple[Price, ...]


# ------------------------------------------------------------------------------------------ rows <-> types


def _utc(at: datetime | None) -> datetime | None:
    # Stored and echoed in UTC, so the create response equals every later read.
    return at.astimezone(UTC) if at is not None else None


def _money(amount, currency) -> Money | None:
    return Money(amount, currency) if amount is not None else None


def _fee_columns(fee: Money | None) -> dict[str, Any]:
    return {"etf_amount": fee.amount if fee else None, "etf_currency": fee.currency if fee else None}


def _product(r: sa.Row) -> Product:
    term = None
    if r.term_months is not None:
        term = Term(r.term_months, r.term_start_at, r.term_end_at, r.auto_renew, _money(r.etf_amount, r.etf_currency))
    return Product(
        id=r.id, account_id=r.account_id, offering_id=r.offering_id, order_id=r.order_id, service_id=r.service_id,
        status=r.status, start_at=r.start_at, end_at=r.end_at, created_at=r.created_at, trial_end_at=r.trial_end_at,
        term=term, related_party=tuple(r.related_party),
    )


def _product_row(p: Product) -> dict[str, Any]:
    t = p.term
    return {
        "id": p.id, "account_id": p.account_id, "offering_id": p.offering_id, "order_id": p.order_id,
        "service_id": p.service_id, "status": p.status, "start_at": p.start_at, "end_at": p.end_at,
        "created_at": p.created_at, "trial_end_at": p.trial_end_at, "related_party": list(p.related_party),
        "term_months": t.months if t else None, "term_start_at": t.start_at if t else None,
        "term_end_at": t.end_at if t else None, "auto_renew": t.auto_renew if t else False,
        **_fee_columns(t.early_termination_fee if t else None),
    }


def _item(r: sa.Row) -> ProductOrderItem:
    term = NewTerm(r.term_months, r.auto_renew) if r.term_months is not None else None
    return ProductOrderItem(
        id=r.id, action=r.action, offering_id=r.offering_id, service_id=r.service_id, product_id=r.product_id,
        label=r.label, state=r.state, trial_days=r.trial_days, term=term,
        early_termination_fee=_money(r.etf_amount, r.etf_currency), promotion_code=r.promotion_code,
    )


def _item_row(i: ProductOrderItem, order: ProductOrder) -> dict[str, Any]:
    return {
        "id": i.id, "order_id": order.id, "account_id": order.account_id, "label": i.label, "action": i.action,
        "state": i.state, "offering_id": i.offering_id, "service_id": i.service_id, "product_id": i.product_id,
        "trial_days": i.trial_days, "term_months": i.term.months if i.term else None,
        "auto_renew": i.term.auto_renew if i.term else False, **_fee_columns(i.early_termination_fee),
        "promotion_code": i.promotion_code,
    }


_ORDER_COLUMNS = ("id", "account_id", "state", "requested_start", "completed_at", "created_at",
                  "requested_completion", "cancelled_at", "cancellation_reason", "external_id", "category",
                  "priority", "description", "channel")


def _order_row(o: ProductOrder) -> dict[str, Any]:
    return {**{k: getattr(o, k) for k in _ORDER_COLUMNS}, "notes": list(o.notes), "related_party": list(o.related_party)}


def _orders(uow: UnitOfWork, rows: list[sa.Row]) -> list[ProductOrder]:
    ids = [r.id for r in rows]
    items: dict[uuid.UUID, list[ProductOrderItem]] = {i: [] for i in ids}
    for r in uow.conn.execute(
        sa.select(product_order_item).where(product_order_item.c.order_id.in_(ids)).order_by(product_order_item.c.id)
    ):
        items[r.order_id].append(_item(r))
    products: dict[uuid.UUID, list[Product]] = {i: [] for i in ids}
    for r in uow.conn.execute(sa.select(product).where(product.c.order_id.in_(ids)).order_by(product.c.id)):
        products[r.order_id].append(_product(r))
    return [
        ProductOrder(**{k: r._mapping[k] for k in _ORDER_COLUMNS}, notes=tuple(r.notes),
                     related_party=tuple(r.related_party), items=tuple(items[r.id]), products=tuple(products[r.id]))
        for r in rows
    ]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Money):
        return {"unit": value.currency, "value": str(value.amount)}
    return value


# ------------------------------------------------------------------------------------------------ events


def _record(uow: UnitOfWork, p: Product, kind: str, at: datetime, *, from_offering_id: uuid.UUID | None = None,
            **details: Any) -> ProductEvent:
    event = ProductEvent(
        id=new_id(), product_id=p.id, account_id=p.account_id, kind=kind, at=at, offering_id=p.offering_id,
        from_offering_id=from_offering_id, details={k: _jsonable(v) for k, v in details.items() if v is not None},
        created_at=uow.now(),
    )
    uow.conn.execute(sa.insert(product_event).values(**asdict(event)))
    return event


def _term_details(p: Product) -> dict[str, Any]:
    t = p.term
    if t is None:
        return {}
    return {"termMonths": t.months, "termStartAt": t.start_at, "termEndAt": t.end_at, "autoRenew": t.auto_renew,
            "earlyTerminationFee": t.early_termination_fee}


def product_events(uow: UnitOfWork, account_id: uuid.UUID, until: datetime) -> list[ProductEvent]:
    """Every event of the account's products that takes effect before `until`, in order of effect.

    What billing reads from them:
    - life starts at `activated`, or at `trial_started` for a product with a trial (details: trialDays,
      trialEndAt); recurring charges start at `activated` or `trial_converted`, with `offering_id`;
    - `upgraded` / `downgraded` at `at`: `from_offering_id` is charged until `at`, `offering_id` from `at`;
    - `suspended` at `at` (details.chargeDuringSuspension says whether recurring charges continue) until the
      next `resumed`;
    - `cancelled` at `at`: the product ends there (details.when: immediate | endOfTerm); details
      .earlyTerminationFee {unit, value} is due when it was cancelled before its term ended;
    - `renewed` at the old term's end: details.termStartAt, termEndAt of the new term.
    Term details (termMonths, termStartAt, termEndAt, autoRenew, earlyTerminationFee) ride on the event that
    starts charging. An end-of-term cancellation is visible from the moment it is decided (`at` in the future).
    """
    rows = uow.conn.execute(
        sa.select(product_event)
        .where(product_event.c.account_id == account_id, product_event.c.at < until)
        .order_by(product_event.c.at, product_event.c.id)
    )
    return [ProductEvent(**r._mapping) for r in rows]


# ------------------------------------------------------------------------------------------------ checks


def _buyer(uow: UnitOfWork, account: BillingAccount, channel: str | None) -> Buyer:
    return Buyer(account, party.get_customer(uow, account.customer_id).segment, channel)


def _check_offering(uow: UnitOfWork, offering_id: uuid.UUID | None, field: str, buyer: Buyer) -> ProductOffering:
    if offering_id is None:
        raise InvalidValue(field, None, "is required")
    offering = catalog.get_offering(uow, offering_id, field=field)
    account = buyer.account
    eligible, reason = is_eligible(offering, buyer.segment, account.country, buyer.channel, uow.now())
    if not eligible:
        raise InvalidValue(field, str(offering.id), reason)
    # A bundle is priced by its own prices (e.g. a bundle discount) and those of the offerings it bundles.
    priced = offering.has_price_in(account.currency) or offering.is_bundle and any(
        catalog.get_offering(uow, child).has_price_in(account.currency) for child in offering.bundled_offering_ids)
    if not priced:
        raise InvalidValue(
            field, str(offering.id), f"has no price in {account.currency}, the currency of billing account {account.number}"
        )
    return offering


def _check_service_ids_free(uow: UnitOfWork, service_ids: list[str | None]) -> None:
    # Sorted locks: two orders naming the same numbers queue up instead of deadlocking, and the second
    # one sees the first one's product (the partial unique index stays the last line of defence).
    named = sorted({s for s in service_ids if s is not None})
    for sid in named:
        uow.advisory_lock("service_id", sid)
    taken = dict(
        uow.conn.execute(
            sa.select(product.c.service_id, product.c.id).where(
                product.c.service_id.in_(named), product.c.status.in_(LIVE_STATUSES)
            )
        ).all()
    )
    for i, sid in enumerate(service_ids):
        if sid in taken:
            field = SERVICE_ID_FIELD.format(i=i)
            raise Conflict(f"{field}={sid!r} is already the service id of live product {taken[sid]}")


def _active_account(uow: UnitOfWork, account_id: uuid.UUID) -> BillingAccount:
    account = party.get_billing_account(uow, account_id, field="billingAccount.id")
    if account.state != "active":
        problem = f"is {account.state}; only an active account can order"
        raise InvalidValue("billingAccount.id", str(account.id), problem)
    return account


def _check_existing(uow: UnitOfWork, item: NewOrderItem, i: int, buyer: Buyer, at: datetime,
                    now: datetime) -> Product:
    """A modify, delete or noChange item names a product of the order's account that can take the change."""
    field = f"productOrderItem[{i}].product.id"
    if item.product_id is None:
        raise InvalidValue(field, None, f"is required on a {item.action} item")
    p = _lock_product(uow, item.product_id, field=field)
    account = buyer.account
    if p.account_id != account.id:
        raise InvalidValue(field, str(p.id), f"is a product of another billing account than {account.number}")
    for name, value in (("trialPeriod", item.trial_days), ("itemTerm", item.term),
                        ("earlyTerminationFee", item.early_termination_fee), ("promotionCode", item.promotion_code)):
        if value is not None:
            raise InvalidValue(f"productOrderItem[{i}].{name}", _jsonable(value), "is allowed on an add item only")
    if item.action == "noChange":
        return p
    if at < now:
        raise InvalidValue("requestedStartDate", _jsonable(at), "is in the past; a change to an existing product "
                                                                 "takes effect now or later")
    if item.action == "modify":
        _check_can_change(p)
        offering_field = f"productOrderItem[{i}].productOffering.id"
        if item.offering_id == p.offering_id:
            raise InvalidValue(offering_field, str(item.offering_id), f"is already the offering of product {p.id}")
        _check_offering(uow, item.offering_id, offering_field, buyer)
    else:
        _check_can_cancel(p)
    return p


def _check_promotion(offering: ProductOffering, code: str | None, at: datetime, field: str) -> None:
    """A promotion code must name a discount of the offering (or of a bundle's own prices) valid at `at`."""
    if code is not None and code not in {d.promotion_code for d in offering.discounts(at) if d.promotion_code}:
        raise InvalidValue(field, code, f"is not a promotion of offering {offering.name!r}")


def _check_items(uow: UnitOfWork, new: NewOrder, account: BillingAccount, at: datetime) -> None:
    """Validate every item of an order that is about to be fulfilled; raises naming the first bad field."""
    now = uow.now()
    buyer = _buyer(uow, account, new.channel)
    service_ids: list[str | None] = []
    named: dict[uuid.UUID, int] = {}
    for i, item in enumerate(new.items):
        if item.action == "add":
            if item.product_id is not None:
                raise InvalidValue(f"productOrderItem[{i}].product.id", str(item.product_id),
                                   "must be absent on an add item: the order creates the product")
            offering = _check_offering(uow, item.offering_id, f"productOrderItem[{i}].productOffering.id", buyer)
            _check_promotion(offering, item.promotion_code, at, f"productOrderItem[{i}].promotionCode")
            if item.service_id is None:
                raise InvalidValue(SERVICE_ID_FIELD.format(i=i), None, "is required on an add item")
            service_ids.append(check_name(item.service_id, SERVICE_ID_FIELD.format(i=i)))
            if item.early_termination_fee is not None and item.early_termination_fee.currency != account.currency:
                raise InvalidValue(f"productOrderItem[{i}].earlyTerminationFee.unit", item.early_termination_fee.currency,
                                   f"is not {account.currency}, the currency of billing account {account.number}")
            if item.early_termination_fee is not None and item.term is None:
                raise InvalidValue(f"productOrderItem[{i}].earlyTerminationFee", _jsonable(item.early_termination_fee),
                                   "needs an itemTerm: the fee is due when the product ends before its term")
        else:
            service_ids.append(None)
            p = _check_existing(uow, item, i, buyer, at, now)
            if p.id in named:
                raise InvalidValue(f"productOrderItem[{i}].product.id", str(p.id),
                                   f"is also named by productOrderItem[{named[p.id]}]")
            named[p.id] = i
    check_unique_service_ids(service_ids, SERVICE_ID_FIELD)
    _check_service_ids_free(uow, service_ids)


def _check_captured(uow: UnitOfWork, new: NewOrder) -> None:
    """A captured order is checked for what it names; the rest waits for its submission."""
    if new.account_id is not None:
        party.get_billing_account(uow, new.account_id, field="billingAccount.id")
    for i, item in enumerate(new.items):
        if item.offering_id is not None:
            catalog.get_offering(uow, item.offering_id, field=f"productOrderItem[{i}].productOffering.id")
        if item.product_id is not None:
            get_product(uow, item.product_id, field=f"productOrderItem[{i}].product.id")


def _check_document(new: NewOrder) -> list[str]:
    """Checks every order passes, captured or not; returns the item labels."""
    if not new.items:
        raise InvalidValue("productOrderItem", [], "must hold at least one item")
    for i, item in enumerate(new.items):
        f = f"productOrderItem[{i}]"
        if item.action not in ORDER_ACTIONS:
            raise InvalidValue(f"{f}.action", item.action, f"must be one of {', '.join(ORDER_ACTIONS)}")
        if item.trial_days is not None and item.trial_days <= 0:
            raise InvalidValue(f"{f}.trialPeriod.amount", item.trial_days, "must be a positive number of days")
        if item.term is not None and item.term.months <= 0:
            raise InvalidValue(f"{f}.itemTerm[0].duration.amount", item.term.months, "must be a positive number of months")
        fee = item.early_termination_fee
        if fee is not None and fee.amount < 0:
            raise InvalidValue(f"{f}.earlyTerminationFee.value", str(fee.amount), "must not be negative")
    check_start(new.requested_start)
    check_start(new.requested_completion, "requestedCompletionDate")
    labels = [item.label if item.label is not None else str(i) for i, item in enumerate(new.items, 1)]
    check_unique_labels(labels)
    return labels


# ---------------------------------------------------------------------------------------------- products


def _lock_product(uow: UnitOfWork, product_id: uuid.UUID, *, field: str | None = None) -> Product:
    row = uow.conn.execute(sa.select(product).where(product.c.id == product_id).with_for_update()).first()
    if row is None:
        raise NotFound("product", str(product_id), field)
    return _product(row)


def _save(uow: UnitOfWork, before: Product, after: Product, action: str) -> Product:
    uow.conn.execute(sa.update(product).where(product.c.id == after.id).values(**_product_row(after)))
    audit.record(uow, action, "product", after.id, before=asdict(before), after=asdict(after))
    changed = ResourceEvent.state_changed if before.status != after.status else ResourceEvent.attribute_changed
    uow.emit(changed(INVENTORY_API, "product", after.id))
    return after


def _zone(uow: UnitOfWork, account_id: uuid.UUID) -> ZoneInfo:
    return party.get_billing_account(uow, account_id).zone


def _check_can_change(p: Product) -> None:
    if p.status != "active":
        raise Conflict(f"product {p.id} is {p.status}; only an active product can change its offering")


def _check_can_cancel(p: Product) -> None:
    if p.status == "pendingTerminate":
        raise Conflict(f"product {p.id} is pendingTerminate; it already ends at {_jsonable(p.end_at)}")
    target = "cancelled" if p.status in ("created", "pendingActive") else "terminated"
    check_product_transition(p.id, p.status, target)


def _activate(uow: UnitOfWork, p: Product, order_id: uuid.UUID, promotion_code: str | None = None) -> Product:
    """The product starts: its first event, dated at its start, whenever the activation runs. The event
    carries the promotion code it was ordered with, which billing reads to apply that promotion."""
    after = replace(p, status="active")
    if p.status != "active":
        check_product_transition(p.id, p.status, "active")
        _save(uow, p, after, "product.activated")
    if p.trial_end_at is not None:
        days = (p.trial_end_at - p.start_at).days
        _record(uow, after, "trial_started", p.start_at, orderId=order_id, serviceId=p.service_id, trialDays=days,
                trialEndAt=p.trial_end_at, promotionCode=promotion_code)
    else:
        _record(uow, after, "activated", p.start_at, orderId=order_id, serviceId=p.service_id,
                promotionCode=promotion_code, **_term_details(after))
    catalog.record_experiment_order(uow, p.offering_id, order_id)  # uptake of pricing experiments
    return after


def _new_product(uow: UnitOfWork, item: NewOrderItem, order: ProductOrder, account: BillingAccount,
                 start: datetime, status: str) -> Product:
    zone = account.zone
    trial_end = add_days(start, item.trial_days, zone) if item.trial_days else None
    # The contract term runs from the first charged day: a trial does not count towards it.
    term = new_term(item.term, trial_end or start, zone, item.early_termination_fee) if item.term else None
    customer = {"id": str(account.customer_id), "name": account.customer_name, "role": "customer",
                "@referredType": "Customer"}
    parties = [rp for rp in order.related_party if rp.get("id") != customer["id"]]
    return Product(
        id=new_id(), account_id=account.id, offering_id=item.offering_id, order_id=order.id,
        service_id=item.service_id.strip(), status=status, start_at=start, end_at=None, created_at=uow.now(),
        trial_end_at=trial_end, term=term,
        related_party=({k: v for k, v in customer.items() if v is not None}, *parties),
    )


def _recurring_total(uow: UnitOfWork, offering_id: uuid.UUID, currency: str, at: datetime) -> Money:
    return total((p.amount for p in catalog.recurring_prices(uow, offering_id, currency, at)), currency)


def _change_offering(uow: UnitOfWork, p: Product, offering_id: uuid.UUID, at: datetime,
                     order_id: uuid.UUID | None) -> Product:
    account = party.get_billing_account(uow, p.account_id)
    old = _recurring_total(uow, p.offering_id, account.currency, at)
    new = _recurring_total(uow, offering_id, account.currency, at)
    kind = change_kind(old, new)
    after = _save(uow, p, replace(p, offering_id=offering_id), f"product.{kind}")
    _record(uow, after, kind, at, from_offering_id=p.offering_id, orderId=order_id, fromRecurring=old,
            toRecurring=new)
    return after


def _terminate(uow: UnitOfWork, p: Product, at: datetime, *, reason: str | None = None,
               order_id: uuid.UUID | None = None) -> Product:
    """End the product at `at` (now or the order's start): cancelled if it never started, else terminated."""
    if p.status in ("created", "pendingActive"):
        # It never ran: its life shrinks to nothing and there is no activation for a cancel event to end.
        return _save(uow, p, replace(p, status="cancelled", end_at=p.start_at), "product.cancelled")
    after = _save(uow, p, replace(p, status="terminated", end_at=at), "product.terminated")
    _record(uow, after, "cancelled", at, when="immediate", reason=reason, orderId=order_id,
            earlyTerminationFee=early_termination_fee(p, at), termEndAt=p.term.end_at if p.term else None)
    return after


def get_product(uow: UnitOfWork, product_id: uuid.UUID, *, field: str | None = None) -> Product:
    row = uow.conn.execute(sa.select(product).where(product.c.id == product_id)).first()
    if row is None:
        raise NotFound("product", str(product_id), field)
    return _product(row)


def suspend_product(uow: UnitOfWork, product_id: uuid.UUID, *, charge_during_suspension: bool = False,
                    reason: str | None = None) -> Product:
    """Suspend an active product now; `charge_during_suspension` says whether recurring charges go on."""
    p = _lock_product(uow, product_id)
    check_product_transition(p.id, p.status, "suspended")
    after = _save(uow, p, replace(p, status="suspended"), "product.suspended")
    _record(uow, after, "suspended", uow.now(), chargeDuringSuspension=charge_during_suspension, reason=reason)
    return after


def resume_product(uow: UnitOfWork, product_id: uuid.UUID) -> Product:
    """Resume a suspended product now."""
    p = _lock_product(uow, product_id)
    if p.status != "suspended":
        raise Conflict(f"product {p.id} is {p.status}; only a suspended product can be resumed")
    after = _save(uow, p, replace(p, status="active"), "product.resumed")
    suspended = uow.conn.execute(
        sa.select(product_event.c.at, product_event.c.details)
        .where(product_event.c.product_id == p.id, product_event.c.kind == "suspended")
        .order_by(product_event.c.at.desc()).limit(1)
    ).one()
    _record(uow, after, "resumed", uow.now(), suspendedAt=suspended.at,
            chargeDuringSuspension=suspended.details["chargeDuringSuspension"])
    return after


def cancel_product(uow: UnitOfWork, product_id: uuid.UUID, *, at_end_of_term: bool = False,
                   reason: str | None = None) -> Product:
    """Cancel now (terminated; the early-termination fee is due if a term with one still runs) or at the end
    of the current term (pendingTerminate until `terminate_due_products` runs; no fee)."""
    p = _lock_product(uow, product_id)
    _check_can_cancel(p)
    now = uow.now()
    if not at_end_of_term:
        return _terminate(uow, p, now, reason=reason)
    if p.term is None or p.term.end_at <= now or p.status not in ("active", "suspended"):
        what = ("has no contract term" if p.term is None else f"is {p.status}" if p.term.end_at > now
                else f"has a term that ended at {_jsonable(p.term.end_at)}")
        raise Conflict(f"product {p.id} {what}; cancel it immediately instead")
    after = _save(uow, p, replace(p, status="pendingTerminate", end_at=p.term.end_at), "product.pendingTerminate")
    _record(uow, after, "cancelled", p.term.end_at, when="endOfTerm", reason=reason, requestedAt=now,
            termEndAt=p.term.end_at)
    return after


def change_offering(uow: UnitOfWork, product_id: uuid.UUID, offering_id: uuid.UUID, *,
                    field: str = "productOffering.id") -> Product:
    """Move an active product to another offering now (upgrade or downgrade); it keeps its id and service id."""
    p = _lock_product(uow, product_id)
    _check_can_change(p)
    if offering_id == p.offering_id:
        raise InvalidValue(field, str(offering_id), f"is already the offering of product {p.id}")
    _check_offering(uow, offering_id, field, _buyer(uow, party.get_billing_account(uow, p.account_id), None))
    return _change_offering(uow, p, offering_id, uow.now(), None)


def convert_due_trials(uow: UnitOfWork, at: datetime) -> list[Product]:
    """Trials that ended by `at` on products still alive then become paid: `trial_converted` at the trial's end."""
    converted = sa.select(product_event.c.id).where(
        product_event.c.product_id == product.c.id, product_event.c.kind == "trial_converted")
    rows = uow.conn.execute(
        sa.select(product)
        .where(product.c.trial_end_at <= at, product.c.status.in_(("active", "suspended", "pendingTerminate")),
               sa.or_(product.c.end_at.is_(None), product.c.end_at > product.c.trial_end_at), ~sa.exists(converted))
        .order_by(product.c.id).with_for_update(skip_locked=True)
    ).all()
    done = []
    for r in rows:
        p = _product(r)
        _record(uow, p, "trial_converted", p.trial_end_at, **_term_details(p))
        audit.record(uow, "product.trialConverted", "product", p.id, after={"trialEndAt": p.trial_end_at})
        done.append(p)
    return done


def renew_due_terms(uow: UnitOfWork, at: datetime) -> list[Product]:
    """Auto-renewing terms that ended by `at` start again, once per elapsed term, each a `renewed` event at
    the old term's end. A product cancelled at the end of its term is pendingTerminate and is not renewed."""
    rows = uow.conn.execute(
        sa.select(product)
        .where(product.c.auto_renew, product.c.term_end_at <= at, product.c.status.in_(("active", "suspended")))
        .order_by(product.c.id).with_for_update(skip_locked=True)
    ).all()
    done = []
    for r in rows:
        p = _product(r)
        zone = _zone(uow, p.account_id)
        current = p
        while current.term.end_at <= at:
            term = renewed(current.term, zone)
            current = replace(current, term=term)
            _record(uow, current, "renewed", term.start_at, termMonths=term.months, termStartAt=term.start_at,
                    termEndAt=term.end_at)
        done.append(_save(uow, p, current, "product.renewed"))
    return done


def terminate_due_products(uow: UnitOfWork, at: datetime) -> list[Product]:
    """Products cancelled at the end of their term become terminated once it has passed (the `cancelled`
    event was written when the cancellation was decided)."""
    rows = uow.conn.execute(
        sa.select(product).where(product.c.status == "pendingTerminate", product.c.end_at <= at)
        .order_by(product.c.id).with_for_update(skip_locked=True)
    ).all()
    return [_save(uow, p, replace(p, status="terminated"), "product.terminated") for p in map(_product, rows)]


# ------------------------------------------------------------------------------------------------ orders


def _write_order(uow: UnitOfWork, order: ProductOrder, *, insert: bool) -> None:
    if insert:
        uow.conn.execute(sa.insert(product_order).values(**_order_row(order)))
    else:
        uow.conn.execute(sa.update(product_order).where(product_order.c.id == order.id).values(**_order_row(order)))


def _write_items(uow: UnitOfWork, order: ProductOrder) -> None:
    uow.conn.execute(sa.delete(product_order_item).where(product_order_item.c.order_id == order.id))
    uow.conn.execute(sa.insert(product_order_item), [_item_row(i, order) for i in order.items])


def _items(new: NewOrder, labels: list[str], state: str) -> tuple[ProductOrderItem, ...]:
    return tuple(
        ProductOrderItem(id=new_id(), action=i.action, offering_id=i.offering_id,
                         service_id=i.service_id.strip() if i.service_id else i.service_id, product_id=i.product_id,
                         label=label, state=state, trial_days=i.trial_days, term=i.term,
                         early_termination_fee=i.early_termination_fee, promotion_code=i.promotion_code)
        for i, label in zip(new.items, labels, strict=True)
    )


def _content(new: NewOrder) -> ProductOrder:
    """The order's own attributes from a request, before any state."""
    return ProductOrder(
        id=new_id(), account_id=new.account_id, state="acknowledged", requested_start=_utc(new.requested_start),
        completed_at=None, created_at=None, items=(), products=(),
        requested_completion=_utc(new.requested_completion), external_id=new.external_id, category=new.category,
        priority=new.priority, description=new.description, notes=tuple(new.notes),
        related_party=tuple(new.related_party), channel=new.channel,
    )


def place_order(uow: UnitOfWork, new: NewOrder) -> ProductOrder:
    """Capture the order; with a billing account, validate it in full and fulfil it (see the module doc)."""
    labels = _check_document(new)
    order = replace(_content(new), created_at=uow.now())
    order = replace(order, items=_items(new, labels, "acknowledged"))
    if new.account_id is None:
        _check_captured(uow, new)
        _write_order(uow, order, insert=True)
        _write_items(uow, order)
        audit.record(uow, "productOrder.created", "productOrder", order.id, after=asdict(order))
        uow.emit(ResourceEvent.created(ORDERING_API, "productOrder", order.id))
        return order
    account = _active_account(uow, new.account_id)
    start = order.requested_start or order.created_at
    _check_items(uow, new, account, start)
    _write_order(uow, order, insert=True)
    audit.record(uow, "productOrder.created", "productOrder", order.id, after=asdict(order))
    # One create event, rendered at commit: it shows the order already completed (or inProgress).
    uow.emit(ResourceEvent.created(ORDERING_API, "productOrder", order.id))
    return _start(uow, order, new, account)


def _start(uow: UnitOfWork, order: ProductOrder, new: NewOrder, account: BillingAccount) -> ProductOrder:
    """acknowledged -> inProgress: reserve the new products, then complete at once unless it starts later."""
    now = uow.now()
    start = order.requested_start or now
    future = start > now
    products = tuple(
        _new_product(uow, item, order, account, start, "pendingActive" if future else "active")
        for item in new.items if item.action == "add"
    )
    if products:
        uow.conn.execute(sa.insert(product), [_product_row(p) for p in products])
    for p in products:
        audit.record(uow, "product.created", "product", p.id, after=asdict(p))
        uow.emit(ResourceEvent.created(INVENTORY_API, "product", p.id))
    made = iter(products)
    items = tuple(replace(i, state="inProgress", product_id=next(made).id if i.action == "add" else i.product_id)
                  for i in order.items)
    state = check_order_transition(order.id, order.state, "inProgress")
    order = replace(order, state=state, items=items, products=products)
    if future:
        _write_order(uow, order, insert=False)
        _write_items(uow, order)
        return order
    return _complete(uow, order, start)


def _complete(uow: UnitOfWork, order: ProductOrder, at: datetime) -> ProductOrder:
    """Apply every item at `at`; an item whose product can no longer take its change fails alone."""
    items, notes = [], list(order.notes)
    products = {p.id: p for p in order.products}
    for item in order.items:
        try:
            with uow.savepoint():
                if item.action == "add":
                    products[item.product_id] = _activate(uow, products[item.product_id], order.id,
                                                          item.promotion_code)
                elif item.action == "modify":
                    p = _lock_product(uow, item.product_id)
                    _check_can_change(p)
                    _change_offering(uow, p, item.offering_id, at, order.id)
                elif item.action == "delete":
                    p = _lock_product(uow, item.product_id)
                    _check_can_cancel(p)
                    _terminate(uow, p, at, reason=f"productOrder {order.id}", order_id=order.id)
            items.append(replace(item, state="completed"))
        except Conflict as e:
            items.append(replace(item, state="failed"))
            notes.append({"author": "openbss", "date": _jsonable(uow.now()),
                          "text": f"productOrderItem {item.label} failed: {e.message}"})
    state = check_order_transition(order.id, order.state, outcome([i.state for i in items]))
    done = replace(order, state=state, items=tuple(items), notes=tuple(notes), completed_at=uow.now(),
                   products=tuple(products.values()))
    _write_order(uow, done, insert=False)
    _write_items(uow, done)
    audit.record(uow, f"productOrder.{state}", "productOrder", order.id, before={"state": order.state},
                 after={"state": state})
    return done


def complete_due_orders(uow: UnitOfWork, at: datetime) -> list[ProductOrder]:
    """Fulfil the future-dated orders whose requested start has come by `at` (the scheduler calls this);
    each product's events are dated at the requested start, not at the time this runs."""
    rows = uow.conn.execute(
        sa.select(product_order)
        .where(product_order.c.state == "inProgress", product_order.c.requested_start <= at)
        .order_by(product_order.c.requested_start, product_order.c.id).with_for_update(skip_locked=True)
    ).all()
    done = [_complete(uow, o, o.requested_start) for o in _orders(uow, rows)]
    for o in done:
        uow.emit(ResourceEvent.state_changed(ORDERING_API, "productOrder", o.id))
    return done


def run_due(uow: UnitOfWork, at: datetime) -> dict[str, int]:
    """Everything the scheduler owes the inventory at `at`, in the order that keeps events consistent."""
    return {
        "ordersCompleted": len(complete_due_orders(uow, at)),
        "trialsConverted": len(convert_due_trials(uow, at)),
        "termsRenewed": len(renew_due_terms(uow, at)),
        "productsTerminated": len(terminate_due_products(uow, at)),
    }


def cancel_order(uow: UnitOfWork, order_id: uuid.UUID, reason: str | None = None) -> ProductOrder:
    """acknowledged/inProgress -> pendingCancellation -> cancelled; products it reserved are cancelled."""
    order = get_order(uow, order_id, lock=True)
    check_order_transition(order.id, order.state, "pendingCancellation")
    products = tuple(_terminate(uow, _lock_product(uow, p.id), p.start_at) for p in order.products)
    state = check_order_transition(order.id, "pendingCancellation", "cancelled")
    done = replace(order, state=state, cancelled_at=uow.now(), cancellation_reason=reason, products=products,
                   items=tuple(replace(i, state="cancelled") for i in order.items))
    _write_order(uow, done, insert=False)
    _write_items(uow, done)
    audit.record(uow, "productOrder.cancelled", "productOrder", order.id, before=asdict(order), after=asdict(done))
    uow.emit(ResourceEvent.state_changed(ORDERING_API, "productOrder", order.id))
    return done


def update_order(uow: UnitOfWork, order_id: uuid.UUID, revised: NewOrder, *, state: str | None = None,
                 cancellation_reason: str | None = None) -> ProductOrder:
    """Apply a PATCH: `revised` is the whole order after the merge. Its items, account and dates may change
    only while the order is acknowledged; `state` inProgress submits it, cancelled cancels it."""
    order = get_order(uow, order_id, lock=True)
    labels = _check_document(revised)
    content = _content(revised)
    items = _items(revised, labels, "acknowledged")  # kept only while the order is acknowledged
    shape = ("action", "offering_id", "service_id", "label", "trial_days", "term", "early_termination_fee")
    changed = (
        (content.account_id, content.requested_start, content.requested_completion, content.channel) !=
        (order.account_id, order.requested_start, order.requested_completion, order.channel)
        or [tuple(getattr(i, k) for k in shape) for i in items]
        != [tuple(getattr(i, k) for k in shape) for i in order.items]
    )
    if changed and order.state != "acknowledged":
        raise Conflict(f"productOrder {order.id} is {order.state}; only an acknowledged order can change its "
                       "items, billing account or dates")
    after = replace(content, id=order.id, state=order.state, created_at=order.created_at,
                    completed_at=order.completed_at, cancelled_at=order.cancelled_at,
                    cancellation_reason=order.cancellation_reason, items=items if changed else order.items,
                    products=order.products)
    if changed:
        _check_captured(uow, revised)
    _write_order(uow, after, insert=False)
    if changed:
        _write_items(uow, after)
    audit.record(uow, "productOrder.updated", "productOrder", order.id, before=asdict(order), after=asdict(after))
    if after != order:
        uow.emit(ResourceEvent.attribute_changed(ORDERING_API, "productOrder", order.id))
    if state == "cancelled":
        return cancel_order(uow, order.id, cancellation_reason)
    if state == "inProgress":
        check_order_transition(order.id, order.state, "inProgress")
        if revised.account_id is None:
            raise InvalidValue("billingAccount", None, "is required to submit the order")
        account = _active_account(uow, revised.account_id)
        _check_items(uow, revised, account, after.requested_start or uow.now())
        started = _start(uow, after, revised, account)
        uow.emit(ResourceEvent.state_changed(ORDERING_API, "productOrder", order.id))
        return started
    return after


def delete_order(uow: UnitOfWork, order_id: uuid.UUID) -> None:
    """Only a captured order, which has changed nothing yet, can be deleted; any other is history."""
    order = get_order(uow, order_id, lock=True)
    if order.state != "acknowledged":
        raise Conflict(f"productOrder {order.id} is {order.state}; only an acknowledged order can be deleted "
                       "(cancel it instead)")
    uow.conn.execute(sa.delete(product_order_item).where(product_order_item.c.order_id == order.id))
    uow.conn.execute(sa.delete(product_order).where(product_order.c.id == order.id))
    audit.record(uow, "productOrder.deleted", "productOrder", order.id, before=asdict(order))
    uow.emit(ResourceEvent.deleted(ORDERING_API, "productOrder", order.id, last=order))


# ------------------------------------------------------------------------------------------------- reads


def _exact_conditions(filters: dict[str, str], columns: dict[str, sa.Column], id_column: sa.Column,
                      account_column: sa.Column) -> list:
    conditions = [columns[k] == v for k, v in filters.items() if k in columns]
    if ID_FILTER in filters:
        conditions.append(id_column == parse_id(filters[ID_FILTER], ID_FILTER))
    if ACCOUNT_FILTER in filters:
        conditions.append(account_column == parse_id(filters[ACCOUNT_FILTER], ACCOUNT_FILTER))
    return conditions


def get_order(uow: UnitOfWork, order_id: uuid.UUID, *, field: str | None = None, lock: bool = False) -> ProductOrder:
    """The order; `lock` holds its row until the transaction ends (read, then change it, as one step)."""
    stmt = sa.select(product_order).where(product_order.c.id == order_id)
    row = uow.conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound("productOrder", str(order_id), field)
    return _orders(uow, [row])[0]


def list_orders(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[ProductOrder], int]:
    conditions = _exact_conditions(filters, ORDER_FILTERS, product_order.c.id, product_order.c.account_id)
    if ORDER_DATE_FILTER in filters:
        raw = filters[ORDER_DATE_FILTER]
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidValue(ORDER_DATE_FILTER, raw, "is not an ISO 8601 date-time") from None
        check_start(at, ORDER_DATE_FILTER)
        conditions.append(product_order.c.created_at == at)
    rows, total_count = paged(uow.conn, sa.select(product_order).where(*conditions), offset, limit, product_order.c.id)
    return _orders(uow, rows), total_count


def _views(uow: UnitOfWork, products: list[Product]) -> list[ProductView]:
    now = uow.now()
    currencies = party.account_currencies(uow, {p.account_id for p in products})
    offerings = {o: catalog.get_offering(uow, o) for o in {p.offering_id for p in products}}
    return [
        ProductView(p, tuple(x for x in offerings[p.offering_id].prices if x.kind in CHARGED_KINDS
                             and x.currency == currencies[p.account_id] and x.is_valid_at(now)))
        for p in products
    ]


def get_product_view(uow: UnitOfWork, product_id: uuid.UUID) -> ProductView:
    return _views(uow, [get_product(uow, product_id)])[0]


def list_products(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Product], int]:
    conditions = _exact_conditions(filters, PRODUCT_FILTERS, product.c.id, product.c.account_id)
    rows, total_count = paged(uow.conn, sa.select(product).where(*conditions), offset, limit, product.c.id)
    return [_product(r) for r in rows], total_count


def list_product_views(uow: UnitOfWork, filters: dict[str, str], offset: int,
                       limit: int) -> tuple[list[ProductView], int]:
    products, total_count = list_products(uow, filters, offset, limit)
    return _views(uow, products), total_count


def find_active_product(uow: UnitOfWork, service_id: str, at: datetime) -> Product | None:
    """The subscription usage at `at` on `service_id` belongs to, also after it was terminated (late records)."""
    return active_at(products_by_service_id(uow, [service_id]).get(service_id, []), at)


def active_at(products: Iterable[Product], at: datetime) -> Product | None:
    """Of one service id's products (newest start first), the one alive at `at`."""
    return next((p for p in products if p.is_active_at(at)), None)


def products_by_service_id(uow: UnitOfWork, service_ids: Iterable[str]) -> dict[str, list[Product]]:
    """Every product, of any status, of each service id, newest start first: one query for a usage batch."""
    found: dict[str, list[Product]] = {}
    rows = uow.conn.execute(
        sa.select(product)
        .where(among(product.c.service_id, set(service_ids)))
        .order_by(product.c.service_id, product.c.start_at.desc())
    )
    for r in rows:
        found.setdefault(r.service_id, []).append(_product(r))
    return found


def products_for_account(uow: UnitOfWork, account_id: uuid.UUID) -> list[Product]:
    """Every product of the account, of any status, oldest first: billing picks those alive in its period."""
    rows = uow.conn.execute(
        sa.select(product).where(product.c.account_id == account_id).order_by(product.c.start_at, product.c.id)
    )
    return [_product(r) for r in rows]


def products_for_accounts(uow: UnitOfWork, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Product]]:
    """`products_for_account` for many accounts in one query (a bill run batch); accounts without any are absent."""
    rows = uow.conn.execute(
        sa.select(product).where(product.c.account_id.in_(set(account_ids)))
        .order_by(product.c.account_id, product.c.start_at, product.c.id)
    )
    found: dict[uuid.UUID, list[Product]] = {}
    for r in rows:
        found.setdefault(r.account_id, []).append(_product(r))
    return found


def product_events_for_accounts(
    uow: UnitOfWork, until: Mapping[uuid.UUID, datetime]
) -> dict[uuid.UUID, list[ProductEvent]]:
    """`product_events` for many accounts in one query, each up to its own `until[account]`."""
    if not until:
        return {}
    rows = uow.conn.execute(
        sa.select(product_event)
        .where(product_event.c.account_id.in_(set(until)), product_event.c.at < max(until.values()))
        .order_by(product_event.c.account_id, product_event.c.at, product_event.c.id)
    )
    found: dict[uuid.UUID, list[ProductEvent]] = {}
    for r in rows:
        if r.at < until[r.account_id]:
            found.setdefault(r.account_id, []).append(ProductEvent(**r._mapping))
    return found

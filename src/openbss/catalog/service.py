"""Use cases of the product catalog (TMF620). Each takes a UnitOfWork and never commits.

Writes replace a resource whole (`update_*` takes the same command as `create_*`): the API turns a JSON
merge-patch into that command, so one set of rules checks every write. Rules beyond the pure model:
- a price is on at most one offering; a price created on its own is a draft until an offering takes it;
- while an offering is a draft (DRAFT_STATUSES) its prices may change in place, and it may be deleted;
  once it has been sold, prices change only by a new version (a new price with validFor), and it is retired
  rather than deleted, because subscriptions, usage and invoices refer to its prices.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from openbss.audit import service as audit
from openbss.catalog.model import (
    DRAFT_STATUSES,
    LIFECYCLE_STATUSES,
    Catalog,
    Category,
    Characteristic,
    CharacteristicValue,
    Experiment,
    Price,
    ProductOffering,
    ProductSpecification,
    Tier,
    check_bundle,
    check_characteristics,
    check_choice,
    check_offering,
    check_parent,
    check_price,
    check_prices,
    check_transition,
    check_validity,
)
from openbss.catalog.tables import (
    category,
    experiment_order,
    product_catalog,
    product_offering,
    product_offering_price,
    product_specification,
)
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.party.model import check_name
from openbss.rating import store as rate_tables

# The API's base-path name, as TMF688 events name it.
CATALOG_API = "productCatalogManagement"

OFFERING_FILTERS = {
    "id": product_offering.c.id, "name": product_offering.c.name,
    "lifecycleStatus": product_offering.c.lifecycle_status, "lastUpdate": product_offering.c.last_update,
    "isBundle": product_offering.c.is_bundle, "version": product_offering.c.version,
}
PRICE_FILTERS = {
    "id": product_offering_price.c.id, "name": product_offering_price.c.name,
    "lifecycleStatus": product_offering_price.c.lifecycle_status,
    "lastUpdate": product_offering_price.c.last_update, "priceType": product_offering_price.c.kind,
}
SPECIFICATION_FILTERS = {
    "id": product_specification.c.id, "name": product_specification.c.name,
    "lifecycleStatus": product_specification.c.lifecycle_status,
    "lastUpdate": product_specification.c.last_update, "brand": product_specification.c.brand,
}
CATEGORY_FILTERS = {
    "id": category.c.id, "name": category.c.name, "lifecycleStatus": category.c.lifecycle_status,
    "lastUpdate": category.c.last_update, "parentId": category.c.parent_id,
}
CATALOG_FILTERS = {
    "id": product_catalog.c.id, "name": product_catalog.c.name, "lifecycleStatus": product_catalog.c.lifecycle_status,
    "lastUpdate": product_catalog.c.last_update, "catalogType": product_catalog.c.catalog_type,
}


def _where(columns: Mapping[str, sa.Column], filters: Mapping[str, str]) -> list[sa.ColumnElement[bool]]:
    """Attribute filters as SQL: each value is parsed as its column's type, so `id=` and `lastUpdate=` compare
    as a UUID and an instant, and a value that cannot be one is refused naming the filter."""
    clauses = []
    for name, raw in filters.items():
        col = columns[name]
        python_type = col.type.python_type
        try:
            if python_type is uuid.UUID:
                value: Any = uuid.UUID(raw)
            elif python_type is datetime:
                value = datetime.fromisoformat(raw)
            elif python_type is bool:
                value = {"true": True, "false": False}[raw]
            else:
                value = raw
        except (ValueError, KeyError):
            raise InvalidValue(name, raw, f"is not a valid {python_type.__name__}") from None
        clauses.append(col == value)
    return clauses


def _utc(at: datetime | None) -> datetime | None:
    # Stored and echoed in UTC, so the create response equals every later read; a naive time is left for
    # the checks to refuse.
    return at if at is None or at.tzinfo is None else at.astimezone(UTC)


def _clean(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None


def _unchanged(before: Any, after: Any) -> bool:
    """Nothing but lastUpdate differs: such a write tells listeners nothing."""
    return replace(after, last_update=before.last_update) == before


def _emit_update(uow: UnitOfWork, resource_type: str, before: Any, after: Any) -> None:
    """A lifecycleStatus change is a state change, anything else an attribute change."""
    if _unchanged(before, after):
        return
    moved = after.lifecycle_status != before.lifecycle_status
    event = ResourceEvent.state_changed if moved else ResourceEvent.attribute_changed
    uow.emit(event(CATALOG_API, resource_type, after.id))


# ---------------------------------------------------------------------------------------------- prices


@dataclass(frozen=True)
class NewPrice:
    kind: str
    amount: Money | None
    period: str | None = None
    usage_type: str | None = None
    unit_size: Decimal = Decimal(1)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    name: str | None = None
    description: str | None = None
    lifecycle_status: str = "active"
    charge_timing: str | None = None
    usage_model: str | None = None
    tiers: tuple[Tier, ...] = ()
    included_units: Decimal = Decimal(0)
    percentage: Decimal | None = None
    applies_to: str | None = None
    duration_periods: int | None = None
    promotion_code: str | None = None
    requires_offerings: tuple[uuid.UUID, ...] = ()
    segment: str | None = None
    change_policy: str | None = None
    rate_table: str | None = None
    rollover: bool = False
    allowance_scope: str | None = None
    tax_included: bool = False


def _new_price(uow: UnitOfWork, p: NewPrice, offering_id: uuid.UUID | None, price_id: uuid.UUID | None = None) -> Price:
    charge_timing = p.charge_timing or ("inAdvance" if p.kind == "recurring" else None)
    usage_model = p.usage_model or ("perUnit" if p.kind == "usage" else None)
    return Price(
        id=price_id or new_id(), offering_id=offering_id, kind=p.kind, amount=p.amount, period=p.period,
        usage_type=p.usage_type, unit_size=p.unit_size, valid_from=_utc(p.valid_from), valid_to=_utc(p.valid_to),
        name=_clean(p.name), description=p.description, lifecycle_status=p.lifecycle_status,
        charge_timing=charge_timing, usage_model=usage_model, tiers=tuple(p.tiers), included_units=p.included_units,
        percentage=p.percentage, applies_to=_clean(p.applies_to), duration_periods=p.duration_periods,
        promotion_code=p.promotion_code, requires_offerings=tuple(p.requires_offerings), segment=p.segment,
        change_policy=p.change_policy, last_update=uow.now(), rate_table=p.rate_table, rollover=p.rollover,
        allowance_scope=p.allowance_scope or ("subscription" if p.rate_table else None),
        tax_included=p.tax_included,
    )


def _price_row(p: Price) -> dict[str, Any]:
    row = {k: getattr(p, k) for k in Price.__dataclass_fields__ if k not in ("amount", "tiers")}
    row["tiers"] = [{k: None if v is None else str(v) for k, v in asdict(t).items()} for t in p.tiers]
    row["requires_offerings"] = list(p.requires_offerings)
    return {**row, "amount": p.amount.amount if p.amount else None, "currency": p.currency}


def _price(row: sa.Row) -> Price:
    m = dict(row._mapping)
    amount, currency = m.pop("amount"), m.pop("currency")
    m["amount"] = Money(amount, currency) if amount is not None else None
    m["tiers"] = tuple(
        Tier(**{k: None if v is None else Decimal(v) for k, v in t.items()}) for t in m["tiers"]
    )
    m["requires_offerings"] = tuple(m["requires_offerings"])
    return Price(**m)


def _check_price_refs(uow: UnitOfWork, prices: Iterable[Price], field: str) -> None:
    """What prices name must exist: the offerings a discount requires, the rate table a usage price is rated
    with (in the price's currency)."""
    for i, p in enumerate(prices):
        for j, o in enumerate(p.requires_offerings):
            get_offering(uow, o, field=f"{field}[{i}].requiresOffering[{j}].id")
        if p.rate_table is not None:
            where = f"{field}[{i}].pricingLogicAlgorithm[0].name"
            currency = rate_tables.table_currency(uow, p.rate_table, field=where)
            if p.currency is not None and p.currency != currency:
                raise InvalidValue(f"{field}[{i}].price.unit", p.currency,
                                   f"differs from rate table {p.rate_table}'s currency {currency}")


def _prices_by_offering(uow: UnitOfWork, offering_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Price, ...]]:
    rows = uow.conn.execute(
        sa.select(product_offering_price)
        .where(product_offering_price.c.offering_id.in_(offering_ids))
        .order_by(product_offering_price.c.id)
    )
    result: dict[uuid.UUID, list[Price]] = {i: [] for i in offering_ids}
    for r in rows:
        result[r.offering_id].append(_price(r))
    return {k: tuple(v) for k, v in result.items()}


def create_price(uow: UnitOfWork, new: NewPrice) -> Price:
    """A price on its own (TMF POST productOfferingPrice): a draft until an offering takes it by reference."""
    price = _new_price(uow, new, None)
    check_price(price, "productOfferingPrice", draft=True)
    _check_price_refs(uow, [price], "productOfferingPrice")
    uow.conn.execute(sa.insert(product_offering_price).values(**_price_row(price)))
    audit.record(uow, "productOfferingPrice.created", "productOfferingPrice", price.id, after=asdict(price))
    uow.emit(ResourceEvent.created(CATALOG_API, "productOfferingPrice", price.id))
    return price


def get_price(uow: UnitOfWork, price_id: uuid.UUID, *, field: str | None = None) -> Price:
    row = uow.conn.execute(sa.select(product_offering_price).where(product_offering_price.c.id == price_id)).first()
    if row is None:
        raise NotFound("productOfferingPrice", str(price_id), field)
    return _price(row)


def list_prices(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Price], int]:
    stmt = sa.select(product_offering_price).where(*_where(PRICE_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, product_offering_price.c.id)
    return [_price(r) for r in rows], total


# Attributes of a price on a sold offering that may still change in place: they do not change what is charged.
_EDITABLE_WHEN_SOLD = ("name", "description", "lifecycle_status", "valid_to", "last_update")


def _sold_offering(uow: UnitOfWork, offering_id: uuid.UUID | None) -> ProductOffering | None:
    if offering_id is None:
        return None
    offering = get_offering(uow, offering_id)
    return None if offering.lifecycle_status in DRAFT_STATUSES else offering


def update_price(uow: UnitOfWork, price_id: uuid.UUID, new: NewPrice) -> Price:
    before = get_price(uow, price_id)
    after = _new_price(uow, new, before.offering_id, before.id)
    sold = _sold_offering(uow, before.offering_id)
    if sold is not None:
        changed = [k for k in Price.__dataclass_fields__
                   if k not in _EDITABLE_WHEN_SOLD and getattr(before, k) != getattr(after, k)]
        if changed:
            raise Conflict(
                f"productOfferingPrice {price_id} is on offering {sold.name}, which is {sold.lifecycle_status}: "
                f"{', '.join(changed)} cannot change in place; add a new price version with validFor instead")
    check_transition("productOfferingPrice", price_id, before.lifecycle_status, after.lifecycle_status)
    if before.offering_id is None:
        check_price(after, "productOfferingPrice", draft=True)
    else:
        siblings = [after if p.id == price_id else p for p in get_offering(uow, before.offering_id).prices]
        check_prices(siblings)
    _check_price_refs(uow, [after], "productOfferingPrice")
    uow.conn.execute(sa.update(product_offering_price).where(product_offering_price.c.id == price_id)
                     .values(**_price_row(after)))
    audit.record(uow, "productOfferingPrice.updated", "productOfferingPrice", price_id, before=asdict(before),
                 after=asdict(after))
    _emit_update(uow, "productOfferingPrice", before, after)
    if before.offering_id is not None and not _unchanged(before, after):  # the offering shows its prices in full
        uow.emit(ResourceEvent.attribute_changed(CATALOG_API, "productOffering", before.offering_id))
    return after


def delete_price(uow: UnitOfWork, price_id: uuid.UUID) -> None:
    before = get_price(uow, price_id)
    sold = _sold_offering(uow, before.offering_id)
    if sold is not None:
        raise Conflict(f"productOfferingPrice {price_id} is on offering {sold.name}, which is "
                       f"{sold.lifecycle_status}; end its validity with validFor.endDateTime instead")
    uow.conn.execute(sa.delete(product_offering_price).where(product_offering_price.c.id == price_id))
    audit.record(uow, "productOfferingPrice.deleted", "productOfferingPrice", price_id, before=asdict(before))
    uow.emit(ResourceEvent.deleted(CATALOG_API, "productOfferingPrice", price_id, last=before))


# ------------------------------------------------------------------------------------------- offerings


@dataclass(frozen=True)
class NewOffering:
    name: str
    tax_category: str = "standard"
    description: str | None = None
    prices: list[NewPrice] = field(default_factory=list)
    lifecycle_status: str = "active"
    # Prices created on their own (drafts) or already on this offering, taken by reference.
    price_ids: tuple[uuid.UUID, ...] = ()
    version: str | None = None
    is_sellable: bool = True
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    is_bundle: bool = False
    bundled_offering_ids: tuple[uuid.UUID, ...] = ()
    spec_id: uuid.UUID | None = None
    spec_ref: dict[str, Any] | None = None
    category_ids: tuple[uuid.UUID, ...] = ()
    segments: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    experiment: Experiment | None = None


_OFFERING_SCALARS = ("name", "description", "lifecycle_status", "tax_category", "created_at", "last_update",
                     "version", "is_sellable", "valid_from", "valid_to", "is_bundle", "spec_id", "spec_ref")


def _offering_row(o: ProductOffering) -> dict[str, Any]:
    row = {k: getattr(o, k) for k in ("id", *_OFFERING_SCALARS)}
    for k in ("bundled_offering_ids", "category_ids", "segments", "countries", "channels"):
        row[k] = list(getattr(o, k))
    e = o.experiment
    row |= {"experiment_name": e and e.name, "experiment_variant": e and e.variant,
            "experiment_segment": e and e.segment}
    return row


def _offering(row: sa.Row, prices: tuple[Price, ...]) -> ProductOffering:
    m = dict(row._mapping)
    name, variant, segment = m.pop("experiment_name"), m.pop("experiment_variant"), m.pop("experiment_segment")
    for k in ("bundled_offering_ids", "category_ids", "segments", "countries", "channels"):
        m[k] = tuple(m[k])
    return ProductOffering(**m, prices=prices, experiment=Experiment(name, variant, segment) if name else None)


def _check_offering_refs(uow: UnitOfWork, offering_id: uuid.UUID, new: NewOffering) -> None:
    children = [get_offering(uow, c, field=f"bundledProductOffering[{i}].id")
                for i, c in enumerate(new.bundled_offering_ids)]
    check_bundle(offering_id, new.is_bundle, children)
    if new.spec_id is not None:
        get_specification(uow, new.spec_id, field="productSpecification.id")
    for i, c in enumerate(new.category_ids):
        get_category(uow, c, field=f"category[{i}].id")
    check_validity(_utc(new.valid_from), _utc(new.valid_to))
    if new.experiment is not None:
        for k, v in asdict(new.experiment).items():
            check_name(v, f"experiment.{k}")


def _attached_prices(uow: UnitOfWork, offering_id: uuid.UUID, price_ids: Iterable[uuid.UUID]) -> list[Price]:
    """Prices taken by reference: drafts of nobody, or already this offering's."""
    prices = []
    for i, pid in enumerate(price_ids):
        field_ = f"productOfferingPrice[{i}].id"
        p = get_price(uow, pid, field=field_)
        if p.offering_id not in (None, offering_id):
            raise Conflict(f"{field_}={str(pid)!r} is already a price of offering {p.offering_id}")
        prices.append(replace(p, offering_id=offering_id))
    return prices


def _build(uow: UnitOfWork, offering_id: uuid.UUID, new: NewOffering, created: datetime) -> ProductOffering:
    prices = (*_attached_prices(uow, offering_id, new.price_ids),
              *(_new_price(uow, p, offering_id) for p in new.prices))
    offering = ProductOffering(
        id=offering_id,
        name=check_offering(new.name, new.tax_category, new.lifecycle_status, prices),
        description=new.description, lifecycle_status=new.lifecycle_status, tax_category=new.tax_category,
        prices=prices, created_at=created, last_update=uow.now(), version=new.version, is_sellable=new.is_sellable,
        valid_from=_utc(new.valid_from), valid_to=_utc(new.valid_to), is_bundle=new.is_bundle,
        bundled_offering_ids=tuple(new.bundled_offering_ids), spec_id=new.spec_id, spec_ref=new.spec_ref,
        category_ids=tuple(new.category_ids), segments=tuple(new.segments), countries=tuple(new.countries),
        channels=tuple(new.channels), experiment=new.experiment,
    )
    _check_offering_refs(uow, offering_id, new)
    _check_price_refs(uow, prices, "productOfferingPrice")
    return offering


def _write_prices(uow: UnitOfWork, before: tuple[Price, ...], after: tuple[Price, ...]) -> None:
    """Write an offering's prices: each is a TMF620 resource of its own, so each new one is announced, and each
    one it took by reference (a draft of nobody until now)."""
    was = {p.id: p for p in before}
    known = set(was) | set(
        uow.conn.execute(sa.select(product_offering_price.c.id)
                         .where(product_offering_price.c.id.in_([p.id for p in after]))).scalars())
    for p in after:
        if p.id in known:
            uow.conn.execute(sa.update(product_offering_price).where(product_offering_price.c.id == p.id)
                             .values(**_price_row(p)))
            if was.get(p.id) != p:
                uow.emit(ResourceEvent.attribute_changed(CATALOG_API, "productOfferingPrice", p.id))
        else:
            uow.conn.execute(sa.insert(product_offering_price).values(**_price_row(p)))
            uow.emit(ResourceEvent.created(CATALOG_API, "productOfferingPrice", p.id))


def _experiment_clash(uow: UnitOfWork, offering: ProductOffering) -> None:
    e = offering.experiment
    if e is None:
        return
    other = uow.conn.execute(sa.select(product_offering.c.name).where(
        product_offering.c.experiment_name == e.name, product_offering.c.experiment_variant == e.variant,
        product_offering.c.id != offering.id)).scalar()
    if other is not None:
        raise Conflict(f"experiment {e.name!r} already has variant {e.variant!r}: offering {other}")


def create_offering(uow: UnitOfWork, new: NewOffering) -> ProductOffering:
    offering = _build(uow, new_id(), new, uow.now())
    _experiment_clash(uow, offering)
    uow.conn.execute(sa.insert(product_offering).values(**_offering_row(offering)))
    _write_prices(uow, (), offering.prices)
    audit.record(uow, "productOffering.created", "productOffering", offering.id, after=asdict(offering))
    uow.emit(ResourceEvent.created(CATALOG_API, "productOffering", offering.id))
    return offering


def update_offering(uow: UnitOfWork, offering_id: uuid.UUID, new: NewOffering) -> ProductOffering:
    """Replace an offering's attributes. Its prices are the ones referenced plus any new inline ones; a sold
    offering cannot drop a price (subscribers are billed from it): end the price's validity instead."""
    before = get_offering(uow, offering_id)
    check_transition("productOffering", offering_id, before.lifecycle_status, new.lifecycle_status)
    kept = set(new.price_ids)
    dropped = [p for p in before.prices if p.id not in kept]
    if dropped and before.lifecycle_status not in DRAFT_STATUSES:
        raise Conflict(f"productOffering {offering_id} is {before.lifecycle_status}: its price {dropped[0].id} "
                       "cannot be removed; end its validity with validFor.endDateTime instead")
    after = _build(uow, offering_id, new, before.created_at)
    _experiment_clash(uow, after)
    uow.conn.execute(sa.update(product_offering).where(product_offering.c.id == offering_id)
                     .values(**_offering_row(after)))
    if dropped:  # back to drafts of nobody: the API can still reach and delete them
        uow.conn.execute(sa.update(product_offering_price)
                         .where(product_offering_price.c.id.in_([p.id for p in dropped]))
                         .values(offering_id=None, last_update=uow.now()))
    _write_prices(uow, before.prices, after.prices)
    audit.record(uow, "productOffering.updated", "productOffering", offering_id, before=asdict(before),
                 after=asdict(after))
    _emit_update(uow, "productOffering", before, after)
    for p in dropped:
        uow.emit(ResourceEvent.attribute_changed(CATALOG_API, "productOfferingPrice", p.id))
    return after


def delete_offering(uow: UnitOfWork, offering_id: uuid.UUID) -> None:
    """Only an offering that was never sold may be deleted (with its prices); a sold one is retired."""
    before = get_offering(uow, offering_id)
    if before.lifecycle_status not in DRAFT_STATUSES:
        raise Conflict(f"productOffering {offering_id} is {before.lifecycle_status}; retire it instead "
                       "(lifecycleStatus retired): subscriptions and invoices refer to it")
    bundles = uow.conn.execute(sa.select(product_offering.c.name).where(
        sa.any_(product_offering.c.bundled_offering_ids) == offering_id)).scalars().all()
    if bundles:
        raise Conflict(f"productOffering {offering_id} is in bundle {', '.join(bundles)}")
    uow.conn.execute(sa.delete(product_offering_price).where(product_offering_price.c.offering_id == offering_id))
    uow.conn.execute(sa.delete(product_offering).where(product_offering.c.id == offering_id))
    audit.record(uow, "productOffering.deleted", "productOffering", offering_id, before=asdict(before))
    uow.emit(ResourceEvent.deleted(CATALOG_API, "productOffering", offering_id, last=before))
    for p in before.prices:  # deleted with it
        uow.emit(ResourceEvent.deleted(CATALOG_API, "productOfferingPrice", p.id, last=p))


def get_offering(uow: UnitOfWork, offering_id: uuid.UUID, *, field: str | None = None) -> ProductOffering:
    row = uow.conn.execute(sa.select(product_offering).where(product_offering.c.id == offering_id)).first()
    if row is None:
        raise NotFound("productOffering", str(offering_id), field)
    return _offering(row, _prices_by_offering(uow, [offering_id])[offering_id])


def list_offerings(
    uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
) -> tuple[list[ProductOffering], int]:
    stmt = sa.select(product_offering).where(*_where(OFFERING_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, product_offering.c.id)
    prices = _prices_by_offering(uow, [r.id for r in rows])
    return [_offering(r, prices[r.id]) for r in rows], total


def usage_price(uow: UnitOfWork, offering_id: uuid.UUID, usage_type: str, currency: str, at: datetime) -> Price:
    """The usage price rating applies to `usage_type` at instant `at`; refused when the tariff has none. A
    bundle without its own price for the usage type rates it at the first bundled offering that has one."""
    offering = get_offering(uow, offering_id)
    price = offering.usage_price(usage_type, currency, at)
    for child in offering.bundled_offering_ids if price is None else ():
        price = get_offering(uow, child).usage_price(usage_type, currency, at)
        if price is not None:
            break
    if price is None:
        raise InvalidValue("usageType", usage_type, f"has no price in {currency} on offering {offering.name}")
    return price


def recurring_prices(uow: UnitOfWork, offering_id: uuid.UUID, currency: str, at: datetime) -> list[Price]:
    return get_offering(uow, offering_id).recurring_prices(currency, at)


# ------------------------------------------------------------------------------------------ experiments


def record_experiment_order(uow: UnitOfWork, offering_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """Count an order of an offering towards its pricing experiment (no-op for other offerings); safe to call
    twice for the same order."""
    if get_offering(uow, offering_id).experiment is None:
        return
    uow.conn.execute(
        pg_insert(experiment_order)
        .values(offering_id=offering_id, order_id=order_id, created_at=uow.now())
        .on_conflict_do_nothing()
    )


def experiment_uptake(uow: UnitOfWork, name: str) -> dict[str, Any]:
    """Uptake of pricing experiment `name`: per variant its offering, target segment and orders, with each
    variant's share of all the experiment's orders."""
    rows = uow.conn.execute(
        sa.select(product_offering.c.id, product_offering.c.name, product_offering.c.experiment_variant,
                  product_offering.c.experiment_segment, sa.func.count(experiment_order.c.order_id).label("orders"))
        .select_from(product_offering.outerjoin(experiment_order))
        .where(product_offering.c.experiment_name == name)
        .group_by(product_offering.c.id)
        .order_by(product_offering.c.experiment_variant)
    ).all()
    if not rows:
        raise NotFound("experiment", name)
    total = sum(r.orders for r in rows)
    variants = {
        r.experiment_variant: {
            "offering_id": r.id, "offering": r.name, "segment": r.experiment_segment, "orders": r.orders,
            "share": (Decimal(r.orders) / total).quantize(Decimal("0.0001")) if total else Decimal(0),
        }
        for r in rows
    }
    return {"experiment": name, "orders": total, "variants": variants}


# ------------------------------------------------------------------------------------- specifications


@dataclass(frozen=True)
class NewSpecification:
    name: str
    description: str | None = None
    brand: str | None = None
    version: str | None = None
    product_number: str | None = None
    lifecycle_status: str = "inDesign"
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    characteristics: tuple[Characteristic, ...] = ()


def _characteristics_json(chars: Iterable[Characteristic]) -> list[dict[str, Any]]:
    return [{**asdict(c), "values": [asdict(v) for v in c.values]} for c in chars]


def _specification(row: sa.Row) -> ProductSpecification:
    m = dict(row._mapping)
    m["characteristics"] = tuple(
        Characteristic(**{**c, "values": tuple(CharacteristicValue(**v) for v in c["values"])})
        for c in m["characteristics"]
    )
    return ProductSpecification(**m)


def _build_specification(uow: UnitOfWork, spec_id: uuid.UUID, new: NewSpecification,
                         created: datetime) -> ProductSpecification:
    check_choice(new.lifecycle_status, LIFECYCLE_STATUSES, "lifecycleStatus")
    check_characteristics(new.characteristics)
    check_validity(_utc(new.valid_from), _utc(new.valid_to))
    return ProductSpecification(
        id=spec_id, name=check_name(new.name), description=new.description, brand=new.brand, version=new.version,
        lifecycle_status=new.lifecycle_status, valid_from=_utc(new.valid_from), valid_to=_utc(new.valid_to),
        characteristics=tuple(new.characteristics), created_at=created, last_update=uow.now(),
        product_number=new.product_number,
    )


def _specification_row(s: ProductSpecification) -> dict[str, Any]:
    return {**{k: getattr(s, k) for k in ProductSpecification.__dataclass_fields__},
            "characteristics": _characteristics_json(s.characteristics)}


def create_specification(uow: UnitOfWork, new: NewSpecification) -> ProductSpecification:
    spec = _build_specification(uow, new_id(), new, uow.now())
    uow.conn.execute(sa.insert(product_specification).values(**_specification_row(spec)))
    audit.record(uow, "productSpecification.created", "productSpecification", spec.id, after=asdict(spec))
    uow.emit(ResourceEvent.created(CATALOG_API, "productSpecification", spec.id))
    return spec


def get_specification(uow: UnitOfWork, spec_id: uuid.UUID, *, field: str | None = None) -> ProductSpecification:
    row = uow.conn.execute(sa.select(product_specification).where(product_specification.c.id == spec_id)).first()
    if row is None:
        raise NotFound("productSpecification", str(spec_id), field)
    return _specification(row)


def list_specifications(uow: UnitOfWork, filters: dict[str, str], offset: int,
                        limit: int) -> tuple[list[ProductSpecification], int]:
    stmt = sa.select(product_specification).where(*_where(SPECIFICATION_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, product_specification.c.id)
    return [_specification(r) for r in rows], total


def update_specification(uow: UnitOfWork, spec_id: uuid.UUID, new: NewSpecification) -> ProductSpecification:
    before = get_specification(uow, spec_id)
    check_transition("productSpecification", spec_id, before.lifecycle_status, new.lifecycle_status)
    after = _build_specification(uow, spec_id, new, before.created_at)
    uow.conn.execute(sa.update(product_specification).where(product_specification.c.id == spec_id)
                     .values(**_specification_row(after)))
    audit.record(uow, "productSpecification.updated", "productSpecification", spec_id, before=asdict(before),
                 after=asdict(after))
    _emit_update(uow, "productSpecification", before, after)
    return after


def delete_specification(uow: UnitOfWork, spec_id: uuid.UUID) -> None:
    before = get_specification(uow, spec_id)
    users = uow.conn.execute(sa.select(product_offering.c.name).where(product_offering.c.spec_id == spec_id)
                             ).scalars().all()
    if users:
        raise Conflict(f"productSpecification {spec_id} is the specification of offering {', '.join(users)}")
    uow.conn.execute(sa.delete(product_specification).where(product_specification.c.id == spec_id))
    audit.record(uow, "productSpecification.deleted", "productSpecification", spec_id, before=asdict(before))
    uow.emit(ResourceEvent.deleted(CATALOG_API, "productSpecification", spec_id, last=before))


# ----------------------------------------------------------------------------- categories and catalogs


@dataclass(frozen=True)
class NewCategory:
    name: str
    description: str | None = None
    parent_id: uuid.UUID | None = None
    version: str | None = None
    lifecycle_status: str = "active"
    valid_from: datetime | None = None
    valid_to: datetime | None = None


def _category(uow: UnitOfWork, row: sa.Row) -> Category:
    subs = uow.conn.execute(sa.select(category.c.id).where(category.c.parent_id == row.id)
                            .order_by(category.c.id)).scalars().all()
    return Category(**row._mapping, sub_category_ids=tuple(subs))


def _build_category(uow: UnitOfWork, category_id: uuid.UUID, new: NewCategory, created: datetime) -> Category:
    check_choice(new.lifecycle_status, LIFECYCLE_STATUSES, "lifecycleStatus")
    check_validity(_utc(new.valid_from), _utc(new.valid_to))
    if new.parent_id is not None:
        get_category(uow, new.parent_id, field="parentId")
        check_parent(category_id, new.parent_id, lambda c: uow.conn.execute(
            sa.select(category.c.parent_id).where(category.c.id == c)).scalar())
    return Category(id=category_id, name=check_name(new.name), description=new.description,
                    parent_id=new.parent_id, version=new.version, lifecycle_status=new.lifecycle_status,
                    valid_from=_utc(new.valid_from), valid_to=_utc(new.valid_to), created_at=created,
                    last_update=uow.now())


def _category_row(c: Category) -> dict[str, Any]:
    return {k: getattr(c, k) for k in Category.__dataclass_fields__ if k != "sub_category_ids"}


def create_category(uow: UnitOfWork, new: NewCategory) -> Category:
    c = _build_category(uow, new_id(), new, uow.now())
    uow.conn.execute(sa.insert(category).values(**_category_row(c)))
    audit.record(uow, "category.created", "category", c.id, after=asdict(c))
    uow.emit(ResourceEvent.created(CATALOG_API, "category", c.id))
    return c


def get_category(uow: UnitOfWork, category_id: uuid.UUID, *, field: str | None = None) -> Category:
    row = uow.conn.execute(sa.select(category).where(category.c.id == category_id)).first()
    if row is None:
        raise NotFound("category", str(category_id), field)
    return _category(uow, row)


def list_categories(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Category], int]:
    stmt = sa.select(category).where(*_where(CATEGORY_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, category.c.id)
    return [_category(uow, r) for r in rows], total


def update_category(uow: UnitOfWork, category_id: uuid.UUID, new: NewCategory) -> Category:
    before = get_category(uow, category_id)
    check_transition("category", category_id, before.lifecycle_status, new.lifecycle_status)
    after = replace(_build_category(uow, category_id, new, before.created_at),
                    sub_category_ids=before.sub_category_ids)
    uow.conn.execute(sa.update(category).where(category.c.id == category_id).values(**_category_row(after)))
    audit.record(uow, "category.updated", "category", category_id, before=asdict(before), after=asdict(after))
    _emit_update(uow, "category", before, after)
    return after


def delete_category(uow: UnitOfWork, category_id: uuid.UUID) -> None:
    before = get_category(uow, category_id)
    users = [
        *(f"category {n}" for n in uow.conn.execute(
            sa.select(category.c.name).where(category.c.parent_id == category_id)).scalars()),
        *(f"offering {n}" for n in uow.conn.execute(sa.select(product_offering.c.name).where(
            sa.any_(product_offering.c.category_ids) == category_id)).scalars()),
        *(f"catalog {n}" for n in uow.conn.execute(sa.select(product_catalog.c.name).where(
            sa.any_(product_catalog.c.category_ids) == category_id)).scalars()),
    ]
    if users:
        raise Conflict(f"category {category_id} is used by {', '.join(users)}")
    uow.conn.execute(sa.delete(category).where(category.c.id == category_id))
    audit.record(uow, "category.deleted", "category", category_id, before=asdict(before))
    uow.emit(ResourceEvent.deleted(CATALOG_API, "category", category_id, last=before))


@dataclass(frozen=True)
class NewCatalog:
    name: str
    description: str | None = None
    catalog_type: str | None = None
    version: str | None = None
    lifecycle_status: str = "active"
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    category_ids: tuple[uuid.UUID, ...] = ()


def _build_catalog(uow: UnitOfWork, catalog_id: uuid.UUID, new: NewCatalog, created: datetime) -> Catalog:
    check_choice(new.lifecycle_status, LIFECYCLE_STATUSES, "lifecycleStatus")
    check_validity(_utc(new.valid_from), _utc(new.valid_to))
    for i, c in enumerate(new.category_ids):
        get_category(uow, c, field=f"category[{i}].id")
    return Catalog(id=catalog_id, name=check_name(new.name), description=new.description,
                   catalog_type=new.catalog_type, version=new.version, lifecycle_status=new.lifecycle_status,
                   valid_from=_utc(new.valid_from), valid_to=_utc(new.valid_to),
                   category_ids=tuple(new.category_ids), created_at=created, last_update=uow.now())


def _catalog(row: sa.Row) -> Catalog:
    return Catalog(**{**row._mapping, "category_ids": tuple(row.category_ids)})


def _catalog_row(c: Catalog) -> dict[str, Any]:
    return {**asdict(c), "category_ids": list(c.category_ids)}


def create_catalog(uow: UnitOfWork, new: NewCatalog) -> Catalog:
    c = _build_catalog(uow, new_id(), new, uow.now())
    uow.conn.execute(sa.insert(product_catalog).values(**_catalog_row(c)))
    audit.record(uow, "catalog.created", "catalog", c.id, after=asdict(c))
    uow.emit(ResourceEvent.created(CATALOG_API, "catalog", c.id))
    return c


def get_catalog(uow: UnitOfWork, catalog_id: uuid.UUID) -> Catalog:
    row = uow.conn.execute(sa.select(product_catalog).where(product_catalog.c.id == catalog_id)).first()
    if row is None:
        raise NotFound("catalog", str(catalog_id))
    return _catalog(row)


def list_catalogs(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Catalog], int]:
    stmt = sa.select(product_catalog).where(*_where(CATALOG_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, product_catalog.c.id)
    return [_catalog(r) for r in rows], total


def update_catalog(uow: UnitOfWork, catalog_id: uuid.UUID, new: NewCatalog) -> Catalog:
    before = get_catalog(uow, catalog_id)
    check_transition("catalog", catalog_id, before.lifecycle_status, new.lifecycle_status)
    after = _build_catalog(uow, catalog_id, new, before.created_at)
    uow.conn.execute(sa.update(product_catalog).where(product_catalog.c.id == catalog_id)
                     .values(**_catalog_row(after)))
    audit.record(uow, "catalog.updated", "catalog", catalog_id, before=asdict(before), after=asdict(after))
    _emit_update(uow, "catalog", before, after)
    return after


def delete_catalog(uow: UnitOfWork, catalog_id: uuid.UUID) -> None:
    before = get_catalog(uow, catalog_id)
    uow.conn.execute(sa.delete(product_catalog).where(product_catalog.c.id == catalog_id))
    audit.record(uow, "catalog.deleted", "catalog", catalog_id, before=asdict(before))
    uow.emit(ResourceEvent.deleted(CATALOG_API, "catalog", catalog_id, last=before))

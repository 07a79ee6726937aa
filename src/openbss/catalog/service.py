"""Use cases for product offerings and their prices. Each takes a UnitOfWork and never commits."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.catalog.model import Price, ProductOffering, check_offering
from openbss.catalog.tables import product_offering, product_offering_price
from openbss.core.errors import InvalidValue, NotFound
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork

OFFERING_FILTERS = {"name": product_offering.c.name, "lifecycleStatus": product_offering.c.lifecycle_status}


@dataclass(frozen=True)
class NewPrice:
    kind: str
    amount: Money
    period: str | None = None
    usage_type: str | None = None
    unit_size: Decimal = Decimal(1)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    name: str | None = None


@dataclass(frozen=True)
class NewOffering:
    name: str
    tax_category: str = "standard"
    description: str | None = None
    prices: list[NewPrice] = field(default_factory=list)
    lifecycle_status: str = "active"


def _utc(at: datetime | None) -> datetime | None:
    # Stored and echoed in UTC, so the create response equals every later read; a naive time is left for
    # check_price to refuse.
    return at if at is None or at.tzinfo is None else at.astimezone(UTC)


def _price_row(p: Price) -> dict:
    row = {k: v for k, v in asdict(p).items() if k != "amount"}
    return {**row, "amount": p.amount.amount, "currency": p.amount.currency}


def _price(row: sa.Row) -> Price:
    m = dict(row._mapping)
    m["amount"] = Money(m["amount"], m.pop("currency"))
    return Price(**m)


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


def _offering(row: sa.Row, prices: tuple[Price, ...]) -> ProductOffering:
    return ProductOffering(**row._mapping, prices=prices)


def create_offering(uow: UnitOfWork, new: NewOffering) -> ProductOffering:
    offering_id = new_id()
    prices = tuple(
        Price(
            id=new_id(),
            offering_id=offering_id,
            kind=p.kind,
            amount=p.amount,
            period=p.period,
            usage_type=p.usage_type,
            unit_size=p.unit_size,
            valid_from=_utc(p.valid_from),
            valid_to=_utc(p.valid_to),
            name=p.name.strip() if p.name and p.name.strip() else None,
        )
        for p in new.prices
    )
    offering = ProductOffering(
        id=offering_id,
        name=check_offering(new.name, new.tax_category, new.lifecycle_status, prices),
        description=new.description,
        lifecycle_status=new.lifecycle_status,
        tax_category=new.tax_category,
        prices=prices,
        created_at=uow.now(),
    )
    uow.conn.execute(
        sa.insert(product_offering).values(**{k: v for k, v in asdict(offering).items() if k != "prices"})
    )
    uow.conn.execute(sa.insert(product_offering_price), [_price_row(p) for p in prices])
    audit.record(uow, "productOffering.created", "productOffering", offering.id, after=asdict(offering))
    return offering


def get_offering(uow: UnitOfWork, offering_id: uuid.UUID, *, field: str | None = None) -> ProductOffering:
    row = uow.conn.execute(sa.select(product_offering).where(product_offering.c.id == offering_id)).first()
    if row is None:
        raise NotFound("productOffering", str(offering_id), field)
    return _offering(row, _prices_by_offering(uow, [offering_id])[offering_id])


def list_offerings(
    uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
) -> tuple[list[ProductOffering], int]:
    stmt = sa.select(product_offering).where(*(OFFERING_FILTERS[k] == v for k, v in filters.items()))
    rows, total = paged(uow.conn, stmt, offset, limit, product_offering.c.id)
    prices = _prices_by_offering(uow, [r.id for r in rows])
    return [_offering(r, prices[r.id]) for r in rows], total


def get_price(uow: UnitOfWork, price_id: uuid.UUID) -> Price:
    row = uow.conn.execute(sa.select(product_offering_price).where(product_offering_price.c.id == price_id)).first()
    if row is None:
        raise NotFound("productOfferingPrice", str(price_id))
    return _price(row)


def usage_price(uow: UnitOfWork, offering_id: uuid.UUID, usage_type: str, currency: str, at: datetime) -> Price:
    """The usage price rating applies to `usage_type` at instant `at`; refused when the tariff has none."""
    offering = get_offering(uow, offering_id)
    price = offering.usage_price(usage_type, currency, at)
    if price is None:
        raise InvalidValue("usageType", usage_type, f"has no price in {currency} on offering {offering.name}")
    return price


def recurring_prices(uow: UnitOfWork, offering_id: uuid.UUID, currency: str, at: datetime) -> list[Price]:
    return get_offering(uow, offering_id).recurring_prices(currency, at)

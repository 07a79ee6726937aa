"""Use cases for product orders and the product inventory. Each takes a UnitOfWork and never commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.catalog import service as catalog
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.ordering.model import (
    Product,
    ProductOrder,
    ProductOrderItem,
    check_start,
    check_unique_service_ids,
)
from openbss.ordering.tables import product, product_order, product_order_item
from openbss.party import service as party
from openbss.party.model import check_name

ORDER_FILTERS = {"state": product_order.c.state}
PRODUCT_FILTERS = {"status": product.c.status}
# Both lists also filter by billingAccountId, parsed as an id rather than compared as text.
ACCOUNT_FILTER = "billingAccountId"
SERVICE_ID_FIELD = "productOrderItem[{i}].product.productCharacteristic.serviceId"


@dataclass(frozen=True)
class NewOrderItem:
    offering_id: uuid.UUID
    service_id: str


@dataclass(frozen=True)
class NewOrder:
    account_id: uuid.UUID
    items: list[NewOrderItem]
    requested_start: datetime | None = None


def _check_offerings(uow: UnitOfWork, items: list[NewOrderItem], currency: str, account_number: str) -> None:
    for i, item in enumerate(items):
        field = f"productOrderItem[{i}].productOffering.id"
        offering = catalog.get_offering(uow, item.offering_id, field=field)
        if not offering.is_orderable:
            raise InvalidValue(field, str(offering.id), f"is {offering.lifecycle_status}, not orderable")
        if not offering.has_price_in(currency):
            raise InvalidValue(
                field, str(offering.id), f"has no price in {currency}, the currency of billing account {account_number}"
            )


def _check_service_ids_free(uow: UnitOfWork, service_ids: list[str]) -> None:
    # Sorted locks: two orders naming the same numbers queue up instead of deadlocking, and the second
    # one sees the first one's product (the partial unique index stays the last line of defence).
    for sid in sorted(set(service_ids)):
        uow.advisory_lock("service_id", sid)
    taken = dict(
        uow.conn.execute(
            sa.select(product.c.service_id, product.c.id).where(
                product.c.service_id.in_(service_ids), product.c.status == "active"
            )
        ).all()
    )
    for i, sid in enumerate(service_ids):
        if sid in taken:
            field = SERVICE_ID_FIELD.format(i=i)
            raise Conflict(f"{field}={sid!r} is already the service id of active product {taken[sid]}")


def place_order(uow: UnitOfWork, new: NewOrder) -> ProductOrder:
    """Validate every item, then complete the order at once: each item becomes an active product."""
    account = party.get_billing_account(uow, new.account_id, field="billingAccount.id")
    if account.state != "active":
        problem = f"is {account.state}; only an active account can order"
        raise InvalidValue("billingAccount.id", str(account.id), problem)
    if not new.items:
        raise InvalidValue("productOrderItem", [], "must hold at least one item")
    check_start(new.requested_start)
    # Stored and echoed in UTC, so the create response equals every later read.
    requested = new.requested_start.astimezone(UTC) if new.requested_start else None
    # A service id (an MSISDN such as +491511234567, a broadband line id) is what usage records name.
    service_ids = [check_name(item.service_id, SERVICE_ID_FIELD.format(i=i)) for i, item in enumerate(new.items)]
    check_unique_service_ids(service_ids, SERVICE_ID_FIELD)
    _check_offerings(uow, new.items, account.currency, account.number)
    _check_service_ids_free(uow, service_ids)

    now = uow.now()
    order_id = new_id()
    products = tuple(
        Product(
            id=new_id(),
            account_id=account.id,
            offering_id=item.offering_id,
            order_id=order_id,
            service_id=sid,
            status="active",
            start_at=requested or now,
            end_at=None,
            created_at=now,
        )
        for item, sid in zip(new.items, service_ids, strict=True)
    )
    items = tuple(
        ProductOrderItem(id=new_id(), action="add", offering_id=p.offering_id, service_id=p.service_id, product_id=p.id)
        for p in products
    )
    order = ProductOrder(
        id=order_id,
        account_id=account.id,
        state="completed",
        requested_start=requested,
        completed_at=now,
        created_at=now,
        items=items,
        products=products,
    )
    uow.conn.execute(
        sa.insert(product_order).values(**{k: v for k, v in asdict(order).items() if k not in ("items", "products")})
    )
    uow.conn.execute(sa.insert(product), [asdict(p) for p in products])
    uow.conn.execute(
        sa.insert(product_order_item), [{**asdict(i), "order_id": order.id, "account_id": account.id} for i in items]
    )
    audit.record(uow, "productOrder.created", "productOrder", order.id, after=asdict(order))
    for p in products:
        audit.record(uow, "product.created", "product", p.id, after=asdict(p))
    return order


def _orders(uow: UnitOfWork, rows: list[sa.Row]) -> list[ProductOrder]:
    ids = [r.id for r in rows]
    items: dict[uuid.UUID, list[ProductOrderItem]] = {i: [] for i in ids}
    for r in uow.conn.execute(
        sa.select(product_order_item).where(product_order_item.c.order_id.in_(ids)).order_by(product_order_item.c.id)
    ):
        items[r.order_id].append(
            ProductOrderItem(
                id=r.id, action=r.action, offering_id=r.offering_id, service_id=r.service_id, product_id=r.product_id
            )
        )
    products: dict[uuid.UUID, list[Product]] = {i: [] for i in ids}
    for r in uow.conn.execute(sa.select(product).where(product.c.order_id.in_(ids)).order_by(product.c.id)):
        products[r.order_id].append(Product(**r._mapping))
    return [ProductOrder(**r._mapping, items=tuple(items[r.id]), products=tuple(products[r.id])) for r in rows]


def _account_condition(column: sa.Column, filters: dict[str, str]) -> list:
    if ACCOUNT_FILTER not in filters:
        return []
    return [column == parse_id(filters[ACCOUNT_FILTER], ACCOUNT_FILTER)]


def get_order(uow: UnitOfWork, order_id: uuid.UUID, *, field: str | None = None) -> ProductOrder:
    row = uow.conn.execute(sa.select(product_order).where(product_order.c.id == order_id)).first()
    if row is None:
        raise NotFound("productOrder", str(order_id), field)
    return _orders(uow, [row])[0]


def list_orders(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[ProductOrder], int]:
    conditions = [ORDER_FILTERS[k] == v for k, v in filters.items() if k in ORDER_FILTERS]
    stmt = sa.select(product_order).where(*conditions, *_account_condition(product_order.c.account_id, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, product_order.c.id)
    return _orders(uow, rows), total


def get_product(uow: UnitOfWork, product_id: uuid.UUID, *, field: str | None = None) -> Product:
    row = uow.conn.execute(sa.select(product).where(product.c.id == product_id)).first()
    if row is None:
        raise NotFound("product", str(product_id), field)
    return Product(**row._mapping)


def list_products(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Product], int]:
    conditions = [PRODUCT_FILTERS[k] == v for k, v in filters.items() if k in PRODUCT_FILTERS]
    stmt = sa.select(product).where(*conditions, *_account_condition(product.c.account_id, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, product.c.id)
    return [Product(**r._mapping) for r in rows], total


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
        .where(product.c.service_id.in_(set(service_ids)))
        .order_by(product.c.service_id, product.c.start_at.desc())
    )
    for r in rows:
        found.setdefault(r.service_id, []).append(Product(**r._mapping))
    return found


def products_for_account(uow: UnitOfWork, account_id: uuid.UUID) -> list[Product]:
    """Every product of the account, of any status, oldest first: billing picks those alive in its period."""
    rows = uow.conn.execute(
        sa.select(product).where(product.c.account_id == account_id).order_by(product.c.start_at, product.c.id)
    )
    return [Product(**r._mapping) for r in rows]

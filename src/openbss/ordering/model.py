"""Product orders and the products (subscriptions) they create: pure types and rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from openbss.core.errors import InvalidValue

ORDER_ACTIONS = ("add",)


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

    def is_active_at(self, at: datetime) -> bool:
        """The product's life is half-open [start_at, end_at): usage at the termination instant is not its own."""
        return self.start_at <= at and (self.end_at is None or at < self.end_at)


@dataclass(frozen=True)
class ProductOrderItem:
    id: uuid.UUID
    action: str
    offering_id: uuid.UUID
    service_id: str
    product_id: uuid.UUID


@dataclass(frozen=True)
class ProductOrder:
    id: uuid.UUID
    account_id: uuid.UUID
    state: str
    requested_start: datetime | None
    completed_at: datetime | None
    created_at: datetime
    items: tuple[ProductOrderItem, ...]
    products: tuple[Product, ...]


def check_unique_service_ids(service_ids: list[str], field: str) -> None:
    """Two items of one order cannot subscribe the same service id: usage could not tell them apart."""
    seen: dict[str, int] = {}
    for i, sid in enumerate(service_ids):
        if sid in seen:
            raise InvalidValue(field.format(i=i), sid, f"is also ordered by productOrderItem[{seen[sid]}]")
        seen[sid] = i


def check_start(value: datetime | None, field: str = "requestedStartDate") -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidValue(field, value.isoformat(), "must carry a time zone offset")

"""TMF622 ProductOrder and TMF637 Product request and response shapes.

Choices where the v4 specs leave room:
- The subscription's service id (an MSISDN, a broadband line id) travels as the product characteristic
  `serviceId`: `productOrderItem[].product.productCharacteristic: [{name: "serviceId", value: "+49..."}]`.
- Item ids are assigned by openbss (a client's `productOrderItem[].id` is accepted and not kept); items come
  back in the order they were sent, each with a `product` ref to the product it created.
- Only `action: "add"` exists in this slice, and an order completes at once (state "completed").
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from openbss.api.tmf import RefIn, TmfIn, href, ref_out, ts
from openbss.catalog.schemas import CATALOG_BASE
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.ordering.model import ORDER_ACTIONS, Product, ProductOrder
from openbss.ordering.service import SERVICE_ID_FIELD, NewOrder, NewOrderItem
from openbss.party.schemas import ACCOUNT_BASE

ORDERING_BASE = "/tmf-api/productOrderingManagement/v4"
INVENTORY_BASE = "/tmf-api/productInventory/v4"
SERVICE_ID = "serviceId"


class CharacteristicIn(TmfIn):
    name: str
    value: Any


class ProductIn(TmfIn):
    product_characteristic: list[CharacteristicIn] = Field(default_factory=list, alias="productCharacteristic")


class OrderItemIn(TmfIn):
    id: str | None = Field(None, description="the client's label for the item; openbss assigns its own id")
    action: str = "add"
    product_offering: RefIn = Field(alias="productOffering")
    product: ProductIn = Field(default_factory=ProductIn, description="carries the serviceId characteristic")

    def command(self, i: int) -> NewOrderItem:
        if self.action not in ORDER_ACTIONS:
            problem = f"must be one of {', '.join(ORDER_ACTIONS)}"
            raise InvalidValue(f"productOrderItem[{i}].action", self.action, problem)
        values = [c.value for c in self.product.product_characteristic if c.name == SERVICE_ID]
        if len(values) != 1:
            field = f"productOrderItem[{i}].product.productCharacteristic"
            raise InvalidValue(field, len(values), f"must hold exactly one {SERVICE_ID}")
        if not isinstance(values[0], str):
            raise InvalidValue(SERVICE_ID_FIELD.format(i=i), values[0], "must be a string")
        return NewOrderItem(
            offering_id=parse_id(self.product_offering.id, f"productOrderItem[{i}].productOffering.id"),
            service_id=values[0],
        )


class ProductOrderCreate(TmfIn):
    billing_account: RefIn = Field(alias="billingAccount", description="the account the products are billed to")
    requested_start_date: AwareDatetime | None = Field(None, alias="requestedStartDate")
    product_order_item: list[OrderItemIn] = Field(alias="productOrderItem")

    def command(self) -> NewOrder:
        return NewOrder(
            account_id=parse_id(self.billing_account.id, "billingAccount.id"),
            items=[item.command(i) for i, item in enumerate(self.product_order_item)],
            requested_start=self.requested_start_date,
        )


def _service_id(value: str) -> list[dict[str, Any]]:
    return [{"name": SERVICE_ID, "valueType": "string", "value": value}]


def _account_ref(base: str, account_id) -> dict[str, Any]:
    return ref_out(base, ACCOUNT_BASE, "billingAccount", account_id, "BillingAccount")


def order_out(o: ProductOrder, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(o.id),
        "href": href(base, ORDERING_BASE, "productOrder", o.id),
        "@type": "ProductOrder",
        "state": o.state,
        "orderDate": ts(o.created_at),
        "billingAccount": _account_ref(base, o.account_id),
        "productOrderItem": [
            {
                "id": str(i.id),
                "action": i.action,
                "state": o.state,
                "productOffering": ref_out(base, CATALOG_BASE, "productOffering", i.offering_id, "ProductOffering"),
                "product": {
                    **ref_out(base, INVENTORY_BASE, "product", i.product_id, "Product"),
                    "productCharacteristic": _service_id(i.service_id),
                },
            }
            for i in o.items
        ],
    }
    if o.requested_start is not None:
        out["requestedStartDate"] = ts(o.requested_start)
    if o.completed_at is not None:
        out["completionDate"] = ts(o.completed_at)
    return out


def product_out(p: Product, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(p.id),
        "href": href(base, INVENTORY_BASE, "product", p.id),
        "@type": "Product",
        "status": p.status,
        "orderDate": ts(p.created_at),
        "startDate": ts(p.start_at),
        "productOffering": ref_out(base, CATALOG_BASE, "productOffering", p.offering_id, "ProductOffering"),
        "billingAccount": _account_ref(base, p.account_id),
        "productCharacteristic": _service_id(p.service_id),
    }
    if p.end_at is not None:
        out["terminationDate"] = ts(p.end_at)
    return out

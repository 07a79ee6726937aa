"""TMF622 productOrder and TMF637 product routes: parse, call the service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.ordering import service
from openbss.ordering.schemas import INVENTORY_BASE, ORDERING_BASE, ProductOrderCreate, order_out, product_out

router = APIRouter(prefix=ORDERING_BASE, tags=["TMF622 Product Ordering"])
inventory_router = APIRouter(prefix=INVENTORY_BASE, tags=["TMF637 Product Inventory"])
routers = [router, inventory_router]


@router.post("/productOrder", status_code=201, summary="Place a product order")
def place_order(body: ProductOrderCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: order_out(service.place_order(uow, body.command()), c.base_url))


@router.get("/productOrder", summary="List product orders")
def list_orders(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_orders, [*service.ORDER_FILTERS, service.ACCOUNT_FILTER], order_out)


@router.get("/productOrder/{order_id}", summary="Retrieve a product order")
def get_order(order_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_order, order_id, "productOrder", order_out)


@inventory_router.get("/product", summary="List products (subscriptions)")
def list_products(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_products, [*service.PRODUCT_FILTERS, service.ACCOUNT_FILTER], product_out)


@inventory_router.get("/product/{product_id}", summary="Retrieve a product")
def get_product(product_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_product, product_id, "product", product_out)

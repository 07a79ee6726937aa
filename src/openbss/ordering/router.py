"""TMF622 productOrder and TMF637 product routes: parse, call the service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.tmf import filters, list_response, one_response, page, path_id
from openbss.ordering import service
from openbss.ordering.schemas import INVENTORY_BASE, ORDERING_BASE, ProductOrderCreate, order_out, product_out

router = APIRouter(prefix=ORDERING_BASE, tags=["TMF622 Product Ordering"])
inventory_router = APIRouter(prefix=INVENTORY_BASE, tags=["TMF637 Product Inventory"])


@router.post("/productOrder", status_code=201, summary="Place a product order")
def place_order(body: ProductOrderCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: order_out(service.place_order(uow, body.command()), c.base_url))


@router.get("/productOrder", summary="List product orders")
def list_orders(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    allowed = [*service.ORDER_FILTERS, service.ACCOUNT_FILTER]
    with c.uow() as uow:
        items, total = service.list_orders(uow, filters(request, allowed), p.offset, p.limit)
    return list_response(request, [order_out(i, c.base_url) for i in items], total)


@router.get("/productOrder/{order_id}", summary="Retrieve a product order")
def get_order(order_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_order(uow, path_id(order_id, "productOrder"))
    return one_response(request, order_out(item, c.base_url))


@inventory_router.get("/product", summary="List products (subscriptions)")
def list_products(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    allowed = [*service.PRODUCT_FILTERS, service.ACCOUNT_FILTER]
    with c.uow() as uow:
        items, total = service.list_products(uow, filters(request, allowed), p.offset, p.limit)
    return list_response(request, [product_out(i, c.base_url) for i in items], total)


@inventory_router.get("/product/{product_id}", summary="Retrieve a product")
def get_product(product_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_product(uow, path_id(product_id, "product"))
    return one_response(request, product_out(item, c.base_url))

"""TMF622 productOrder and TMF637 product routes: parse, call the service, shape the response."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import delete_resource, get_resource, list_resources, validated
from openbss.api.tmf import merge_patch, one_response, path_id
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.ordering import service
from openbss.ordering.model import CLIENT_ORDER_STATES
from openbss.ordering.schemas import (
    INVENTORY_BASE,
    ORDER_PATCHABLE,
    ORDERING_BASE,
    PRODUCT_PATCHABLE,
    ProductOrderCreate,
    ProductPatch,
    check_patchable,
    order_out,
    product_out,
)

router = APIRouter(prefix=ORDERING_BASE, tags=["TMF622 Product Ordering"])
inventory_router = APIRouter(prefix=INVENTORY_BASE, tags=["TMF637 Product Inventory"])
routers = [router, inventory_router]

MERGE_PATCH_TYPES = ("application/merge-patch+json", "application/json")
# active resumes a suspended product; terminated cancels now, pendingTerminate at the end of the term.
PRODUCT_STATUS_TARGETS = ("suspended", "active", "terminated", "pendingTerminate")


async def merge_patch_body(request: Request) -> dict[str, Any]:
    """The JSON object of a PATCH request (RFC 7396 merge patch; plain JSON is accepted as the same)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in MERGE_PATCH_TYPES:
        raise HTTPException(415, f"Content-Type={media_type!r} is not one of {', '.join(MERGE_PATCH_TYPES)}")
    try:
        body = json.loads(await request.body())
    except ValueError as e:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "ctx": {"error": str(e)}}]) from None
    if not isinstance(body, dict):
        raise RequestValidationError([{"type": "dict_type", "loc": ("body",), "input": body,
                                       "msg": "a merge patch must be a JSON object"}])
    return body


@router.post("/productOrder", status_code=201, summary="Place a product order")
def place_order(body: ProductOrderCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: order_out(service.place_order(uow, body.command()), c.base_url))


@router.get("/productOrder", summary="List product orders")
def list_orders(c: Ctx = Depends(ctx)):
    allowed = [*service.ORDER_FILTERS, service.ID_FILTER, service.ACCOUNT_FILTER, service.ORDER_DATE_FILTER]
    return list_resources(c, service.list_orders, allowed, order_out)


@router.get("/productOrder/{order_id}", summary="Retrieve a product order")
def get_order(order_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_order, order_id, "productOrder", order_out)


@router.patch("/productOrder/{order_id}", summary="Update, submit (state inProgress) or cancel a product order")
def patch_order(order_id: str, patch: dict[str, Any] = Depends(merge_patch_body), c: Ctx = Depends(ctx)):
    check_patchable(patch, ORDER_PATCHABLE)
    state = patch.get("state")
    if state is not None and state not in CLIENT_ORDER_STATES:
        raise InvalidValue("state", state, f"can only be set to {' or '.join(CLIENT_ORDER_STATES)}; fulfilment "
                                           "sets the others")
    with c.uow() as uow:
        order = service.get_order(uow, path_id(order_id, "productOrder"), lock=True)
        revised = validated(ProductOrderCreate, merge_patch(order_out(order, c.base_url), patch)).command()
        done = service.update_order(uow, order.id, revised, state=state,
                                    cancellation_reason=patch.get("cancellationReason"))
        out = order_out(done, c.base_url)
    return one_response(c.request, out)


@router.delete("/productOrder/{order_id}", status_code=204, summary="Delete a captured (acknowledged) order")
def delete_order(order_id: str, c: Ctx = Depends(ctx)):
    return delete_resource(c, order_id, "productOrder", service.delete_order)


@inventory_router.get("/product", summary="List products (subscriptions)")
def list_products(c: Ctx = Depends(ctx)):
    allowed = [*service.PRODUCT_FILTERS, service.ID_FILTER, service.ACCOUNT_FILTER]
    return list_resources(c, service.list_product_views, allowed, product_out)


@inventory_router.get("/product/{product_id}", summary="Retrieve a product")
def get_product(product_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_product_view, product_id, "product", product_out)


@inventory_router.patch("/product/{product_id}", summary="Suspend, resume, cancel or change the offering of a product")
def patch_product(product_id: str, patch: dict[str, Any] = Depends(merge_patch_body), c: Ctx = Depends(ctx)):
    check_patchable(patch, PRODUCT_PATCHABLE)
    body: ProductPatch = validated(ProductPatch, patch)
    if (body.status is None) == (body.product_offering is None):
        raise InvalidValue("body", sorted(patch), "must change exactly one of status, productOffering")
    if body.status is not None and body.status not in PRODUCT_STATUS_TARGETS:
        raise InvalidValue("status", body.status, f"can be set to {', '.join(PRODUCT_STATUS_TARGETS)}")
    if body.charge_during_suspension is not None and body.status != "suspended":
        raise InvalidValue("chargeDuringSuspension", body.charge_during_suspension, "goes with status suspended only")
    with c.uow() as uow:
        pid = path_id(product_id, "product")
        if body.product_offering is not None:
            service.change_offering(uow, pid, parse_id(body.product_offering.id, "productOffering.id"))
        elif body.status == "suspended":
            service.suspend_product(uow, pid, charge_during_suspension=bool(body.charge_during_suspension),
                                    reason=body.status_reason)
        elif body.status == "active":
            service.resume_product(uow, pid)
        else:
            service.cancel_product(uow, pid, at_end_of_term=body.status == "pendingTerminate",
                                   reason=body.status_reason)
        out = product_out(service.get_product_view(uow, pid), c.base_url)
    return one_response(c.request, out)

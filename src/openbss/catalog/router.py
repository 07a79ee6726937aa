"""TMF620 productOffering and productOfferingPrice routes: parse, call the service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.tmf import filters, list_response, one_response, page, path_id
from openbss.catalog import service
from openbss.catalog.schemas import CATALOG_BASE, ProductOfferingCreate, offering_out, price_out

router = APIRouter(prefix=CATALOG_BASE, tags=["TMF620 Product Catalog"])


@router.post("/productOffering", status_code=201, summary="Create a product offering with its prices")
def create_offering(body: ProductOfferingCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(
        c, body, lambda uow: offering_out(service.create_offering(uow, body.command()), c.base_url)
    )


@router.get("/productOffering", summary="List product offerings")
def list_offerings(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    with c.uow() as uow:
        items, total = service.list_offerings(uow, filters(request, service.OFFERING_FILTERS), p.offset, p.limit)
    return list_response(request, [offering_out(i, c.base_url) for i in items], total)


@router.get("/productOffering/{offering_id}", summary="Retrieve a product offering")
def get_offering(offering_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_offering(uow, path_id(offering_id, "productOffering"))
    return one_response(request, offering_out(item, c.base_url))


@router.get("/productOfferingPrice/{price_id}", summary="Retrieve a product offering price")
def get_price(price_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_price(uow, path_id(price_id, "productOfferingPrice"))
    return one_response(request, price_out(item, c.base_url))

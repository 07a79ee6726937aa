"""TMF620 productOffering and productOfferingPrice routes: parse, call the service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.catalog import service
from openbss.catalog.schemas import CATALOG_BASE, ProductOfferingCreate, offering_out, price_out

router = APIRouter(prefix=CATALOG_BASE, tags=["TMF620 Product Catalog"])
routers = [router]


@router.post("/productOffering", status_code=201, summary="Create a product offering with its prices")
def create_offering(body: ProductOfferingCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(
        c, body, lambda uow: offering_out(service.create_offering(uow, body.command()), c.base_url)
    )


@router.get("/productOffering", summary="List product offerings")
def list_offerings(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_offerings, service.OFFERING_FILTERS, offering_out)


@router.get("/productOffering/{offering_id}", summary="Retrieve a product offering")
def get_offering(offering_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_offering, offering_id, "productOffering", offering_out)


@router.get("/productOfferingPrice/{price_id}", summary="Retrieve a product offering price")
def get_price(price_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_price, price_id, "productOfferingPrice", price_out)

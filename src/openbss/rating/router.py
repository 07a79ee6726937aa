"""TMF677 Usage Consumption routes: POST a queryUsageConsumption to learn what products have used and have
left of their allowances; GET the queries answered before."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.api.tmf import created
from openbss.rating import consumption
from openbss.rating.schemas import CONSUMPTION_BASE, QueryIn, consumption_out, criteria_out, query_out

router = APIRouter(prefix=CONSUMPTION_BASE, tags=["TMF677 Usage Consumption"])
routers = [router]


@router.post("/queryUsageConsumption", status_code=201, summary="Query the usage consumption of products")
def create_query(body: QueryIn, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        at = body.at(uow.now())
        products = consumption.products_in_scope(uow, body.ids("product"), body.ids("partyAccount"))
        answer = consumption_out(consumption.consumption(uow, products, at), c.base_url)
        query = consumption.save_query(uow, criteria_out(body, at), answer)
    return created(query_out(query, c.base_url))


@router.get("/queryUsageConsumption", summary="List usage consumption queries")
def list_queries(c: Ctx = Depends(ctx)):
    return list_resources(c, consumption.list_queries, [], query_out)


@router.get("/queryUsageConsumption/{query_id}", summary="Retrieve a usage consumption query")
def get_query(query_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, consumption.get_query, query_id, "queryUsageConsumption", query_out)

"""TMF620 routes for catalog, category, productSpecification, productOffering and productOfferingPrice:
parse, call the service, shape the response. Every resource has the same five routes, registered once by
`_resource`; PATCH is a JSON merge-patch (RFC 7386) of the resource as read, checked by the create schema."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import delete_resource, get_resource, list_resources, patch_resource, validated
from openbss.api.tmf import merge_patch
from openbss.catalog import service
from openbss.catalog.schemas import (
    CATALOG_BASE,
    CatalogIn,
    CategoryIn,
    PriceIn,
    ProductOfferingIn,
    ProductSpecificationIn,
    catalog_out,
    category_out,
    offering_out,
    price_out,
    specification_out,
)
from openbss.core.errors import InvalidValue

router = APIRouter(prefix=CATALOG_BASE, tags=["TMF620 Product Catalog"])
routers = [router]


def _patch(c: Ctx, ident: str, kind: str, patch: Any, get_fn: Callable, update_fn: Callable,
           shape: Callable[[Any, str], dict[str, Any]], schema: type[BaseModel],
           command: Callable[[Any, Ctx], Any]):
    """A merge-patch of the resource as read, checked by the create schema, then applied."""
    if not isinstance(patch, dict):
        raise InvalidValue("body", patch, "must be a JSON object (a merge-patch)")

    def update(uow, ident_):
        body = validated(schema, merge_patch(shape(get_fn(uow, ident_), c.base_url), patch))
        return update_fn(uow, ident_, command(body, c))

    return patch_resource(c, ident, kind, update, shape)


def _resource(path: str, schema: type[BaseModel], shape: Callable, filters: dict, fns: tuple[Callable, ...],
              command: Callable[[Any, Ctx], Any] = lambda body, c: body.command()) -> None:
    create_fn, list_fn, get_fn, update_fn, delete_fn = fns
    title = path[0].upper() + path[1:]

    def create(body: schema, c: Ctx = Depends(ctx)):  # type: ignore[valid-type]
        return idempotency.create(c, body, lambda uow: shape(create_fn(uow, command(body, c)), c.base_url))

    def list_(c: Ctx = Depends(ctx)):
        return list_resources(c, list_fn, filters, shape)

    def get(ident: str, c: Ctx = Depends(ctx)):
        return get_resource(c, get_fn, ident, path, shape)

    def patch(ident: str, body: Any = Body(...), c: Ctx = Depends(ctx)):
        return _patch(c, ident, path, body, get_fn, update_fn, shape, schema, command)

    def delete(ident: str, c: Ctx = Depends(ctx)):
        return delete_resource(c, ident, path, delete_fn)

    router.add_api_route(f"/{path}", create, methods=["POST"], status_code=201, summary=f"Create a {path}",
                         name=f"create{title}")
    router.add_api_route(f"/{path}", list_, methods=["GET"], summary=f"List {path}s", name=f"list{title}")
    router.add_api_route(f"/{path}/{{ident}}", get, methods=["GET"], summary=f"Retrieve a {path}",
                         name=f"retrieve{title}")
    router.add_api_route(f"/{path}/{{ident}}", patch, methods=["PATCH"], name=f"patch{title}",
                         summary=f"Update a {path} with a JSON merge-patch (application/merge-patch+json)")
    router.add_api_route(f"/{path}/{{ident}}", delete, methods=["DELETE"], status_code=204,
                         summary=f"Delete a {path}", name=f"delete{title}")


_resource("catalog", CatalogIn, catalog_out, service.CATALOG_FILTERS,
          (service.create_catalog, service.list_catalogs, service.get_catalog, service.update_catalog,
           service.delete_catalog))
_resource("category", CategoryIn, category_out, service.CATEGORY_FILTERS,
          (service.create_category, service.list_categories, service.get_category, service.update_category,
           service.delete_category))
_resource("productSpecification", ProductSpecificationIn, specification_out, service.SPECIFICATION_FILTERS,
          (service.create_specification, service.list_specifications, service.get_specification,
           service.update_specification, service.delete_specification))
_resource("productOffering", ProductOfferingIn, offering_out, service.OFFERING_FILTERS,
          (service.create_offering, service.list_offerings, service.get_offering, service.update_offering,
           service.delete_offering),
          command=lambda body, c: body.command(base=c.base_url))
_resource("productOfferingPrice", PriceIn, price_out, service.PRICE_FILTERS,
          (service.create_price, service.list_prices, service.get_price, service.update_price,
           service.delete_price),
          command=lambda body, c: body.command("productOfferingPrice"))

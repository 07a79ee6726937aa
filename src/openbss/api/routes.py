"""Routes every TM Forum resource has, written once: list with paging/filters/fields, get by id, patch, delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from openbss.api.deps import Ctx
from openbss.api.tmf import filters, list_response, one_response, page, path_id
from openbss.db.uow import UnitOfWork

Shape = Callable[[Any, str], dict[str, Any]]


def list_resources(
    c: Ctx, list_fn: Callable[[UnitOfWork, dict[str, str], int, int], tuple[list, int]],
    allowed: Iterable[str], shape: Shape,
) -> JSONResponse:
    p = page(c.request)
    with c.uow() as uow:
        items, total = list_fn(uow, filters(c.request, allowed), p.offset, p.limit)
    return list_response(c.request, [shape(i, c.base_url) for i in items], total)


def get_resource(c: Ctx, get_fn: Callable[[UnitOfWork, uuid.UUID], Any], ident: str, kind: str,
                 shape: Shape) -> JSONResponse:
    with c.uow() as uow:
        item = get_fn(uow, path_id(ident, kind))
    return one_response(c.request, shape(item, c.base_url))


def delete_resource(c: Ctx, ident: str, kind: str, delete_fn: Callable[[UnitOfWork, uuid.UUID], None]) -> Response:
    with c.uow() as uow:
        delete_fn(uow, path_id(ident, kind))
    return Response(status_code=204)


def patch_resource(c: Ctx, ident: str, kind: str, update: Callable[[UnitOfWork, uuid.UUID], Any],
                   shape: Shape) -> JSONResponse:
    """PATCH: `update` applies the merge-patch inside one unit of work; the result is shaped as a GET would."""
    with c.uow() as uow:
        item = update(uow, path_id(ident, kind))
    return one_response(c.request, shape(item, c.base_url))


def validated(model: type[BaseModel], data: Any) -> Any:
    """Check a merged PATCH body with the resource's create schema; its errors are still a 400, as at create."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise RequestValidationError(e.errors()) from None

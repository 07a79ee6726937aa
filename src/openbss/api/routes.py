"""Routes every TM Forum resource has, written once: list with paging/filters/fields, get by id, delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

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

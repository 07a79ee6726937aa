"""TMF635 usage routes: parse, call the service, shape the response.

POST /usage answers 201 with the rated usage the first time a record is sent, and 200 with the usage
already stored when the same record (same source and recordKey) comes again: the record key is the
idempotency key of usage, so no Idempotency-Key header is needed. The same key with another event is 409.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.api.tmf import created, one_response
from openbss.mediation import service
from openbss.mediation.model import IngestResult
from openbss.mediation.schemas import USAGE_BASE, UsageCreate, batch_records, ingest_result_out, usage_out

router = APIRouter(prefix=USAGE_BASE, tags=["TMF635 Usage"])
routers = [router]


@router.post("/usage", status_code=201, summary="Rate and store a usage record")
def create_usage(body: UsageCreate, request: Request, c: Ctx = Depends(ctx)):
    record = body.record()
    with c.uow() as uow:
        item, is_new = service.ingest_one(uow, record)
    out = usage_out(item, c.base_url)
    return created(out) if is_new else one_response(request, out)


@router.post("/usage/batch", summary="Rate and store many usage records (not in TMF635)")
def create_usage_batch(body: list[Any], c: Ctx = Depends(ctx)):
    """Each record is checked on its own: good ones are stored, bad ones reported by index with the field
    and the reason; a record already stored counts as a duplicate."""
    records, unreadable = batch_records(body)
    with c.uow() as uow:
        result = service.renamed(service.ingest_lines(uow, records), service.API_FIELDS)
    return ingest_result_out(result + IngestResult(0, 0, unreadable))


@router.get("/usage", summary="List usage")
def list_usage(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_usage, [*service.USAGE_FILTERS, "billingAccountId"], usage_out)


@router.get("/usage/{usage_id}", summary="Retrieve a usage record")
def get_usage(usage_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_usage, usage_id, "usage", usage_out)

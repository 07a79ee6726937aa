"""TMF635 usage routes: parse, call the service, shape the response.

POST /usage answers 201 with the rated usage the first time a record is sent, and 200 with the usage
already stored when the same record (same source and recordKey) comes again: the record key is the
idempotency key of usage, so no Idempotency-Key header is needed. The same key with another event is 409.
A rejected record is answered 422 and not quarantined: the client still holds it.

POST /usage/batch answers each rejection by index and also quarantines it (origin "api:batch"): batch
senders are gateways and collectors that usually log and drop what is refused, so the operator must be
able to see and reprocess those records once the cause is fixed; resending a corrected record closes
its entry.

The usage quarantine (`/usageQuarantine`) is openbss's own resource beside TMF635, not part of it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request

from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.api.tmf import created, one_response
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.mediation import quarantine, service
from openbss.mediation.model import IngestResult, Rejection, UsageRecord
from openbss.mediation.schemas import (
    DEFAULT_SOURCE,
    USAGE_BASE,
    DiscardIn,
    ReprocessIn,
    UsageCreate,
    batch_records,
    ingest_result_out,
    quarantine_out,
    reprocess_out,
    usage_out,
)

router = APIRouter(prefix=USAGE_BASE, tags=["TMF635 Usage"])
quarantine_router = APIRouter(prefix=USAGE_BASE, tags=["Usage quarantine (openbss, not TMF635)"])
routers = [router, quarantine_router]
BATCH_ORIGIN = "api:batch"
QUARANTINE_FILTERS = ("status", "source")


@router.post("/usage", status_code=201, summary="Rate and store a usage record")
def create_usage(body: UsageCreate, request: Request, c: Ctx = Depends(ctx)):
    record = body.record()

    def attempt():
        with c.uow() as uow:
            return service.ingest_one(uow, record)

    item, is_new = service.retry_concurrent(attempt)
    out = usage_out(item, c.base_url)
    return created(out) if is_new else one_response(request, out)


def _ingest_batch(c: Ctx, records: list[tuple[int, UsageRecord]], unreadable: list[tuple[Rejection, Any]]):
    with c.uow() as uow:
        raw = [(r, json.dumps(item, default=str)) for r, item in unreadable]
        quarantine.quarantine_raw(uow, DEFAULT_SOURCE, raw, origin=BATCH_ORIGIN)
        return service.ingest_lines(uow, records, origin=BATCH_ORIGIN)


@router.post("/usage/batch", summary="Rate and store many usage records (not in TMF635)")
def create_usage_batch(body: list[Any], c: Ctx = Depends(ctx)):
    """Each record is checked on its own: good ones are stored, bad ones reported by index with the field
    and the reason (and quarantined); a record already stored, or repeated in the batch, is a duplicate."""
    records, unreadable = batch_records(body)
    bad_items = [(r, body[r.line]) for r in unreadable]
    result = service.retry_concurrent(lambda: _ingest_batch(c, records, bad_items))
    return ingest_result_out(service.renamed(result, service.API_FIELDS) + IngestResult(0, 0, unreadable))


@router.get("/usage", summary="List usage")
def list_usage(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_usage, [*service.USAGE_FILTERS, "billingAccountId"], usage_out)


@router.get("/usage/{usage_id}", summary="Retrieve a usage record")
def get_usage(usage_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_usage, usage_id, "usage", usage_out)


def _list_quarantine(uow, filters: dict[str, str], offset: int, limit: int):
    return quarantine.list_quarantine(
        uow, status=filters.get("status"), source=filters.get("source"), offset=offset, limit=limit
    )


@quarantine_router.get(
    "/usageQuarantine", summary="List rejected usage records (openbss resource, not part of TMF635)"
)
def list_quarantine(c: Ctx = Depends(ctx)):
    return list_resources(c, _list_quarantine, QUARANTINE_FILTERS, quarantine_out)


@quarantine_router.get(
    "/usageQuarantine/{entry_id}", summary="Retrieve a rejected usage record (openbss resource, not TMF635)"
)
def get_quarantine_entry(entry_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, quarantine.get_entry, entry_id, "usageQuarantine", quarantine_out)


@quarantine_router.post(
    "/usageQuarantine/reprocess",
    summary="Run open quarantined usage records through the pipeline again (openbss, not TMF635)",
)
def reprocess_quarantine(body: ReprocessIn, c: Ctx = Depends(ctx)):
    if not (body.ids or body.source or body.reason_contains or body.all):
        raise InvalidValue("body", None, "must name ids, a source, reasonContains, or all: true")
    ids = None if body.ids is None else [parse_id(i, "ids") for i in body.ids]

    def attempt():
        with c.uow() as uow:
            return service.reprocess(
                uow, ids=ids, source=body.source, reason_contains=body.reason_contains, limit=body.limit
            )

    return reprocess_out(service.retry_concurrent(attempt))


@quarantine_router.post(
    "/usageQuarantine/discard", summary="Close quarantined usage records unstored (openbss, not TMF635)"
)
def discard_quarantine(body: DiscardIn, c: Ctx = Depends(ctx)):
    ids = [parse_id(i, "ids") for i in body.ids]
    with c.uow() as uow:
        return {"discarded": quarantine.discard(uow, ids, body.reason)}

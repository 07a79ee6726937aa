"""TMF676 payment routes: parse, call the service, shape the response.

Served at `/tmf-api/paymentManagement/v4`, not the spec's basePath `/payment/v4/`: the official TMF676
CTK calls `{{Payment}}payment` with `Payment=.../tmf-api/paymentManagement/v4/`, and every other API
here lives under `/tmf-api/<apiName>/v4`, so clients find one pattern everywhere.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.tmf import filters, list_response, one_response, page, path_id
from openbss.payments import service
from openbss.payments.schemas import PAYMENT_BASE, PaymentCreate, payment_out

router = APIRouter(prefix=PAYMENT_BASE, tags=["TMF676 Payment"])


@router.post("/payment", status_code=201, summary="Record a payment received")
def create_payment(body: PaymentCreate, c: Ctx = Depends(ctx)):
    # The header also keys the payment itself, so a retry through another principal or channel is still one payment.
    command = body.command(c.request.headers.get("idempotency-key"))
    return idempotency.create(c, body, lambda uow: payment_out(service.record_payment(uow, command), c.base_url))


@router.get("/payment", summary="List payments")
def list_payments(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    with c.uow() as uow:
        items, total = service.list_payments(uow, filters(request, service.FILTERS), p.offset, p.limit)
    return list_response(request, [payment_out(i, c.base_url) for i in items], total)


@router.get("/payment/{payment_id}", summary="Retrieve a payment")
def get_payment(payment_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_payment(uow, path_id(payment_id, "payment"))
    return one_response(request, payment_out(item, c.base_url))

"""TMF676 payment routes: parse, call the service, shape the response.

Served at `/tmf-api/paymentManagement/v4`, not the spec's basePath `/payment/v4/`: the official TMF676
CTK calls `{{Payment}}payment` with `Payment=.../tmf-api/paymentManagement/v4/`, and every other API
here lives under `/tmf-api/<apiName>/v4`, so clients find one pattern everywhere.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.payments import service
from openbss.payments.schemas import PAYMENT_BASE, PaymentCreate, payment_out

router = APIRouter(prefix=PAYMENT_BASE, tags=["TMF676 Payment"])
routers = [router]


@router.post("/payment", status_code=201, summary="Record a payment received")
def create_payment(body: PaymentCreate, c: Ctx = Depends(ctx)):
    # The header also keys the payment itself, so a retry through another principal or channel is still one payment.
    command = body.command(c.request.headers.get("idempotency-key"))
    return idempotency.create(c, body, lambda uow: payment_out(service.record_payment(uow, command), c.base_url))


@router.get("/payment", summary="List payments")
def list_payments(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_payments, service.FILTERS, payment_out)


@router.get("/payment/{payment_id}", summary="Retrieve a payment")
def get_payment(payment_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_payment, payment_id, "payment", payment_out)

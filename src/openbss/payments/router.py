"""TMF676 payment and refund routes, TMF670 payment method routes, gateway webhooks: parse, call the service,
shape the response.

Payments are served at `/tmf-api/paymentManagement/v4`, not the spec's basePath `/payment/v4/`: the official TMF676
CTK calls `{{Payment}}payment` with `Payment=.../tmf-api/paymentManagement/v4/`, and every other API here lives
under `/tmf-api/<apiName>/v4`, so clients find one pattern everywhere. Payment methods likewise live at
`/tmf-api/paymentMethods/v4` (the TMF670 user guide's apiName).

Two operations beyond the specs take a payment back: `POST .../payment/{id}/reversal` and `.../chargeback`.
Gateway webhooks arrive at `POST .../gatewayEvent/{gateway}`, authenticated by the gateway's signature instead of
an API key (a PSP holds none of ours).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import delete_resource, get_resource, list_resources, patch_resource
from openbss.api.tmf import one_response, path_id
from openbss.db.uow import unit_of_work
from openbss.payments import charges, method_service, refunds, service
from openbss.payments.schemas import (
    METHOD_BASE,
    PAYMENT_BASE,
    PaymentCreate,
    PaymentMethodCreate,
    PaymentMethodPatch,
    RefundCreate,
    UndoIn,
    method_out,
    payment_out,
    refund_out,
)

router = APIRouter(prefix=PAYMENT_BASE, tags=["TMF676 Payment"])
method_router = APIRouter(prefix=METHOD_BASE, tags=["TMF670 Payment Method"])
routers = [router, method_router]

PATCH_TYPES = {"application/merge-patch+json": {"schema": {"type": "object"}},
               "application/json": {"schema": {"type": "object"}}}


@router.post("/payment", status_code=201, summary="Record a payment received (a stored card is charged)")
def create_payment(body: PaymentCreate, c: Ctx = Depends(ctx)):
    # The header also keys the payment itself, so a retry through another principal or channel is still one payment.
    command = body.command(c.request.headers.get("idempotency-key"))
    return idempotency.create(c, body, lambda uow: payment_out(charges.receive(uow, command), c.base_url))


@router.get("/payment", summary="List payments")
def list_payments(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_payments, service.FILTERS, payment_out)


@router.get("/payment/{payment_id}", summary="Retrieve a payment")
def get_payment(payment_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_payment, payment_id, "payment", payment_out)


def _undo(kind: str):
    def route(payment_id: str, body: UndoIn | None = None, c: Ctx = Depends(ctx)):
        with c.uow() as uow:
            p = refunds.undo(uow, path_id(payment_id, "payment"), kind, reason=body.reason if body else None)
        return one_response(c.request, payment_out(p, c.base_url))
    return route


router.post("/payment/{payment_id}/reversal", summary="Reverse a payment: the bills it paid reopen")(_undo("reversal"))
router.post("/payment/{payment_id}/chargeback", summary="Record a chargeback: the bills it paid reopen")(
    _undo("chargeback"))


@router.post("/refund", status_code=201, summary="Pay money back, from a payment or the account's credit balance")
def create_refund(body: RefundCreate, c: Ctx = Depends(ctx)):
    command = body.command(c.request.headers.get("idempotency-key"))
    return idempotency.create(c, body, lambda uow: refund_out(refunds.refund(uow, command), c.base_url))


@router.get("/refund", summary="List refunds")
def list_refunds(c: Ctx = Depends(ctx)):
    return list_resources(c, refunds.list_refunds, refunds.REFUND_FILTERS, refund_out)


@router.get("/refund/{refund_id}", summary="Retrieve a refund")
def get_refund(refund_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, refunds.get_refund, refund_id, "refund", refund_out)


@router.post("/gatewayEvent/{gateway}", summary="A payment gateway's signed webhook (chargeback, settlement)")
async def gateway_event(gateway: str, request: Request):
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    state = request.app.state

    def handle():
        with unit_of_work(state.engine, actor=f"gateway:{gateway}", clock=state.clock) as uow:
            outcome = charges.handle_webhook(uow, gateway, headers, body)
        return {"eventId": outcome.event_id, "type": outcome.type, "duplicate": outcome.duplicate,
                "payment": {"id": str(outcome.payment.id), "status": outcome.payment.status}}

    return await run_in_threadpool(handle)


@method_router.post("/paymentMethod", status_code=201, summary="Add a payment method to an account")
def create_method(body: PaymentMethodCreate, c: Ctx = Depends(ctx)):
    command = body.command()
    return idempotency.create(c, body, lambda uow: method_out(method_service.create_method(uow, command), c.base_url))


@method_router.get("/paymentMethod", summary="List payment methods")
def list_methods(c: Ctx = Depends(ctx)):
    return list_resources(c, method_service.list_methods, method_service.METHOD_FILTERS, method_out)


@method_router.get("/paymentMethod/{method_id}", summary="Retrieve a payment method")
def get_method(method_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, method_service.get_method, method_id, "paymentMethod", method_out)


@method_router.patch("/paymentMethod/{method_id}", summary="Update a payment method (JSON merge-patch)",
                     openapi_extra={"requestBody": {"content": PATCH_TYPES}})
def patch_method(method_id: str, body: PaymentMethodPatch, c: Ctx = Depends(ctx)):
    changes = body.changes()
    return patch_resource(c, method_id, "paymentMethod",
                          lambda uow, i: method_service.update_method(uow, i, changes), method_out)


@method_router.delete("/paymentMethod/{method_id}", status_code=204, summary="Remove a payment method never used")
def delete_method(method_id: str, c: Ctx = Depends(ctx)):
    return delete_resource(c, method_id, "paymentMethod", method_service.delete_method)

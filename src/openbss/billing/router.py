"""TMF678 customerBill and appliedCustomerBillingRate routes (read-only: bills come from bill runs)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from openbss.api.deps import Ctx, ctx
from openbss.api.tmf import filters, list_response, one_response, page, path_id
from openbss.billing import service
from openbss.billing.schemas import BILL_BASE, applied_rate_out, customer_bill_out

router = APIRouter(prefix=BILL_BASE, tags=["TMF678 Customer Bill"])


@router.get("/customerBill", summary="List customer bills")
def list_customer_bills(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    allowed = [*service.INVOICE_FILTERS, "billingAccountId"]
    with c.uow() as uow:
        items, total = service.list_invoices(uow, filters(request, allowed), p.offset, p.limit)
    return list_response(request, [customer_bill_out(i, c.base_url) for i in items], total)


@router.get("/customerBill/{bill_id}", summary="Retrieve a customer bill")
def get_customer_bill(bill_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_invoice(uow, path_id(bill_id, "customerBill"))
    return one_response(request, customer_bill_out(item, c.base_url))


@router.get("/appliedCustomerBillingRate", summary="List applied customer billing rates (invoice lines)")
def list_applied_rates(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    allowed = [*service.LINE_FILTERS, "bill.id"]
    with c.uow() as uow:
        items, total = service.list_invoice_lines(uow, filters(request, allowed), p.offset, p.limit)
    return list_response(request, [applied_rate_out(i, c.base_url) for i in items], total)


@router.get("/appliedCustomerBillingRate/{rate_id}", summary="Retrieve an applied customer billing rate")
def get_applied_rate(rate_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_invoice_line(uow, path_id(rate_id, "appliedCustomerBillingRate"))
    return one_response(request, applied_rate_out(item, c.base_url))

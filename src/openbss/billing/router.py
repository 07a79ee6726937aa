"""TMF678 customerBill and appliedCustomerBillingRate routes (read-only: bills come from bill runs)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.billing import service
from openbss.billing.schemas import BILL_BASE, applied_rate_out, customer_bill_out

router = APIRouter(prefix=BILL_BASE, tags=["TMF678 Customer Bill"])
routers = [router]


@router.get("/customerBill", summary="List customer bills")
def list_customer_bills(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_invoices, [*service.INVOICE_FILTERS, "billingAccountId"], customer_bill_out)


@router.get("/customerBill/{bill_id}", summary="Retrieve a customer bill")
def get_customer_bill(bill_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_invoice, bill_id, "customerBill", customer_bill_out)


@router.get("/appliedCustomerBillingRate", summary="List applied customer billing rates (invoice lines)")
def list_applied_rates(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_invoice_lines, [*service.LINE_FILTERS, "bill.id"], applied_rate_out)


@router.get("/appliedCustomerBillingRate/{rate_id}", summary="Retrieve an applied customer billing rate")
def get_applied_rate(rate_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_invoice_line, rate_id, "appliedCustomerBillingRate", applied_rate_out)

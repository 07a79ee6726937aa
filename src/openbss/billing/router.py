"""TMF678 routes: customerBill (bills come from bill runs; PATCH only holds and releases them, billing.bill_holds),
appliedCustomerBillingRate (read-only), customerBillOnDemand (billing.on_demand), and the corrections of issued
bills: credit notes, debit notes and disputes (extension resources, see billing.schemas)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources, validated
from openbss.api.tmf import one_response, path_id
from openbss.billing import bill_holds, correction_service, disputes, document_router, on_demand, service
from openbss.billing.holds import HELD_STATE
from openbss.billing.lifecycle import ISSUED_STATES
from openbss.billing.schemas import (
    BILL_BASE,
    BILL_PATCHABLE,
    CreditNoteCreate,
    CustomerBillOnDemandCreate,
    CustomerBillUpdate,
    DebitNoteCreate,
    DisputeCreate,
    DisputeUpdate,
    applied_rate_out,
    bill_on_demand_out,
    credit_note_out,
    customer_bill_out,
    debit_note_out,
    dispute_amounts,
    dispute_out,
)
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id

router = APIRouter(prefix=BILL_BASE, tags=["TMF678 Customer Bill"])
routers = [router, document_router.router]


@router.get("/customerBill", summary="List customer bills")
def list_customer_bills(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_invoices, [*service.INVOICE_FILTERS, "id", "billingAccountId"],
                          customer_bill_out)


@router.get("/customerBill/{bill_id}", summary="Retrieve a customer bill")
def get_customer_bill(bill_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_invoice, bill_id, "customerBill", customer_bill_out)


@router.patch("/customerBill/{bill_id}", summary="Hold a customer bill (state onHold) or release its hold")
def patch_customer_bill(bill_id: str, patch: dict[str, Any], c: Ctx = Depends(ctx)):
    """{"state": "onHold"} holds the bill out of collections; {"state": <the state its payments give>} releases
    the hold. Every other attribute of an issued bill is immutable: naming one is a 400 that names it."""
    for name, value in patch.items():
        if name not in BILL_PATCHABLE:
            raise RequestValidationError([{"type": "immutable", "loc": ("body", name), "input": value, "msg":
                                           "cannot be changed on a customer bill: only state is patchable"}])
    body = validated(CustomerBillUpdate, patch)
    ident = path_id(bill_id, "customerBill")
    with c.uow() as uow:
        if body.state == HELD_STATE:
            inv = bill_holds.hold_bill(uow, ident)
        elif body.state in ISSUED_STATES:
            inv = bill_holds.release_bill_hold(uow, ident, body.state)
        else:
            raise InvalidValue("state", body.state, f"can be set to {HELD_STATE}, or to the state the bill's payments "
                               f"give ({', '.join(ISSUED_STATES)}) to release its hold")
        out = customer_bill_out(inv, c.base_url)
    return one_response(c.request, out)


@router.post("/customerBillOnDemand", status_code=201, summary="Request a bill now (processed at once; see state)")
def create_bill_on_demand(body: CustomerBillOnDemandCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: bill_on_demand_out(on_demand.request_bill(
        uow, body.billing_account.id, body.name, body.description), c.base_url))


@router.get("/customerBillOnDemand", summary="List bill-on-demand requests")
def list_bills_on_demand(c: Ctx = Depends(ctx)):
    return list_resources(c, on_demand.list_requests, on_demand.REQUEST_FILTERS, bill_on_demand_out)


@router.get("/customerBillOnDemand/{request_id}", summary="Retrieve a bill-on-demand request")
def get_bill_on_demand(request_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, on_demand.get_request, request_id, "customerBillOnDemand", bill_on_demand_out)


def _applied_rates(uow, filters: dict[str, str], offset: int, limit: int):
    """Invoice lines as applied rates. Every rate served here is on an issued bill, so `isBilled=true` keeps them
    all and `isBilled=false` matches none: rated usage not yet billed is not exposed as applied rates."""
    is_billed = filters.pop("isBilled", "true")
    if is_billed not in ("true", "false"):
        raise InvalidValue("isBilled", is_billed, "must be true or false")
    return service.list_invoice_lines(uow, filters, offset, limit) if is_billed == "true" else ([], 0)


@router.get("/appliedCustomerBillingRate", summary="List applied customer billing rates (invoice lines)")
def list_applied_rates(c: Ctx = Depends(ctx)):
    return list_resources(c, _applied_rates, [*service.LINE_FILTERS, "id", "bill.id", "isBilled"], applied_rate_out)


@router.get("/appliedCustomerBillingRate/{rate_id}", summary="Retrieve an applied customer billing rate")
def get_applied_rate(rate_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_invoice_line, rate_id, "appliedCustomerBillingRate", applied_rate_out)


# Credit notes, debit notes and disputes: extension resources under the TMF678 base path (see billing.schemas).
# POST creates (201, Idempotency-Key honoured), GET lists (offset, limit, fields, billingAccountId, bill.id) and
# reads one; a dispute is resolved or rejected with PATCH {"state": "resolved" | "rejected", "resolution": ...}.


@router.post("/creditNote", status_code=201, summary="Issue a credit note on a customer bill (full or by line)")
def create_credit_note(body: CreditNoteCreate, c: Ctx = Depends(ctx)):
    invoice_id = parse_id(body.bill.id, "bill.id")

    def make(uow):
        inv = service.get_invoice(uow, invoice_id, field="bill.id")
        note = correction_service.issue_credit_note(uow, invoice_id, body.lines(inv.currency), body.reason,
                                                    field="creditNoteLine")
        return credit_note_out(note, c.base_url)

    return idempotency.create(c, body, make)


@router.get("/creditNote", summary="List credit notes")
def list_credit_notes(c: Ctx = Depends(ctx)):
    return list_resources(c, correction_service.list_credit_notes, correction_service.NOTE_FILTERS, credit_note_out)


@router.get("/creditNote/{note_id}", summary="Retrieve a credit note")
def get_credit_note(note_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, correction_service.get_credit_note, note_id, "creditNote", credit_note_out)


@router.post("/debitNote", status_code=201, summary="Issue a debit note (an additional charge) on a customer bill")
def create_debit_note(body: DebitNoteCreate, c: Ctx = Depends(ctx)):
    invoice_id = parse_id(body.bill.id, "bill.id")
    return idempotency.create(c, body, lambda uow: debit_note_out(
        correction_service.issue_debit_note(uow, invoice_id, body.items(), body.reason), c.base_url))


@router.get("/debitNote", summary="List debit notes")
def list_debit_notes(c: Ctx = Depends(ctx)):
    return list_resources(c, correction_service.list_debit_notes, correction_service.NOTE_FILTERS, debit_note_out)


@router.get("/debitNote/{note_id}", summary="Retrieve a debit note")
def get_debit_note(note_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, correction_service.get_debit_note, note_id, "debitNote", debit_note_out)


@router.post("/dispute", status_code=201, summary="Open a dispute on lines of a customer bill")
def create_dispute(body: DisputeCreate, c: Ctx = Depends(ctx)):
    invoice_id = parse_id(body.bill.id, "bill.id")
    return idempotency.create(c, body, lambda uow: dispute_out(disputes.open_dispute(
        uow, invoice_id, dispute_amounts(body.dispute_line), body.reason, body.raised_by, "disputeLine"),
        c.base_url))


@router.get("/dispute", summary="List disputes")
def list_disputes(c: Ctx = Depends(ctx)):
    return list_resources(c, disputes.list_disputes, disputes.DISPUTE_FILTERS, dispute_out)


@router.get("/dispute/{dispute_id}", summary="Retrieve a dispute")
def get_dispute(dispute_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, disputes.get_dispute, dispute_id, "dispute", dispute_out)


@router.patch("/dispute/{dispute_id}", summary="Resolve (with a credit note) or reject a dispute")
def patch_dispute(dispute_id: str, body: DisputeUpdate, c: Ctx = Depends(ctx)):
    ident = path_id(dispute_id, "dispute")
    with c.uow() as uow:
        if body.state == "resolved":
            agreed = dispute_amounts(body.dispute_line) if body.dispute_line is not None else None
            d = disputes.resolve_dispute(uow, ident, body.resolution, agreed)
        elif body.state == "rejected":
            if body.dispute_line is not None:
                raise InvalidValue("disputeLine", len(body.dispute_line),
                                   "is only for a resolution in the customer's favour")
            d = disputes.reject_dispute(uow, ident, body.resolution)
        else:
            raise InvalidValue("state", body.state, "can only be set to resolved or rejected")
        out = dispute_out(d, c.base_url)
    return one_response(c.request, out)

"""TMF629 customer and TMF666 billingAccount routes: parse, call the service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.tmf import filters, list_response, one_response, page, path_id
from openbss.party import service
from openbss.party.schemas import (
    ACCOUNT_BASE,
    CUSTOMER_BASE,
    BillingAccountCreate,
    CustomerCreate,
    billing_account_out,
    customer_out,
)

router = APIRouter(prefix=CUSTOMER_BASE, tags=["TMF629 Customer"])
accounts_router = APIRouter(prefix=ACCOUNT_BASE, tags=["TMF666 Account"])


@router.post("/customer", status_code=201, summary="Create a customer")
def create_customer(body: CustomerCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: customer_out(service.create_customer(uow, body.command()), c.base_url))


@router.get("/customer", summary="List customers")
def list_customers(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    with c.uow() as uow:
        items, total = service.list_customers(uow, filters(request, service.CUSTOMER_FILTERS), p.offset, p.limit)
    return list_response(request, [customer_out(i, c.base_url) for i in items], total)


@router.get("/customer/{customer_id}", summary="Retrieve a customer")
def get_customer(customer_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_customer(uow, path_id(customer_id, "customer"))
    return one_response(request, customer_out(item, c.base_url))


@accounts_router.post("/billingAccount", status_code=201, summary="Create a billing account")
def create_billing_account(body: BillingAccountCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(
        c, body, lambda uow: billing_account_out(service.create_billing_account(uow, body.command()), c.base_url)
    )


@accounts_router.get("/billingAccount", summary="List billing accounts")
def list_billing_accounts(request: Request, c: Ctx = Depends(ctx)):
    p = page(request)
    allowed = [*service.ACCOUNT_FILTERS, "customerId"]
    with c.uow() as uow:
        items, total = service.list_billing_accounts(uow, filters(request, allowed), p.offset, p.limit)
    return list_response(request, [billing_account_out(i, c.base_url) for i in items], total)


@accounts_router.get("/billingAccount/{account_id}", summary="Retrieve a billing account")
def get_billing_account(account_id: str, request: Request, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = service.get_billing_account(uow, path_id(account_id, "billingAccount"))
    return one_response(request, billing_account_out(item, c.base_url))

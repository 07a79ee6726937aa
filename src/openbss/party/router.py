"""TMF629 customer and TMF666 billingAccount routes: parse, call the service, shape the response."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
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
routers = [router, accounts_router]


@router.post("/customer", status_code=201, summary="Create a customer")
def create_customer(body: CustomerCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: customer_out(service.create_customer(uow, body.command()), c.base_url))


@router.get("/customer", summary="List customers")
def list_customers(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_customers, service.CUSTOMER_FILTERS, customer_out)


@router.get("/customer/{customer_id}", summary="Retrieve a customer")
def get_customer(customer_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_customer, customer_id, "customer", customer_out)


@accounts_router.post("/billingAccount", status_code=201, summary="Create a billing account")
def create_billing_account(body: BillingAccountCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(
        c, body, lambda uow: billing_account_out(service.create_billing_account(uow, body.command()), c.base_url)
    )


# Billing accounts are shown with their receivable balance, which the ledger keeps.
def _accounts_with_balances(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int):
    accounts, total = service.list_billing_accounts(uow, filters, offset, limit)
    balances = ledger.ar_balances(uow, [a.id for a in accounts])
    return [(a, balances.get(a.id)) for a in accounts], total


def _account_with_balance(uow: UnitOfWork, account_id: uuid.UUID):
    return service.get_billing_account(uow, account_id), ledger.ar_balance(uow, account_id)


def _account_out(item, base: str) -> dict:
    account, receivable = item
    return billing_account_out(account, base, receivable)


@accounts_router.get("/billingAccount", summary="List billing accounts, with their receivable balance")
def list_billing_accounts(c: Ctx = Depends(ctx)):
    return list_resources(c, _accounts_with_balances, [*service.ACCOUNT_FILTERS, "customerId"], _account_out)


@accounts_router.get("/billingAccount/{account_id}", summary="Retrieve a billing account, with its receivable balance")
def get_billing_account(account_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, _account_with_balance, account_id, "billingAccount", _account_out)

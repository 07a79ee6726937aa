"""TMF632 party, TMF629 customer and TMF666 account routes: parse, call the service, shape the response.

No `from __future__ import annotations` here: routes are generated per resource kind, and FastAPI must see each
closure's body model as a class, not as a name to resolve later.
"""

from typing import Any

from fastapi import APIRouter, Depends

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import delete_resource, get_resource, list_resources, patch_resource
from openbss.api.tmf import merge_patch
from openbss.db.uow import UnitOfWork
from openbss.party import service
from openbss.party.schemas import (
    ACCOUNT_BASE,
    CUSTOMER_BASE,
    DOCUMENT_KINDS,
    PARTY_BASE,
    PARTY_IN,
    PARTY_RESOURCE,
    BillingAccountCreate,
    BillingAccountIn,
    CustomerCreate,
    CustomerIn,
    DocumentIn,
    billing_account_out,
    customer_out,
    document_body,
    document_out,
    party_out,
)

party_router = APIRouter(prefix=PARTY_BASE, tags=["TMF632 Party"])
router = APIRouter(prefix=CUSTOMER_BASE, tags=["TMF629 Customer"])
accounts_router = APIRouter(prefix=ACCOUNT_BASE, tags=["TMF666 Account"])
routers = [party_router, router, accounts_router]

PATCH_TYPES = {"application/merge-patch+json": {"schema": {"type": "object"}},
               "application/json": {"schema": {"type": "object"}}}


# ---- TMF632 individual and organization ----------------------------------------------------------------------

def _party_routes(kind: str) -> None:
    resource, model = PARTY_RESOURCE[kind], PARTY_IN[kind]

    def create(body: model, c: Ctx = Depends(ctx)):
        return idempotency.create(c, body, lambda uow: party_out(service.create_party(uow, kind, body.changes()),
                                                                 c.base_url))

    def list_(c: Ctx = Depends(ctx)):
        return list_resources(c, lambda uow, f, o, n: service.list_parties(uow, kind, f, o, n),
                              service.PARTY_FILTERS, party_out)

    def get(party_id: str, c: Ctx = Depends(ctx)):
        return get_resource(c, lambda uow, i: service.get_party(uow, i, kind), party_id, resource, party_out)

    def patch(party_id: str, body: model, c: Ctx = Depends(ctx)):
        def update(uow, i):
            return service.update_party(uow, i, kind, body.changes(service.get_party(uow, i, kind)))
        return patch_resource(c, party_id, resource, update, party_out)

    def delete(party_id: str, c: Ctx = Depends(ctx)):
        return delete_resource(c, party_id, resource, lambda uow, i: service.delete_party(uow, i, kind))

    party_router.post(f"/{resource}", status_code=201, summary=f"Create an {resource}")(create)
    party_router.get(f"/{resource}", summary=f"List {resource}s")(list_)
    party_router.get(f"/{resource}/{{party_id}}", summary=f"Retrieve an {resource}")(get)
    party_router.patch(f"/{resource}/{{party_id}}", summary=f"Update an {resource} (JSON merge-patch)",
                       openapi_extra={"requestBody": {"content": PATCH_TYPES}})(patch)
    party_router.delete(f"/{resource}/{{party_id}}", status_code=204,
                        summary=f"Delete an {resource} that plays no customer role")(delete)


for _kind in PARTY_RESOURCE:
    _party_routes(_kind)


# ---- TMF629 customer -----------------------------------------------------------------------------------------

@router.post("/customer", status_code=201, summary="Create a customer")
def create_customer(body: CustomerCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: customer_out(service.create_customer(uow, body.command(uow)),
                                                                c.base_url))


@router.get("/customer", summary="List customers")
def list_customers(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_customers, service.CUSTOMER_FILTERS, customer_out)


@router.get("/customer/{customer_id}", summary="Retrieve a customer")
def get_customer(customer_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_customer, customer_id, "customer", customer_out)


@router.patch("/customer/{customer_id}", summary="Update a customer (JSON merge-patch)",
              openapi_extra={"requestBody": {"content": PATCH_TYPES}})
def patch_customer(customer_id: str, body: CustomerIn, c: Ctx = Depends(ctx)):
    return patch_resource(c, customer_id, "customer",
                          lambda uow, i: service.update_customer(uow, i, body.changes(uow)), customer_out)


@router.delete("/customer/{customer_id}", status_code=204, summary="Delete a customer that has no billing account")
def delete_customer(customer_id: str, c: Ctx = Depends(ctx)):
    return delete_resource(c, customer_id, "customer", service.delete_customer)


# ---- TMF666 billingAccount -----------------------------------------------------------------------------------

# Billing accounts are shown with their receivable balance, which the ledger keeps, and their place in a hierarchy.
def _accounts_view(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int):
    accounts, total = service.list_billing_accounts(uow, filters, offset, limit)
    return service.billing_account_views(uow, accounts), total


@accounts_router.post("/billingAccount", status_code=201, summary="Create a billing account")
def create_billing_account(body: BillingAccountCreate, c: Ctx = Depends(ctx)):
    def make(uow):
        account = service.create_billing_account(uow, body.command(uow))
        return billing_account_out(service.billing_account_views(uow, [account])[0], c.base_url)
    return idempotency.create(c, body, make)


@accounts_router.get("/billingAccount", summary="List billing accounts, with their receivable balance")
def list_billing_accounts(c: Ctx = Depends(ctx)):
    return list_resources(c, _accounts_view, service.ACCOUNT_FILTERS, billing_account_out)


@accounts_router.get("/billingAccount/{account_id}", summary="Retrieve a billing account, with its receivable balance")
def get_billing_account(account_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_billing_account_view, account_id, "billingAccount", billing_account_out)


@accounts_router.patch("/billingAccount/{account_id}", summary="Update a billing account (JSON merge-patch)",
                       openapi_extra={"requestBody": {"content": PATCH_TYPES}})
def patch_billing_account(account_id: str, body: BillingAccountIn, c: Ctx = Depends(ctx)):
    def update(uow, i):
        return service.billing_account_views(uow, [service.update_billing_account(uow, i, body.changes(uow))])[0]
    return patch_resource(c, account_id, "billingAccount", update, billing_account_out)


@accounts_router.delete("/billingAccount/{account_id}", status_code=204,
                        summary="Delete a pending billing account (others are closed, keeping their history)")
def delete_billing_account(account_id: str, c: Ctx = Depends(ctx)):
    return delete_resource(c, account_id, "billingAccount", service.delete_billing_account)


# ---- TMF666 resources kept as sent ---------------------------------------------------------------------------

def _document_routes(kind: str) -> None:
    def create(body: DocumentIn, c: Ctx = Depends(ctx)):
        return idempotency.create(c, body, lambda uow: document_out(service.create_document(uow, kind, body.body(kind)),
                                                                    c.base_url))

    def list_(c: Ctx = Depends(ctx)):
        return list_resources(c, lambda uow, f, o, n: service.list_documents(uow, kind, f, o, n),
                              service.DOCUMENT_FILTERS, document_out)

    def get(doc_id: str, c: Ctx = Depends(ctx)):
        return get_resource(c, lambda uow, i: service.get_document(uow, kind, i), doc_id, kind, document_out)

    def patch(doc_id: str, body: dict[str, Any], c: Ctx = Depends(ctx)):
        def update(uow, i):
            merged = merge_patch(service.get_document(uow, kind, i).body, body)
            return service.update_document(uow, kind, i, document_body(kind, merged))
        return patch_resource(c, doc_id, kind, update, document_out)

    def delete(doc_id: str, c: Ctx = Depends(ctx)):
        return delete_resource(c, doc_id, kind, lambda uow, i: service.delete_document(uow, kind, i))

    accounts_router.post(f"/{kind}", status_code=201, summary=f"Create a {kind}")(create)
    accounts_router.get(f"/{kind}", summary=f"List {kind} resources")(list_)
    accounts_router.get(f"/{kind}/{{doc_id}}", summary=f"Retrieve a {kind}")(get)
    accounts_router.patch(f"/{kind}/{{doc_id}}", summary=f"Update a {kind} (JSON merge-patch)",
                          openapi_extra={"requestBody": {"content": PATCH_TYPES}})(patch)
    accounts_router.delete(f"/{kind}/{{doc_id}}", status_code=204, summary=f"Delete a {kind}")(delete)


for _kind in DOCUMENT_KINDS:
    _document_routes(_kind)

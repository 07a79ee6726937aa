"""Dunning routes (openbss's own API, see dunning.schemas): plans, cases, promises to pay. Thin: parse, call, shape."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.api.tmf import one_response, path_id
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.dunning import service
from openbss.dunning.schemas import (
    DUNNING_BASE,
    DunningPlanCreate,
    DunningPlanUpdate,
    PromiseCreate,
    case_out,
    plan_out,
    promise_out,
)

router = APIRouter(prefix=DUNNING_BASE, tags=["Dunning (openbss, not a TM Forum API)"])
routers = [router]


@router.post("/dunningPlan", status_code=201, summary="Create a dunning plan for a segment and currency")
def create_plan(body: DunningPlanCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: plan_out(service.create_plan(uow, body.command()), c.base_url))


@router.get("/dunningPlan", summary="List dunning plans")
def list_plans(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_plans, service.PLAN_FILTERS, plan_out)


@router.get("/dunningPlan/{plan_id}", summary="Retrieve a dunning plan")
def get_plan(plan_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_plan, plan_id, "dunningPlan", plan_out)


@router.patch("/dunningPlan/{plan_id}", summary="Retire a dunning plan (its open cases keep following it)")
def patch_plan(plan_id: str, body: DunningPlanUpdate, c: Ctx = Depends(ctx)):
    ident = path_id(plan_id, "dunningPlan")
    if body.lifecycle_status != "retired":
        raise InvalidValue("lifecycleStatus", body.lifecycle_status, "can only be set to retired")
    with c.uow() as uow:
        out = plan_out(service.retire_plan(uow, ident), c.base_url)
    return one_response(c.request, out)


@router.get("/dunningCase", summary="List dunning cases")
def list_cases(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_cases, service.CASE_FILTERS, case_out)


@router.get("/dunningCase/{case_id}", summary="Retrieve a dunning case with its steps and promises")
def get_case(case_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_case, case_id, "dunningCase", case_out)


@router.post("/promiseToPay", status_code=201, summary="Record a promise to pay: the case pauses until its date")
def create_promise(body: PromiseCreate, c: Ctx = Depends(ctx)):
    case_id = parse_id(body.dunning_case.id, "dunningCase.id")
    return idempotency.create(c, body, lambda uow: promise_out(service.record_promise(
        uow, case_id, body.amount.money("amount"), body.promised_date), c.base_url))

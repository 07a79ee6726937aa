"""TMF654 Prepay Balance Management routes: buckets, top-ups (by API or voucher), adjustments, accumulated balances.
Thin: parse, call charging.balances, shape."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.api.tmf import one_response
from openbss.charging import balances
from openbss.charging.schemas import (
    BALANCE_BASE,
    AdjustBalanceCreate,
    TopupBalanceCreate,
    accumulated_out,
    adjust_out,
    bucket_out,
    topup_out,
)

router = APIRouter(prefix=BALANCE_BASE, tags=["TMF654 Prepay Balance Management"])
routers = [router]


@router.get("/bucket", summary="List balance buckets (filters: partyAccount.id, usageType, status, isShared)")
def list_buckets(c: Ctx = Depends(ctx)):
    return list_resources(c, balances.list_buckets, balances.BUCKET_FILTERS, bucket_out)


@router.get("/bucket/{bucket_id}", summary="Retrieve a balance bucket")
def get_bucket(bucket_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, balances.get_bucket_view, bucket_id, "bucket", bucket_out)


@router.post("/topupBalance", status_code=201,
             summary="Top up a bucket (or open a new one), paid by a voucher PIN or another means")
def create_topup(body: TopupBalanceCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: topup_out(balances.topup(uow, body.command()), c.base_url))


@router.get("/topupBalance", summary="List top-ups (filters: partyAccount.id, bucket.id, usageType)")
def list_topups(c: Ctx = Depends(ctx)):
    return list_resources(c, balances.list_topups, balances.ACTION_FILTERS, topup_out)


@router.get("/topupBalance/{topup_id}", summary="Retrieve a top-up")
def get_topup(topup_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, balances.get_topup, topup_id, "topupBalance", topup_out)


@router.post("/adjustBalance", status_code=201,
             summary="Adjust a bucket's amount up or down, with a reason (never below used + reserved)")
def create_adjustment(body: AdjustBalanceCreate, c: Ctx = Depends(ctx)):
    return idempotency.create(c, body, lambda uow: adjust_out(balances.adjust(uow, body.command()), c.base_url))


@router.get("/adjustBalance", summary="List adjustments (filters: partyAccount.id, bucket.id, usageType)")
def list_adjustments(c: Ctx = Depends(ctx)):
    return list_resources(c, balances.list_adjustments, balances.ACTION_FILTERS, adjust_out)


@router.get("/adjustBalance/{adjustment_id}", summary="Retrieve an adjustment")
def get_adjustment(adjustment_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, balances.get_adjustment, adjustment_id, "adjustBalance", adjust_out)


@router.get("/accumulatedBalance",
            summary="What each account may spend now, per currency or unit (filters: partyAccount.id, usageType)")
def list_accumulated(c: Ctx = Depends(ctx)):
    return list_resources(c, balances.list_accumulated, balances.ACCUMULATED_FILTERS, accumulated_out)


@router.get("/accumulatedBalance/{ident}", summary="Retrieve an accumulated balance: <account id>-<EUR|second|...>")
def get_accumulated(ident: str, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        item = balances.get_accumulated(uow, ident)
    return one_response(c.request, accumulated_out(item, c.base_url))

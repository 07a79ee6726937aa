"""Dunning request and response shapes, in TM Forum style (id, href, @type, Money as {unit, value}).

There is no TM Forum v4 API for collections among the specs openbss follows, so these resources are openbss's own,
served at DUNNING_BASE: `dunningPlan` (steps at +N days after the due date), `dunningCase` (one per overdue
account, with the steps taken and its promises) and `promiseToPay`."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from openbss.api.tmf import MoneyIn, RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.dunning.model import DunningPlan, DunningStep, Promise
from openbss.dunning.service import DunningCase, NewPlan
from openbss.party.schemas import ACCOUNT_BASE

DUNNING_BASE = "/openbss-api/dunning/v1"


class DunningStepIn(TmfIn):
    day: int = Field(description="days after the due date of the oldest overdue document")
    action: str = Field(description="reminder, lateFee, suspend, terminate, writeOff or collectionAgency")
    fee: MoneyIn | None = Field(None, description="lateFee: the net amount of the debit note")
    tax_category: str = Field("standard", alias="taxCategory")


class DunningPlanCreate(TmfIn):
    name: str
    segment: str | None = Field(None, description="the customer segment; absent: every segment without a plan")
    currency: str
    step: list[DunningStepIn]

    def command(self) -> NewPlan:
        steps = tuple(DunningStep(s.day, s.action, s.fee.money(f"step[{i}].fee") if s.fee else None, s.tax_category)
                      for i, s in enumerate(self.step))
        return NewPlan(self.name, self.currency, steps, self.segment)


class DunningPlanUpdate(TmfIn):
    lifecycle_status: str = Field(alias="lifecycleStatus", description="only 'retired'")


class PromiseCreate(TmfIn):
    dunning_case: RefIn = Field(alias="dunningCase")
    amount: MoneyIn
    promised_date: date = Field(alias="promisedDate")


def plan_out(plan: DunningPlan, base: str) -> dict[str, Any]:
    return {
        "id": str(plan.id), "href": href(base, DUNNING_BASE, "dunningPlan", plan.id), "@type": "DunningPlan",
        "name": plan.name, "segment": plan.segment, "currency": plan.currency,
        "lifecycleStatus": "active" if plan.active else "retired", "creationDate": ts(plan.created_at),
        "step": [{"stepNumber": n, "day": s.day, "action": s.action, "fee": money_out(s.fee),
                  **({"taxCategory": s.tax_category} if s.fee else {})} for n, s in enumerate(plan.steps, start=1)],
    }


def promise_out(p: Promise, base: str) -> dict[str, Any]:
    return {
        "id": str(p.id), "href": href(base, DUNNING_BASE, "promiseToPay", p.id), "@type": "PromiseToPay",
        "dunningCase": ref_out(base, DUNNING_BASE, "dunningCase", p.case_id, "DunningCase"),
        "amount": money_out(p.amount), "promisedDate": p.promised_on.isoformat(), "state": p.state,
        "outstandingWhenPromised": money_out(p.baseline), "creationDate": ts(p.created_at),
        "resolvedDate": p.resolved_on and p.resolved_on.isoformat(),
    }


def case_out(c: DunningCase, base: str) -> dict[str, Any]:
    return {
        "id": str(c.id), "href": href(base, DUNNING_BASE, "dunningCase", c.id), "@type": "DunningCase",
        "billingAccount": ref_out(base, ACCOUNT_BASE, "billingAccount", c.account_id, "BillingAccount"),
        "dunningPlan": ref_out(base, DUNNING_BASE, "dunningPlan", c.plan_id, "DunningPlan"),
        "state": c.state, "stateReason": c.reason, "currency": c.currency, "anchorDate": c.anchor_date.isoformat(),
        "pausedDays": c.paused_days, "pausedSince": c.paused_since and c.paused_since.isoformat(),
        "creationDate": ts(c.created_at), "lastUpdate": ts(c.updated_at), "closedDate": ts(c.closed_at),
        "action": [{"stepNumber": a.step_no, "action": a.action, "date": a.taken_on.isoformat(),
                    "overdueAmount": money_out(a.amount), "details": a.details} for a in c.actions],
        "promiseToPay": [promise_out(p, base) for p in c.promises],
    }

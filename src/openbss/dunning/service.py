"""Use cases of collections: plans, cases, promises to pay, and the daily step of one account. Never commits.

`process_account(uow, account_id, at)` is what `openbss dunning run` does per account, in one transaction under the
account lock billing and payments take (a payment and a dunning step never interleave on one account):

1. what is overdue: the account's open invoices and debit notes (`billing.service.open_invoices`) past their due
   date, collectible = left to pay less what open disputes hold (billing already leaves those out) and less what
   dunning wrote off; the held amounts kept beside;
2. no open case and something collectible overdue: a case opens on the plan of the customer's segment and the
   account's currency (else the currency's plan for every segment; no plan: nothing happens, reported), anchored at
   the oldest collectible document's due date;
3. an open promise to pay is kept once the promised documents' outstanding fell by the amount, broken when its
   date passed first;
4. nothing overdue left (paid or credited): the case closes and the products dunning suspended are resumed (a
   ProductStateChangeEvent each, which provisioning acts on); an open promise, or only disputed amounts left: the
   case pauses (its clock stops); otherwise every step due at the case's age and not taken yet is taken, in plan
   order (`dunning.steps`). UNIQUE (case, step) makes a step happen once, however often the run runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import correction_service
from openbss.billing import service as billing
from openbss.billing.holds import held_amounts
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money, check_currency
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.dunning import steps as step_actions
from openbss.dunning.model import (
    CASE_STATES,
    WRITE_OFF,
    DunningPlan,
    DunningStep,
    Exposure,
    OverdueItem,
    Promise,
    age,
    assess,
    check_name,
    check_steps,
    due_steps,
    promise_outcome,
)
from openbss.dunning.tables import (
    dunning_action,
    dunning_case,
    dunning_plan,
    dunning_plan_step,
    dunning_product,
    dunning_promise,
    dunning_write_off,
)
from openbss.ledger import service as ledger
from openbss.ordering import service as ordering
from openbss.party import service as party

PLAN_FILTERS = ("segment", "currency", "active")
CASE_FILTERS = ("billingAccountId", "state")


# ------------------------------------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class NewPlan:
    name: str
    currency: str
    steps: tuple[DunningStep, ...]
    segment: str | None = None


def create_plan(uow: UnitOfWork, new: NewPlan) -> DunningPlan:
    """A plan for a segment (None: every segment without its own) in one currency; one active plan per pair."""
    name, currency = check_name(new.name), check_currency(new.currency)
    segment = None if new.segment is None else check_name(new.segment, "segment")
    plan_steps = check_steps(new.steps, currency)
    if uow.conn.execute(sa.select(dunning_plan.c.id).where(dunning_plan.c.name == name)).first():
        raise Conflict(f"a dunning plan named {name!r} exists already")
    current = _active_plan(uow, segment, currency)
    if current is not None:
        raise Conflict(f"dunning plan {current.name!r} ({current.id}) is active for segment {segment!r} in "
                       f"{currency}; retire it first")
    plan_id = new_id()
    uow.conn.execute(sa.insert(dunning_plan).values(id=plan_id, created_at=uow.now(), name=name, segment=segment,
                                                    currency=currency, active=True))
    uow.conn.execute(sa.insert(dunning_plan_step), [
        {"plan_id": plan_id, "step_no": n, "day": s.day, "action": s.action,
         "fee_amount": s.fee.amount if s.fee else None, "tax_category": s.tax_category}
        for n, s in enumerate(plan_steps, start=1)
    ])
    plan = get_plan(uow, plan_id)
    audit.record(uow, "dunningPlan.created", "dunningPlan", plan_id, after=_plan_image(plan))
    return plan


def _plan_image(plan: DunningPlan) -> dict:
    return {"name": plan.name, "segment": plan.segment, "currency": plan.currency, "active": plan.active,
            "steps": [{"day": s.day, "action": s.action, "fee": s.fee and s.fee.amount,
                       "taxCategory": s.tax_category} for s in plan.steps]}


def retire_plan(uow: UnitOfWork, plan_id: uuid.UUID) -> DunningPlan:
    """No new case opens on the plan; the cases it opened keep following it."""
    plan = get_plan(uow, plan_id)
    uow.conn.execute(sa.update(dunning_plan).where(dunning_plan.c.id == plan_id).values(active=False))
    audit.record(uow, "dunningPlan.retired", "dunningPlan", plan_id, before={"active": plan.active},
                 after={"active": False})
    return replace(plan, active=False)


def _plans(uow: UnitOfWork, rows: list[sa.Row]) -> list[DunningPlan]:
    steps: dict[uuid.UUID, list[DunningStep]] = {r.id: [] for r in rows}
    currency = {r.id: r.currency for r in rows}
    for s in uow.conn.execute(sa.select(dunning_plan_step).where(dunning_plan_step.c.plan_id.in_(list(steps)))
                              .order_by(dunning_plan_step.c.plan_id, dunning_plan_step.c.step_no)):
        fee = Money(s.fee_amount, currency[s.plan_id]).rounded() if s.fee_amount is not None else None
        steps[s.plan_id].append(DunningStep(s.day, s.action, fee, s.tax_category))
    return [DunningPlan(r.id, r.name, r.segment, r.currency, r.active, r.created_at, tuple(steps[r.id]))
            for r in rows]


def get_plan(uow: UnitOfWork, plan_id: uuid.UUID, *, field: str | None = None) -> DunningPlan:
    row = uow.conn.execute(sa.select(dunning_plan).where(dunning_plan.c.id == plan_id)).first()
    if row is None:
        raise NotFound("dunningPlan", str(plan_id), field)
    return _plans(uow, [row])[0]


def list_plans(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[DunningPlan], int]:
    conditions = [dunning_plan.c[k] == v for k, v in filters.items() if k in ("segment", "currency")]
    if "active" in filters:
        if filters["active"] not in ("true", "false"):
            raise InvalidValue("active", filters["active"], "must be true or false")
        conditions.append(dunning_plan.c.active.is_(filters["active"] == "true"))
    rows, count = paged(uow.conn, sa.select(dunning_plan).where(*conditions), offset, limit, dunning_plan.c.id)
    return _plans(uow, rows), count


def _active_plan(uow: UnitOfWork, segment: str | None, currency: str) -> DunningPlan | None:
    same_segment = dunning_plan.c.segment.is_(None) if segment is None else dunning_plan.c.segment == segment
    row = uow.conn.execute(sa.select(dunning_plan).where(
        dunning_plan.c.active, dunning_plan.c.currency == currency, same_segment)).first()
    return None if row is None else _plans(uow, [row])[0]


def plan_for(uow: UnitOfWork, segment: str | None, currency: str) -> DunningPlan | None:
    """The active plan of the segment in the currency, else the currency's plan for every segment."""
    return (_active_plan(uow, segment, currency) if segment is not None else None) or _active_plan(uow, None, currency)


# ------------------------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Action:
    id: uuid.UUID
    step_no: int
    action: str
    taken_on: date
    amount: Money
    details: dict
    created_at: datetime


@dataclass(frozen=True)
class DunningCase:
    id: uuid.UUID
    account_id: uuid.UUID
    plan_id: uuid.UUID
    currency: str
    state: str
    reason: str | None
    anchor_date: date
    paused_days: int
    paused_since: date | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    actions: tuple[Action, ...] = ()
    promises: tuple[Promise, ...] = ()


def _promise(r: sa.Row) -> Promise:
    return Promise(r.id, r.case_id, r.account_id, Money(r.amount, r.currency).rounded(), r.promised_on,
                   Money(r.baseline, r.currency).rounded(), tuple(r.documents), r.state, r.created_at, r.resolved_on)


def _case(uow: UnitOfWork, row: sa.Row) -> DunningCase:
    actions = tuple(
        Action(a.id, a.step_no, a.action, a.taken_on, Money(a.amount, a.currency).rounded(), a.details, a.created_at)
        for a in uow.conn.execute(sa.select(dunning_action).where(dunning_action.c.case_id == row.id)
                                  .order_by(dunning_action.c.step_no)))
    promises = tuple(_promise(p) for p in uow.conn.execute(
        sa.select(dunning_promise).where(dunning_promise.c.case_id == row.id).order_by(dunning_promise.c.id)))
    m = row._mapping
    return DunningCase(**{k: m[k] for k in (
        "id", "account_id", "plan_id", "currency", "state", "reason", "anchor_date", "paused_days", "paused_since",
        "created_at", "updated_at", "closed_at")}, actions=actions, promises=promises)


def get_case(uow: UnitOfWork, case_id: uuid.UUID, *, field: str | None = None) -> DunningCase:
    row = uow.conn.execute(sa.select(dunning_case).where(dunning_case.c.id == case_id)).first()
    if row is None:
        raise NotFound("dunningCase", str(case_id), field)
    return _case(uow, row)


def list_cases(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[DunningCase], int]:
    """Cases, oldest first, filtered by billingAccountId and state."""
    conditions = []
    if "billingAccountId" in filters:
        conditions.append(dunning_case.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    if "state" in filters:
        if filters["state"] not in CASE_STATES:
            raise InvalidValue("state", filters["state"], f"must be one of {', '.join(CASE_STATES)}")
        conditions.append(dunning_case.c.state == filters["state"])
    rows, count = paged(uow.conn, sa.select(dunning_case).where(*conditions), offset, limit, dunning_case.c.id)
    return [_case(uow, r) for r in rows], count


def open_case(uow: UnitOfWork, account_id: uuid.UUID) -> DunningCase | None:
    """The account's case that is not closed, locked until the transaction ends."""
    row = uow.conn.execute(sa.select(dunning_case).where(
        dunning_case.c.account_id == account_id, dunning_case.c.state != "closed").with_for_update()).first()
    return None if row is None else _case(uow, row)


# ---------------------------------------------------------------------------------------------------- exposure


def _due(uow: UnitOfWork, document_id: uuid.UUID) -> tuple[date, uuid.UUID]:
    """(due date, the invoice it belongs to) of an invoice or a debit note."""
    try:
        return billing.get_invoice(uow, document_id).due_date, document_id
    except NotFound:
        note = correction_service.get_debit_note(uow, document_id)
        return note.due_date, note.invoice_id


def written_off(uow: UnitOfWork, document_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """{document id: amount dunning wrote off}; documents never written off are absent."""
    if not document_ids:
        return {}
    rows = uow.conn.execute(sa.select(dunning_write_off.c.document_id, sa.func.sum(dunning_write_off.c.amount))
                            .where(dunning_write_off.c.document_id.in_(document_ids))
                            .group_by(dunning_write_off.c.document_id))
    return dict(rows.all())


def exposure(uow: UnitOfWork, account_id: uuid.UUID, currency: str, today: date) -> Exposure:
    """What the account has overdue on `today` (its local date), oldest due first; the documents stay locked."""
    documents = billing.open_invoices(uow, account_id)
    ids = [d.id for d in documents]
    held, gone = held_amounts(uow, ids), written_off(uow, ids)
    items = []
    for d in documents:
        due_date, invoice_id = _due(uow, d.id)
        if due_date >= today:  # payable up to and including the due date
            continue
        collectible = max(d.remaining.amount - gone.get(d.id, 0), Decimal(0))
        # Document amounts are in minor units already; rounding only drops NUMERIC(20,6)'s trailing zeros.
        items.append(OverdueItem(d.id, d.number, invoice_id, due_date, Money(collectible, currency).rounded(),
                                 Money(held.get(d.id, Decimal(0)), currency).rounded()))
    return Exposure(currency, tuple(sorted(items, key=lambda i: (i.due_date, i.number))))


def candidates(uow: UnitOfWork) -> list[uuid.UUID]:
    """Accounts the run looks at: those owing something in the ledger, and those with a case still open."""
    owing = {a for a, balance in ledger.ar_balances(uow).items() if balance.amount > 0}
    open_cases = uow.conn.execute(sa.select(dunning_case.c.account_id).where(dunning_case.c.state != "closed"))
    return sorted(owing | set(open_cases.scalars()))


# ---------------------------------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Outcome:
    """One thing the run did (or found) for an account: a line of `openbss dunning run`'s table."""

    account_number: str
    day: date  # the account's local day the run acted on
    case_id: uuid.UUID | None
    what: str  # opened, <action>, paused, resumed, closed, restored, promiseKept, promiseBroken, noPlan
    amount: Money | None = None
    detail: str = ""


@dataclass
class _Run:
    account_number: str
    day: date
    outcomes: list[Outcome] = field(default_factory=list)

    def note(self, case_id, what, amount=None, detail=""):
        self.outcomes.append(Outcome(self.account_number, self.day, case_id, what, amount, detail))


def _open(uow: UnitOfWork, account_id: uuid.UUID, plan: DunningPlan, exp: Exposure) -> DunningCase:
    case_id, now = new_id(), uow.now()
    anchor = exp.collectible_items[0].due_date
    uow.conn.execute(sa.insert(dunning_case).values(
        id=case_id, created_at=now, updated_at=now, account_id=account_id, plan_id=plan.id, currency=exp.currency,
        state="active", anchor_date=anchor, paused_days=0))
    audit.record(uow, "dunningCase.opened", "dunningCase", case_id, after={
        "accountId": account_id, "plan": plan.name, "anchorDate": anchor, "overdue": exp.collectible.amount})
    return get_case(uow, case_id)


def _move(uow: UnitOfWork, case: DunningCase, state: str, reason: str | None, today: date) -> DunningCase:
    """Change the case's state; leaving a pause adds its days to `paused_days` (the clock stopped meanwhile)."""
    if (case.state, case.reason) == (state, reason):
        return case
    values: dict = {"state": state, "reason": reason, "updated_at": uow.now()}
    if state == "paused" and case.state != "paused":
        values["paused_since"] = today
    if state != "paused" and case.state == "paused":
        values |= {"paused_since": None, "paused_days": case.paused_days + (today - case.paused_since).days}
    if state == "closed":
        values["closed_at"] = uow.now()
    uow.conn.execute(sa.update(dunning_case).where(dunning_case.c.id == case.id).values(**values))
    audit.record(uow, f"dunningCase.{state}", "dunningCase", case.id, before={"state": case.state,
                 "reason": case.reason}, after={"state": state, "reason": reason})
    return get_case(uow, case.id)


def _settle_promise(uow: UnitOfWork, case: DunningCase, exp: Exposure, today: date, run: _Run) -> bool:
    """Decide the case's open promise, if any; True while it stays open."""
    promise = next((p for p in case.promises if p.state == "open"), None)
    if promise is None:
        return False
    result = promise_outcome(promise, exp.outstanding(promise.documents), today)
    if result == "open":
        return True
    uow.conn.execute(sa.update(dunning_promise).where(dunning_promise.c.id == promise.id)
                     .values(state=result, resolved_on=today))
    audit.record(uow, f"promiseToPay.{result}", "promiseToPay", promise.id, before={"state": "open"},
                 after={"state": result, "resolvedOn": today})
    run.note(case.id, f"promise{result.capitalize()}", promise.amount, f"promised by {promise.promised_on}")
    return False


def _resume_products(uow: UnitOfWork, case: DunningCase, run: _Run) -> None:
    """Resume what this case suspended and nobody ended meanwhile (each resume emits the event provisioning hears)."""
    rows = uow.conn.execute(sa.select(dunning_product.c.product_id).where(
        dunning_product.c.case_id == case.id, dunning_product.c.suspended_at.is_not(None),
        dunning_product.c.terminated_at.is_(None), dunning_product.c.restored_at.is_(None)))
    for product_id in rows.scalars().all():
        if ordering.get_product(uow, product_id).status == "suspended":
            ordering.resume_product(uow, product_id)
            run.note(case.id, "restored", detail=f"product {product_id}")
        uow.conn.execute(sa.update(dunning_product).where(
            dunning_product.c.case_id == case.id, dunning_product.c.product_id == product_id
        ).values(restored_at=uow.now()))


def process_account(uow: UnitOfWork, account_id: uuid.UUID, at: datetime) -> list[Outcome]:
    """One account's collections on the day `at` falls on in its zone (see the module docstring)."""
    uow.advisory_lock("account", account_id)
    account = party.get_billing_account(uow, account_id)
    if account.currency is None:
        return []  # a pending account has issued nothing
    today = at.astimezone(account.zone).date()
    run = _Run(account.number, today)
    case = open_case(uow, account_id)
    exp = exposure(uow, account_id, account.currency, today)
    if case is None:
        if exp.collectible.is_zero():
            return []
        segment = party.get_customer(uow, account.customer_id).segment if account.customer_id else None
        plan = plan_for(uow, segment, account.currency)
        if plan is None:
            run.note(None, "noPlan", exp.collectible, f"no active dunning plan for segment {segment!r} in "
                                                      f"{account.currency}")
            return run.outcomes
        case = _open(uow, account_id, plan, exp)
        run.note(case.id, "opened", exp.collectible, f"plan {plan.name}, due {case.anchor_date}")
    promise_open = _settle_promise(uow, case, exp, today, run)
    state, reason = assess(exp, promise_open)
    was_paused = case.state == "paused"
    case = _move(uow, case, state, reason, today)
    if state == "closed":
        run.note(case.id, "closed", detail=reason or "")
        _resume_products(uow, case, run)
        return run.outcomes
    if state == "paused":
        if not was_paused:
            run.note(case.id, "paused", exp.held if reason == "dispute" else exp.collectible, reason or "")
        return run.outcomes
    if was_paused:
        run.note(case.id, "resumed", exp.collectible)
    plan = get_plan(uow, case.plan_id)
    case_age = age(case.anchor_date, today, case.paused_days, case.paused_since)
    for step_no, step in due_steps(plan.steps, {a.step_no for a in case.actions}, case_age):
        detail = step_actions.take(uow, case.id, account, step_no, step, exp, today)
        run.note(case.id, step.action, exp.collectible, detail)
        if step.action == WRITE_OFF:
            _move(uow, case, "closed", "writtenOff", today)
            run.note(case.id, "closed", detail="writtenOff")
            break
    return run.outcomes


# -------------------------------------------------------------------------------------------- promises to pay


def record_promise(uow: UnitOfWork, case_id: uuid.UUID, amount: Money, promised_on: date) -> Promise:
    """The customer promises to pay `amount` by `promised_on` (a local date): the case pauses until it is kept or
    broken (`process_account` decides). One open promise per case."""
    case = get_case(uow, case_id, field="dunningCase.id")
    uow.advisory_lock("account", case.account_id)
    case = open_case(uow, case.account_id)
    if case is None or case.id != case_id:
        raise Conflict(f"dunning case {case_id} is closed")
    if any(p.state == "open" for p in case.promises):
        raise Conflict(f"dunning case {case_id} has an open promise to pay already")
    if amount.currency != case.currency:
        raise InvalidValue("amount.unit", amount.currency, f"does not match the case's currency {case.currency}")
    if amount.rounded() != amount:
        raise InvalidValue("amount.value", amount.amount, f"has more decimals than {amount.currency} allows")
    account = party.get_billing_account(uow, case.account_id)
    today = uow.now().astimezone(account.zone).date()
    if promised_on < today:
        raise InvalidValue("promisedDate", promised_on.isoformat(), f"is before today ({today})")
    exp = exposure(uow, case.account_id, case.currency, today)
    documents = [i.document_id for i in exp.items]
    baseline = exp.outstanding(documents)
    if amount.amount <= 0 or amount > baseline:
        raise InvalidValue("amount.value", amount.amount, f"must be greater than 0 and at most the {baseline} "
                                                          "overdue")
    promise_id = new_id()
    uow.conn.execute(sa.insert(dunning_promise).values(
        id=promise_id, created_at=uow.now(), case_id=case.id, account_id=case.account_id, amount=amount.amount,
        currency=amount.currency, promised_on=promised_on, baseline=baseline.amount, documents=documents,
        state="open"))
    audit.record(uow, "promiseToPay.recorded", "promiseToPay", promise_id, after={
        "caseId": case.id, "amount": amount.amount, "promisedOn": promised_on, "baseline": baseline.amount})
    _move(uow, case, "paused", "promise", today)
    return _promise(uow.conn.execute(sa.select(dunning_promise).where(dunning_promise.c.id == promise_id)).one())


# --------------------------------------------------------------------------------------- collection agency file


def handover_rows(uow: UnitOfWork, day: date) -> list[tuple]:
    """The rows of the collection agency's file of `day`: every case handed over on that day."""
    rows = uow.conn.execute(sa.select(dunning_action).where(
        dunning_action.c.action == "collectionAgency", dunning_action.c.taken_on == day
    ).order_by(dunning_action.c.id))
    return [(day.isoformat(), str(r.case_id), r.details["accountNumber"], r.details["customerName"], r.currency,
             str(Money(r.amount, r.currency).rounded().amount), r.details["oldestDueDate"],
             " ".join(d["number"] for d in r.details["documents"]))
            for r in rows]

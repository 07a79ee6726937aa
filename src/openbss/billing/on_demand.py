"""TMF678 customerBillOnDemand: a request for a bill now, outside the account's cycle.

The API is asynchronous (the request is a resource with a lifecycle: inProgress -> done | rejected |
terminatedWithError), so every well-formed request is stored and answered 201, and what became of it is its
state. openbss processes it in the transaction that stores it:

- a billingAccount.id naming no billing account: state "rejected", the outcome naming the field and the value
  (a deliberate exception to validate-at-POST, docs/invoices.md "Bills on demand");
- an account whose subscriptions (its own and those of accounts it pays for) have all ended: its final bill
  (billing.final_bill: everything up to the termination, issued today): state "done" with the customerBill; with
  nothing left to bill, "done" without one; a refusal of the final bill (e.g. an account that bills to its
  parent) is "rejected" with the refusal as outcome, and the final bill's writes are undone (a savepoint);
- an account with live subscriptions: "rejected", the outcome naming them: a bill on demand is the final bill
  of an account whose subscriptions have ended; while they run, the account's cycle bills it (an interim bill
  up to now, mid-cycle, is not offered: docs/invoices.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import service
from openbss.billing.final_bill import final_bill
from openbss.billing.request_tables import bill_on_demand
from openbss.core.errors import DomainError, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.ordering import service as ordering
from openbss.party import service as party

REQUEST_FILTERS = ("id", "state", "billingAccount.id")
NO_INTERIM_BILL = ("billing account {number} still has active subscriptions ({services}); a bill on demand is the "
                   "final bill of an account whose subscriptions have ended, and its bill cycle bills it until then")


@dataclass(frozen=True)
class BillOnDemand:
    id: uuid.UUID
    created_at: datetime
    last_update: datetime
    billing_account_ref: str  # the billingAccount.id as sent
    account_id: uuid.UUID | None  # the account it named; None when it named none
    name: str | None
    description: str | None
    state: str
    outcome: str | None
    invoice_id: uuid.UUID | None


def _account_id(uow: UnitOfWork, ref: str) -> uuid.UUID | None:
    try:
        ident = uuid.UUID(ref)
    except ValueError:
        return None
    return ident if party.billing_accounts(uow, [ident]) else None


def _process(uow: UnitOfWork, account_id: uuid.UUID) -> tuple[str, str | None, uuid.UUID | None]:
    """(state, outcome, invoice id) for a request naming a known account."""
    account = party.get_billing_account(uow, account_id)
    now = uow.now()
    accounts = [account, *service._paid_for(uow, account_id)]
    live = [p for a in accounts for p in ordering.products_for_account(uow, a.id) if p.end_at is None or p.end_at > now]
    if live:
        return "rejected", NO_INTERIM_BILL.format(number=account.number,
                                                  services=", ".join(p.service_id for p in live)), None
    try:
        with uow.savepoint():
            inv = final_bill(uow, account_id)
    except DomainError as e:
        return "rejected", e.message, None
    if inv is None:
        return "done", f"billing account {account.number} has nothing left to bill", None
    return "done", None, inv.id


def request_bill(uow: UnitOfWork, account_ref: str, name: str | None = None,
                 description: str | None = None) -> BillOnDemand:
    """Store a bill-on-demand request for the account `account_ref` names and process it (module docstring)."""
    account_id = _account_id(uow, account_ref)
    if account_id is None:
        state, outcome, invoice_id = "rejected", f"billingAccount.id={account_ref!r} names no billing account", None
    else:
        state, outcome, invoice_id = _process(uow, account_id)
    now = uow.now()
    request = BillOnDemand(new_id(), now, now, account_ref, account_id, name, description, state, outcome, invoice_id)
    uow.conn.execute(sa.insert(bill_on_demand).values(
        id=request.id, created_at=now, last_update=now, billing_account_ref=account_ref, account_id=account_id,
        name=name, description=description, state=state, outcome=outcome, invoice_id=invoice_id, actor=uow.actor))
    audit.record(uow, "billOnDemand.requested", "billOnDemand", request.id,
                 after={"billingAccount": account_ref, "state": state, "outcome": outcome, "customerBill": invoice_id})
    return request


def _request(row: sa.Row) -> BillOnDemand:
    m = row._mapping
    return BillOnDemand(m["id"], m["created_at"], m["last_update"], m["billing_account_ref"], m["account_id"],
                        m["name"], m["description"], m["state"], m["outcome"], m["invoice_id"])


def get_request(uow: UnitOfWork, request_id: uuid.UUID) -> BillOnDemand:
    row = uow.conn.execute(sa.select(bill_on_demand).where(bill_on_demand.c.id == request_id)).first()
    if row is None:
        raise NotFound("customerBillOnDemand", str(request_id))
    return _request(row)


def list_requests(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
                  ) -> tuple[list[BillOnDemand], int]:
    """Requests, oldest first, filtered by id, state and billingAccount.id (the id as sent)."""
    conditions = []
    if "id" in filters:
        conditions.append(bill_on_demand.c.id == parse_id(filters["id"], "id"))
    if "state" in filters:
        conditions.append(bill_on_demand.c.state == filters["state"])
    if "billingAccount.id" in filters:
        conditions.append(bill_on_demand.c.billing_account_ref == filters["billingAccount.id"])
    rows, total = paged(uow.conn, sa.select(bill_on_demand).where(*conditions), offset, limit, bill_on_demand.c.id)
    return [_request(r) for r in rows], total

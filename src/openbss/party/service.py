"""Use cases for customers and billing accounts. Each takes a UnitOfWork and never commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.core.errors import NotFound
from openbss.core.ids import new_id, parse_id
from openbss.db.numbering import next_number
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.party.model import (
    BillingAccount,
    Customer,
    check_account,
    check_customer_status,
    check_name,
)
from openbss.party.tables import billing_account, customer

CUSTOMER_FILTERS = {"name": customer.c.name, "status": customer.c.status}
ACCOUNT_FILTERS = {
    "name": billing_account.c.name,
    "state": billing_account.c.state,
    "currency": billing_account.c.currency,
    "number": billing_account.c.number,
}


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str | None = None
    status: str = "active"


@dataclass(frozen=True)
class NewBillingAccount:
    customer_id: uuid.UUID
    name: str
    currency: str
    country: str
    bill_cycle_day: int = 1
    time_zone: str = "UTC"


def create_customer(uow: UnitOfWork, new: NewCustomer) -> Customer:
    c = Customer(
        id=new_id(),
        name=check_name(new.name),
        status=check_customer_status(new.status),
        email=new.email,
        created_at=uow.now(),
    )
    uow.conn.execute(sa.insert(customer).values(**asdict(c)))
    audit.record(uow, "customer.created", "customer", c.id, after=asdict(c))
    return c


def get_customer(uow: UnitOfWork, customer_id: uuid.UUID, *, field: str | None = None) -> Customer:
    row = uow.conn.execute(sa.select(customer).where(customer.c.id == customer_id)).first()
    if row is None:
        raise NotFound("customer", str(customer_id), field)
    return Customer(**row._mapping)


def list_customers(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Customer], int]:
    stmt = sa.select(customer).where(*(CUSTOMER_FILTERS[k] == v for k, v in filters.items()))
    rows, total = paged(uow.conn, stmt, offset, limit, customer.c.id)
    return [Customer(**r._mapping) for r in rows], total


# An account row joined with its customer's name.
_ACCOUNT_ROW = sa.select(billing_account, customer.c.name.label("customer_name")).join(
    customer, customer.c.id == billing_account.c.customer_id
)


def create_billing_account(uow: UnitOfWork, new: NewBillingAccount) -> BillingAccount:
    owner = get_customer(uow, new.customer_id, field="relatedParty.id")
    check_account(new.currency, new.country, new.bill_cycle_day, new.time_zone)
    account = BillingAccount(
        id=new_id(),
        number=f"ACC-{next_number(uow, 'account'):06d}",
        name=check_name(new.name),
        customer_id=new.customer_id,
        currency=new.currency,
        country=new.country,
        bill_cycle_day=new.bill_cycle_day,
        time_zone=new.time_zone,
        state="active",
        created_at=uow.now(),
        customer_name=owner.name,
    )
    row = asdict(account)
    del row["customer_name"]
    uow.conn.execute(sa.insert(billing_account).values(**row))
    audit.record(uow, "billingAccount.created", "billingAccount", account.id, after=asdict(account))
    return account


def get_billing_account(uow: UnitOfWork, account_id: uuid.UUID, *, field: str | None = None) -> BillingAccount:
    row = uow.conn.execute(_ACCOUNT_ROW.where(billing_account.c.id == account_id)).first()
    if row is None:
        raise NotFound("billingAccount", str(account_id), field)
    return BillingAccount(**row._mapping)


def list_billing_accounts(
    uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
) -> tuple[list[BillingAccount], int]:
    conditions = [ACCOUNT_FILTERS[k] == v for k, v in filters.items() if k in ACCOUNT_FILTERS]
    if "customerId" in filters:
        conditions.append(billing_account.c.customer_id == parse_id(filters["customerId"], "customerId"))
    stmt = _ACCOUNT_ROW.where(*conditions)
    rows, total = paged(uow.conn, stmt, offset, limit, billing_account.c.id)
    return [BillingAccount(**r._mapping) for r in rows], total


def account_currencies(uow: UnitOfWork, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The billing currency of each account, in one query (bulk usage rating)."""
    rows = uow.conn.execute(
        sa.select(billing_account.c.id, billing_account.c.currency).where(billing_account.c.id.in_(set(account_ids)))
    )
    return {r.id: r.currency for r in rows}


def active_billing_account_ids(uow: UnitOfWork) -> list[uuid.UUID]:
    """Every account a bill run visits, in id order (the order locks are taken in)."""
    return list(
        uow.conn.execute(
            sa.select(billing_account.c.id).where(billing_account.c.state == "active").order_by(billing_account.c.id)
        ).scalars()
    )

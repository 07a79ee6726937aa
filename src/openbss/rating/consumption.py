"""TMF677 usage consumption: the allowances of products as a customer portal shows them (used and left).

For a price rated with a rate table the allowance is its bucket in the period (`rating.service`), as stored,
or as it would open when no usage has opened it yet (granted plus rollover, nothing used); a hierarchy pool
is shown on each member product, marked shared. For other usage prices with included units (which billing
applies to the period's total), used is the rated, unbilled usage of the product dated in the account's
current bill cycle period. A query and its answer are kept, so GET /queryUsageConsumption/{id} shows what was
answered then.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing.periods import BillPeriod
from openbss.catalog.model import USAGE_UNITS, Price
from openbss.core.errors import InvalidValue, NotFound
from openbss.core.ids import new_id
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.mediation import service as mediation
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.party import service as party
from openbss.rating.model import rollover_from
from openbss.rating.service import Accounts, Allowances, Prices, bill_period, find_bucket, previous_period
from openbss.rating.tables import usage_consumption_query


@dataclass(frozen=True)
class ConsumptionLine:
    """One allowance as a customer sees it: a bucket of a product (shared: a hierarchy pool)."""

    product: Product
    price: Price
    usage_type: str
    unit: str
    period: BillPeriod
    granted: Decimal
    rolled_over: Decimal
    used: Decimal
    shared: bool
    owner_account_id: uuid.UUID

    @property
    def left(self) -> Decimal:
        return max(self.granted + self.rolled_over - self.used, Decimal(0))


@dataclass(frozen=True)
class ConsumptionQuery:
    id: uuid.UUID
    created_at: datetime
    search_criteria: dict[str, Any]
    usage_consumption: list[dict[str, Any]]


def consumption(uow: UnitOfWork, products: Sequence[Product], at: datetime) -> list[ConsumptionLine]:
    """The allowances of the products at instant `at`: rate-table buckets as stored (or as they would open,
    when no usage has opened them yet), and for other prices with included units the period's rated unbilled
    usage against them (billing applies those on the period's total)."""
    prices = Prices(uow)
    accounts = Accounts(uow, {p.account_id for p in products})
    allowances = Allowances(uow, accounts, prices)
    lines: list[ConsumptionLine] = []
    unbilled: dict[uuid.UUID, dict[tuple, Decimal]] = {}
    for product in products:
        currency = accounts.get(product.account_id).currency
        if currency is None or not product.is_active_at(at):
            continue
        for usage_type, unit in USAGE_UNITS.items():
            try:
                price = prices.get(product.offering_id, usage_type, currency, at)
            except InvalidValue:
                continue
            if price.included_units <= 0:
                continue
            if price.rate_table is None:
                account = accounts.get(product.account_id)
                period = bill_period(account, at)
                if product.account_id not in unbilled:
                    unbilled[product.account_id] = mediation.unbilled_quantities(uow, product.account_id,
                                                                                 period.start_at, period.end_at)
                used = unbilled[product.account_id].get((product.id, usage_type), Decimal(0))
                lines.append(ConsumptionLine(product, price, usage_type, unit, period, price.included_units,
                                             Decimal(0), used, False, account.id))
                continue
            kind, owner_id, account = allowances.owner(product, price)
            period = bill_period(account, at)
            stored = find_bucket(uow, kind, owner_id, usage_type, period.start_at)
            if stored is not None:
                granted, rolled, used = stored.granted, stored.rolled_over, stored.used
            else:
                mine = product if kind == "product" else None
                granted = allowances.grant(kind, owner_id, usage_type, currency, period, mine)
                rolled = Decimal(0)
                if price.rollover:
                    before = previous_period(period, account)
                    previous = find_bucket(uow, kind, owner_id, usage_type, before.start_at)
                    rolled = rollover_from(previous, Decimal(0) if previous else allowances.grant(
                        kind, owner_id, usage_type, currency, before, mine))
                used = Decimal(0)
            lines.append(ConsumptionLine(product, price, usage_type, unit, period, granted, rolled, used,
                                         kind == "account", account.id))
    return lines


def products_in_scope(uow: UnitOfWork, product_ids: Sequence[uuid.UUID],
                      account_ids: Sequence[uuid.UUID]) -> list[Product]:
    """The products a query names, and those of the billing accounts it names, each once."""
    found: dict[uuid.UUID, Product] = {}
    for i, pid in enumerate(product_ids):
        p = ordering.get_product(uow, pid, field=f"searchCriteria.product[{i}].id")
        found.setdefault(p.id, p)
    for i, aid in enumerate(account_ids):
        party.get_billing_account(uow, aid, field=f"searchCriteria.partyAccount[{i}].id")
        for p in ordering.products_for_account(uow, aid):
            found.setdefault(p.id, p)
    return list(found.values())


def save_query(uow: UnitOfWork, search_criteria: dict[str, Any], usage_consumption: list[dict[str, Any]]
               ) -> ConsumptionQuery:
    """Keep a query and its answer, so GET /queryUsageConsumption/{id} shows what was answered."""
    query = ConsumptionQuery(new_id(), uow.now(), search_criteria, usage_consumption)
    uow.conn.execute(sa.insert(usage_consumption_query).values(
        id=query.id, created_at=query.created_at, search_criteria=search_criteria,
        usage_consumption=usage_consumption))
    audit.record(uow, "queryUsageConsumption.created", "queryUsageConsumption", query.id,
                 after={"searchCriteria": search_criteria})
    return query


def _query(row: Any) -> ConsumptionQuery:
    return ConsumptionQuery(row.id, row.created_at, row.search_criteria, row.usage_consumption)


def get_query(uow: UnitOfWork, query_id: uuid.UUID) -> ConsumptionQuery:
    row = uow.conn.execute(sa.select(usage_consumption_query).where(usage_consumption_query.c.id == query_id)).first()
    if row is None:
        raise NotFound("queryUsageConsumption", str(query_id))
    return _query(row)


def list_queries(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
                 ) -> tuple[list[ConsumptionQuery], int]:
    rows, total = paged(uow.conn, sa.select(usage_consumption_query), offset, limit, usage_consumption_query.c.id)
    return [_query(r) for r in rows], total



"""Rerating (`openbss rating rerate --from --to [--account]`): after a tariff correction (a new rate table
version, a new catalog price version), rate stored usage again and keep the difference as adjustments.

Rules:
- A record is rated again with the tariff valid at its usage date as it stands now (`rating.service.rate_again`:
  the catalog's price version at that date, the rate table's newest version), keeping the allowance units it
  was given (covered = min(those units, billed now)); buckets are neither read nor drawn again.
- The usage row is never edited, billed or not (one rule, one audit trail): the difference is an adjustment
  (`mediation.service.add_usage_adjustments`) of new charge - (usage charge + its earlier adjustments), so the
  same rerating run twice adds nothing the second time. A bill run claims unbilled adjustments with the usage
  (`claim_unbilled_usage`) and bills them on a line of their own, a credit when negative: an issued invoice
  is never reopened, the next one carries the correction.
- Only records whose charge is their own are rerated: rate-table prices and per-unit prices without an
  allowance or tiers. A record whose price (the one it was rated with, or the one it would be now) is re-priced
  on the period's totals at billing (`billing.model.priced_on_totals`) is counted "priced on totals" and left:
  billing, not the record, decided what it cost.
- A record that cannot be rated now (its zone or rate left the tariff) is counted failed, with its problem,
  and keeps its charge.
- Usage is read in batches of `BATCH` records (keyset on id), so a month of usage never sits in memory at once.
  Runs are serialized by an advisory lock, so two runs at once cannot both add the same difference; a bill run
  at the same moment claims an adjustment either before it is committed (it is left for the next invoice) or
  after, in one UPDATE ... RETURNING, never twice.
- A dry run computes the same figures and writes nothing (no run, no adjustments, no audit record).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from openbss.audit import service as audit
from openbss.billing.model import priced_on_totals
from openbss.catalog import service as catalog
from openbss.catalog.model import Price
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.mediation import service as mediation
from openbss.mediation.model import Problem, Usage, UsageAdjustment, UsageRecord
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.rating.service import RatedCharge, RatingRequest, rate_again

BATCH = 5_000  # usage records read, rated and written per statement
PROBLEMS_KEPT = 20  # failed records reported with their problem (all are counted)


@dataclass
class RerateResult:
    """What a rerating found: `changed` records got an adjustment (or would, in a dry run), their differences
    summed per currency in `totals`; `unchanged` rate the same; `priced_on_totals` were left to billing;
    `failed` cannot be rated now (the first PROBLEMS_KEPT in `problems`, with the usage id)."""

    run_id: uuid.UUID | None  # None for a dry run, which stores nothing
    start: datetime
    end: datetime
    account_id: uuid.UUID | None
    dry_run: bool
    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    priced_on_totals: int = 0
    failed: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    problems: list[tuple[uuid.UUID, Problem]] = field(default_factory=list)


def _check_range(start: datetime, end: datetime) -> None:
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise InvalidValue(name, value.isoformat(), "must be timezone-aware")
    if end <= start:
        raise InvalidValue("to", end.isoformat(), f"must be after from {start.isoformat()}")


def _record(u: Usage) -> UsageRecord:
    return UsageRecord(u.source, u.record_key, u.service_id, u.usage_type, u.usage_date, u.quantity, u.destination)


class _Batch:
    """Lookups of one run: the products of each batch (one query by service id) and prices by id."""

    def __init__(self, uow: UnitOfWork):
        self.uow, self.prices = uow, {}

    def products(self, stored: list[tuple[Usage, Money]]) -> dict[uuid.UUID, Product]:
        found = {p.id: p for ps in ordering.products_by_service_id(self.uow, {u.service_id for u, _ in stored})
                 .values() for p in ps}
        for u, _ in stored:  # a product whose service id changed since
            if u.product_id not in found:
                found[u.product_id] = ordering.get_product(self.uow, u.product_id)
        return found

    def price(self, price_id: uuid.UUID) -> Price:
        if price_id not in self.prices:
            self.prices[price_id] = catalog.get_price(self.uow, price_id)
        return self.prices[price_id]


def rerate(uow: UnitOfWork, start: datetime, end: datetime, account_id: uuid.UUID | None = None,
           dry_run: bool = False, *, batch: int = BATCH,
           on_batch: Callable[[int], None] | None = None) -> RerateResult:
    """Rerate the usage dated in [start, end) (of one account, or all) in the caller's transaction (see the
    module docstring); `on_batch(records)` after each batch."""
    _check_range(start, end)
    uow.advisory_lock("rerate", "usage")
    result = RerateResult(None if dry_run else new_id(), start, end, account_id, dry_run)
    if result.run_id is not None:
        mediation.save_rerate_run(uow, result.run_id, start=start, end=end, account_id=account_id)
    lookups, after = _Batch(uow), None
    while stored := mediation.usage_to_rerate(uow, start, end, account_id, after, batch):
        after = stored[-1][0].id
        products = lookups.products(stored)
        rated = rate_again(uow, [(RatingRequest(_record(u), products[u.product_id], u.charge.currency),
                                  u.allowance_used) for u, _ in stored])
        changed = [(u, so_far, r) for (u, so_far), r in zip(stored, rated, strict=True)
                   if _changed(result, lookups, u, so_far, r)]
        if result.run_id is not None:
            mediation.add_usage_adjustments(uow, [
                UsageAdjustment(new_id(), u.id, result.run_id, u.account_id, u.product_id, u.usage_type, u.unit,
                                u.usage_date, r.charge - so_far, so_far, r.charge, u.price_id, r.price_id)
                for u, so_far, r in changed])
        if on_batch is not None:
            on_batch(len(stored))
    if result.run_id is not None:
        mediation.save_rerate_run(uow, result.run_id, start=start, end=end, account_id=account_id,
                                  examined=result.examined, changed=result.changed,
                                  priced_on_totals=result.priced_on_totals, failed=result.failed,
                                  totals=result.totals)
        audit.record(uow, "usage.rerated", "rerateRun", result.run_id, after={
            "from": start, "to": end, "accountId": account_id, "examined": result.examined,
            "changed": result.changed, "unchanged": result.unchanged, "pricedOnTotals": result.priced_on_totals,
            "failed": result.failed, "totals": {c: str(v) for c, v in result.totals.items()}})
    return result


def _changed(result: RerateResult, lookups: _Batch, u: Usage, so_far: Money, rated: RatedCharge | Problem
             ) -> bool:
    """Count one record in `result`; whether it gets an adjustment (its own charge, changed)."""
    result.examined += 1
    if isinstance(rated, Problem):
        result.failed += 1
        if len(result.problems) < PROBLEMS_KEPT:
            result.problems.append((u.id, rated))
        return False
    if priced_on_totals(lookups.price(u.price_id)) or priced_on_totals(lookups.price(rated.price_id)):
        result.priced_on_totals += 1
        return False
    difference = rated.charge - so_far
    if not difference.amount:
        result.unchanged += 1
        return False
    result.changed += 1
    result.totals[difference.currency] = result.totals.get(difference.currency, Decimal(0)) + difference.amount
    return True

"""Rating use cases: rate validated usage records with their catalog price (`rate_records`) and keep the
allowance buckets they consume (TMF677 views of them: `rating.consumption`).

Rating a record (`rate_records`): the product's usage price for the record's usage type, in the account's
currency, valid at the usage date (as mediation found it: `catalog.service.usage_price`). A price that names
a rate table is rated with the table's newest version (`rating.rules`: the destination's zone by longest
prefix, the rate valid at the usage date, bands in the account's time zone, increments, connect fee, minimum,
rounding); other prices with `rating.model.rate` (quantity x amount / unit size). Batches of at least
`VECTOR_FROM` rate-table records go through the vectorized kernel (`rating.vector`), smaller ones through the
scalar rater; both give the same charges (tests/integration/test_rating_records.py).

Allowances (rate-table prices with `included_units`): buckets per bill cycle period of the owner's account
(`billing.periods.period_containing`, the account's bill cycle day and time zone):
- scope "subscription": one bucket per product, granted the price's included units (the version applying to
  the record that opens the bucket; not prorated for a partial first period, as billing's allowances);
- scope "hierarchy": one pool per root account of the hierarchy, per usage type and period, shared by every
  subscription in the hierarchy whose price has hierarchy scope; granted the sum of those subscriptions'
  included units, counting each subscription alive at any time in the period (re-counted whenever a batch
  opens the pool, so a line added mid-period adds its units at once; a line that leaves keeps its units in
  the pool until the period ends). The root account owns it because it is the one account every member
  reaches, and its bill cycle gives the pool's period. Chosen over one pool per offering: a company buying
  two offerings with minutes still sees one pool of minutes per usage type, as operators sell "shared minutes".
- rollover: with the price's `rollover`, a new bucket also gets the previous period's granted units left
  unused (`model.rollover_from`); they expire at the end of the new period. Units are consumed rolled-over
  first.
Consumption is first come first served like an online charging system: within a batch in usage-date order,
across batches in arrival (commit) order. The buckets a batch touches are created if missing and locked
FOR UPDATE in key order (so concurrent batches wait for each other instead of deadlocking) in the caller's
transaction. Late usage of a period takes from that period's bucket; a rollover already carried on is not
taken back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from openbss.audit import service as audit
from openbss.billing.periods import BillPeriod, local_date, period_containing
from openbss.catalog import service as catalog
from openbss.catalog.model import USAGE_UNITS, Price
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.mediation.model import Problem, UsageRecord
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.party import service as party
from openbss.party.model import BillingAccount
from openbss.rating import store
from openbss.rating.model import Bucket, rate, rollover_from
from openbss.rating.rules import RateTable, UsageEvent, rate_event
from openbss.rating.tables import allowance_bucket
from openbss.rating.vector import rate_batch

# Rate-table records in one batch from which the vectorized kernel rates them (below, the scalar rater is
# faster: the kernel's fixed cost is a few milliseconds per batch).
VECTOR_FROM = 500
# The names the rules give problems, as the record's interfaces (TMF635) name them.
_RECORD_FIELDS = {"called": "destination", "usage_type": "usageType", "quantity": "quantity",
                  "timezone": "timeZone"}


@dataclass(frozen=True)
class RatingRequest:
    """One validated, deduplicated record and what enrichment found for it."""

    record: UsageRecord  # `destination` (str | None) is read with getattr: records may not carry it yet
    product: Product  # active at record.usage_date
    currency: str  # the account's currency


@dataclass(frozen=True)
class RatedCharge:
    charge: Money
    price_id: uuid.UUID
    zone: str | None
    band: str | None
    allowance_used: Decimal


class Prices:
    """Usage prices of one batch, looked up once per (offering, usage type, currency) while valid. `found`: the
    look-ups of earlier batches to start from (a long-running server's cache, which it empties now and then to
    see new price versions)."""

    def __init__(self, uow: UnitOfWork, found: dict | None = None):
        self.uow, self.found = uow, ({} if found is None else found)

    def get(self, offering_id: uuid.UUID, usage_type: str, currency: str, at: datetime) -> Price:
        key = (offering_id, usage_type, currency)
        cached = self.found.get(key)
        if cached is None or not cached.is_valid_at(at):
            cached = self.found[key] = catalog.usage_price(self.uow, offering_id, usage_type, currency, at)
        return cached


@dataclass(frozen=True)
class _BucketKey:
    owner_kind: str
    owner_id: uuid.UUID
    usage_type: str
    period_start: datetime


@dataclass
class _Job:
    """A rate-table record on its way through `rate_records`."""

    index: int
    request: RatingRequest
    price: Price
    version: store.TableVersion
    event: UsageEvent
    bucket: _BucketKey | None = None
    # Rerating (`rate_again`): the units the record may take, fixed to those it was given; None: its bucket's.
    allowance: int | None = None


def _left(job: _Job, buckets: dict[_BucketKey, Bucket]) -> int | None:
    """The allowance units the job's record may take: fixed when rerating, else its bucket's left, or None."""
    if job.allowance is not None:
        return job.allowance
    return int(buckets[job.bucket].left) if job.bucket else None


class Accounts:
    """Billing accounts and hierarchy roots, read once per batch."""

    def __init__(self, uow: UnitOfWork, ids: Iterable[uuid.UUID]):
        self.uow, self.by_id = uow, party.billing_accounts(uow, ids)

    def get(self, account_id: uuid.UUID) -> BillingAccount:
        if account_id not in self.by_id:
            self.by_id[account_id] = party.get_billing_account(self.uow, account_id)
        return self.by_id[account_id]

    def root(self, account_id: uuid.UUID) -> BillingAccount:
        account, seen = self.get(account_id), {account_id}
        while account.parent_id is not None and account.parent_id not in seen:
            seen.add(account.parent_id)
            account = self.get(account.parent_id)
        return account

    def members(self, root_id: uuid.UUID) -> list[uuid.UUID]:
        """The root and every account below it."""
        found, level = [root_id], [root_id]
        while level:
            children = party.accounts_children(self.uow, level)
            level = [a.id for kids in children.values() for a in kids if a.id not in found]
            found += level
        return found


def bill_period(account: BillingAccount, at: datetime) -> BillPeriod:
    return period_containing(local_date(at, account.time_zone), account.bill_cycle_day, account.time_zone)


def previous_period(period: BillPeriod, account: BillingAccount) -> BillPeriod:
    return period_containing(period.start - timedelta(days=1), account.bill_cycle_day, account.time_zone)


def _overlaps(product: Product, period: BillPeriod) -> bool:
    return product.start_at < period.end_at and (product.end_at is None or product.end_at > period.start_at)


class Allowances:
    """Grants of buckets: what a product or a hierarchy pool is given in a period."""

    def __init__(self, uow: UnitOfWork, accounts: Accounts, prices: Prices):
        self.uow, self.accounts, self.prices = uow, accounts, prices

    def owner(self, product: Product, price: Price) -> tuple[str, uuid.UUID, BillingAccount]:
        if price.allowance_scope == "hierarchy":
            root = self.accounts.root(product.account_id)
            return "account", root.id, root
        return "product", product.id, self.accounts.get(product.account_id)

    def _price_in(self, product: Product, usage_type: str, currency: str, period: BillPeriod) -> Price | None:
        try:
            return self.prices.get(product.offering_id, usage_type, currency, max(period.start_at, product.start_at))
        except InvalidValue:
            return None

    def grant(self, owner_kind: str, owner_id: uuid.UUID, usage_type: str, currency: str, period: BillPeriod,
              product: Product | None = None) -> Decimal:
        """Units granted to the owner in `period`: its product's included units, or the pool's sum."""
        if owner_kind == "product":
            products = [product] if product is not None else [ordering.get_product(self.uow, owner_id)]
        else:
            products = [p for a in self.accounts.members(owner_id) for p in ordering.products_for_account(self.uow, a)]
        total = Decimal(0)
        for p in products:
            if not _overlaps(p, period):
                continue
            price = self._price_in(p, usage_type, currency, period)
            if price is not None and price.rate_table is not None and (
                    (price.allowance_scope == "hierarchy") == (owner_kind == "account")):
                total += price.included_units
        return total


def _bucket(row: Any) -> Bucket:
    return Bucket(row.id, row.owner_kind, row.owner_id, row.account_id, row.price_id, row.usage_type, row.unit,
                  row.period_start, row.period_end, row.granted, row.rolled_over, row.used)


def find_bucket(uow: UnitOfWork, owner_kind: str, owner_id: uuid.UUID, usage_type: str,
                 period_start: datetime) -> Bucket | None:
    c = allowance_bucket.c
    row = uow.conn.execute(sa.select(allowance_bucket).where(
        c.owner_kind == owner_kind, c.owner_id == owner_id, c.usage_type == usage_type,
        c.period_start == period_start)).first()
    return None if row is None else _bucket(row)


def _new_bucket(uow: UnitOfWork, allowances: Allowances, job: _Job) -> dict[str, Any]:
    """The row of a bucket the job's record opens: its grant, and the rollover from the period before."""
    product, price, usage_type = job.request.product, job.price, job.request.record.usage_type
    kind, owner_id, account = allowances.owner(product, price)
    period = bill_period(account, job.request.record.usage_date)
    mine = product if kind == "product" else None
    granted = allowances.grant(kind, owner_id, usage_type, job.request.currency, period, mine)
    rolled = Decimal(0)
    if price.rollover:
        before = previous_period(period, account)
        previous = find_bucket(uow, kind, owner_id, usage_type, before.start_at)
        previous_grant = Decimal(0) if previous else allowances.grant(
            kind, owner_id, usage_type, job.request.currency, before, mine)
        rolled = rollover_from(previous, previous_grant)
    now = uow.now()
    return {"id": new_id(), "owner_kind": kind, "owner_id": owner_id, "account_id": account.id,
            "price_id": price.id, "usage_type": usage_type, "unit": USAGE_UNITS[usage_type],
            "period_start": period.start_at, "period_end": period.end_at, "granted": granted,
            "rolled_over": rolled, "used": Decimal(0), "created_at": now, "updated_at": now}


def _open_buckets(uow: UnitOfWork, allowances: Allowances, jobs: Sequence[_Job]) -> dict[_BucketKey, Bucket]:
    """Create the buckets the jobs need (if missing), refresh pool grants, and lock them all in key order."""
    first: dict[_BucketKey, _Job] = {}
    for job in jobs:
        if job.price.included_units > 0:
            kind, owner_id, account = allowances.owner(job.request.product, job.price)
            period = bill_period(account, job.request.record.usage_date)
            job.bucket = _BucketKey(kind, owner_id, job.request.record.usage_type, period.start_at)
            first.setdefault(job.bucket, job)
    if not first:
        return {}
    ordered = sorted(first, key=lambda k: (k.owner_kind, str(k.owner_id), k.usage_type, k.period_start))
    c = allowance_bucket.c
    for key in ordered:  # in key order too: two batches inserting the same new keys then wait, not deadlock
        exists = find_bucket(uow, key.owner_kind, key.owner_id, key.usage_type, key.period_start)
        if exists is None:
            uow.conn.execute(insert(allowance_bucket).values(**_new_bucket(uow, allowances, first[key]))
                             .on_conflict_do_nothing(index_elements=["owner_kind", "owner_id", "usage_type",
                                                                     "period_start"]))
    conditions = [sa.and_(c.owner_kind == k.owner_kind, c.owner_id == k.owner_id, c.usage_type == k.usage_type,
                          c.period_start == k.period_start) for k in ordered]
    rows = uow.conn.execute(sa.select(allowance_bucket).where(sa.or_(*conditions))
                            .order_by(c.owner_kind, c.owner_id, c.usage_type, c.period_start).with_for_update())
    buckets = {_BucketKey(r.owner_kind, r.owner_id, r.usage_type, r.period_start): _bucket(r) for r in rows}
    for key, b in buckets.items():
        if key.owner_kind == "account":  # a pool grows with the lines that join the hierarchy in its period
            job = first[key]
            account = allowances.accounts.get(b.account_id)
            period = bill_period(account, job.request.record.usage_date)
            granted = allowances.grant("account", b.owner_id, b.usage_type, job.request.currency, period)
            if granted > b.granted:
                buckets[key] = replace(b, granted=granted)
    return buckets


def _save_buckets(uow: UnitOfWork, before: dict[_BucketKey, Bucket], after: dict[_BucketKey, Bucket]) -> None:
    now = uow.now()
    for key, b in after.items():
        if b != before[key]:
            uow.conn.execute(sa.update(allowance_bucket).where(allowance_bucket.c.id == b.id)
                             .values(granted=b.granted, used=b.used, updated_at=now))
    changed = [b for k, b in after.items() if b != before[k]]
    if changed:
        audit.record(uow, "allowanceBucket.consumed", "allowanceBucketBatch", new_id(),
                     after={str(b.id): {"used": b.used - before[_key(b)].used, "left": b.left} for b in changed})


def _key(b: Bucket) -> _BucketKey:
    return _BucketKey(b.owner_kind, b.owner_id, b.usage_type, b.period_start)


def _problem(field: str, value: object, reason: str) -> Problem:
    return Problem(_RECORD_FIELDS.get(field, field), value, reason)


def _job(index: int, r: RatingRequest, price: Price, version: store.TableVersion | None,
         accounts: Accounts) -> _Job | Problem:
    if version is None:
        return _problem("usageType", r.record.usage_type, f"is priced with rate table {price.rate_table}, "
                                                          "which is not stored")
    if version.currency != r.currency:
        return _problem("currency", r.currency, f"differs from rate table {version.name}'s {version.currency}")
    q = r.record.quantity
    if q != q.to_integral_value():
        return _problem("quantity", q, f"must be whole {USAGE_UNITS[r.record.usage_type]}s to rate with a rate table")
    destination = getattr(r.record, "destination", None)
    if destination is None:
        return _problem("destination", None, f"is required to rate {r.record.usage_type} with rate table "
                                             f"{version.name}")
    zone = accounts.get(r.product.account_id).time_zone
    # Numbers come as E.164 with or without "+"; tables hold the digits.
    called = destination.removeprefix("+") if isinstance(destination, str) else destination
    return _Job(index, r, price, version, UsageEvent(called, r.record.usage_type, int(q), r.record.usage_date, zone))


def _rated(job: _Job, amount: Money, zone: str, band: str | None, used: int) -> RatedCharge:
    return RatedCharge(amount, job.price.id, zone, band, Decimal(used))


def _rate_scalar(uow: UnitOfWork, jobs: Sequence[_Job], buckets: dict[_BucketKey, Bucket],
                 out: list[RatedCharge | Problem | None]) -> None:
    tables: dict[uuid.UUID, RateTable] = {}
    for job in jobs:
        table = tables.get(job.version.id) or tables.setdefault(job.version.id, store.load(uow, job.version))
        bucket = buckets.get(job.bucket) if job.bucket else None
        try:
            charge = rate_event(table, job.event, _left(job, buckets) or 0)
        except InvalidValue as e:
            out[job.index] = _problem(e.field, e.value, e.message.removeprefix(f"{e.field}={e.value!r} "))
            continue
        if bucket is not None and charge.allowance_used:
            buckets[job.bucket] = replace(bucket, used=bucket.used + charge.allowance_used)
        out[job.index] = _rated(job, charge.amount, charge.zone, charge.band, charge.allowance_used)


def _rate_vector(uow: UnitOfWork, jobs: Sequence[_Job], buckets: dict[_BucketKey, Bucket],
                 out: list[RatedCharge | Problem | None]) -> None:
    """The same as `_rate_scalar`, one kernel run per table version; buckets numbered for the kernel (a record
    with a fixed allowance is alone in a bucket of its own, numbered after the real ones)."""
    numbers = {key: i for i, key in enumerate(buckets)}
    by_version: dict[uuid.UUID, list[_Job]] = {}
    for job in jobs:
        by_version.setdefault(job.version.id, []).append(job)
    for group in by_version.values():
        frame = pl.DataFrame({
            "called": [j.event.called for j in group], "usage_type": [j.event.usage_type for j in group],
            "quantity": [j.event.quantity for j in group], "start": [j.event.start for j in group],
            "timezone": [j.event.timezone for j in group],
            "bucket": [numbers.get(j.bucket) if j.allowance is None else len(numbers) + j.index for j in group],
            "allowance": [_left(j, buckets) for j in group],
        }, schema={"called": pl.String, "usage_type": pl.String, "quantity": pl.Int64,
                   "start": pl.Datetime("us", "UTC"), "timezone": pl.String, "bucket": pl.Int64,
                   "allowance": pl.Int64})
        rated = rate_batch(store.compiled(uow, group[0].version), frame)
        currency = group[0].version.currency
        for job, row in zip(group, rated.iter_rows(named=True), strict=True):
            if row["reject"] is not None:  # rare: the scalar rater words the problem (same field, same rule)
                _rate_scalar(uow, [replace(job, bucket=None)], buckets, out)
                continue
            used = row["allowance_used"]
            if job.bucket and used:
                bucket = buckets[job.bucket]
                buckets[job.bucket] = replace(bucket, used=bucket.used + used)
            out[job.index] = _rated(job, Money(row["amount"], currency), str(row["zone"]), row["band"], used)


def rate_records(uow: UnitOfWork, requests: Sequence[RatingRequest], *,
                 vector_from: int = VECTOR_FROM) -> list[RatedCharge | Problem]:
    """Rate a batch (see the module docstring): one RatedCharge, or a Problem naming the record's field
    (`destination` when no zone matches, `usageType` when the price or the table has no rate, ...), per
    request in order. Allowance buckets are updated in the caller's transaction."""
    out: list[RatedCharge | Problem | None] = [None] * len(requests)
    prices = Prices(uow)
    jobs, accounts = _table_jobs(uow, _price_all(requests, prices, out), out)
    if jobs:
        opened = _open_buckets(uow, Allowances(uow, accounts, prices), jobs)
        buckets = dict(opened)
        (_rate_vector if len(jobs) >= vector_from else _rate_scalar)(uow, jobs, buckets, out)
        _save_buckets(uow, opened, buckets)
    return out  # type: ignore[return-value]  # every slot is filled above


def rate_again(uow: UnitOfWork, stored: Sequence[tuple[RatingRequest, Decimal]], *,
               vector_from: int = VECTOR_FROM, prices: Prices | None = None) -> list[RatedCharge | Problem]:
    """Rerate stored records, each given with the allowance units rating gave it: the tariff valid at the usage
    date as it stands now (the catalog's price version, the rate table's newest version), the record keeping
    its allowance units (left = them, so covered = min(them, billed now)). No bucket is read or written: units
    a rerating frees or would need stay where the first rating left them. One RatedCharge or Problem per item.
    `prices`: the caller's look-ups of the same transaction (online charging rates many small requests)."""
    requests = [r for r, _ in stored]
    out: list[RatedCharge | Problem | None] = [None] * len(requests)
    jobs, _ = _table_jobs(uow, _price_all(requests, prices or Prices(uow), out), out)
    jobs = [replace(j, allowance=int(stored[j.index][1])) for j in jobs]
    if jobs:
        (_rate_vector if len(jobs) >= vector_from else _rate_scalar)(uow, jobs, {}, out)
    return out  # type: ignore[return-value]  # every slot is filled above


def _price_all(requests: Sequence[RatingRequest], prices: Prices,
               out: list[RatedCharge | Problem | None]) -> list[tuple[int, RatingRequest, Price]]:
    """Rate the records of prices without a rate table into `out` (or their problem); the others to rate with
    their table, with their price."""
    with_table: list[tuple[int, RatingRequest, Price]] = []
    for i, r in enumerate(requests):
        try:
            price = prices.get(r.product.offering_id, r.record.usage_type, r.currency, r.record.usage_date)
            if price.rate_table is None:
                out[i] = RatedCharge(rate(r.record.quantity, price), price.id, None, None, Decimal(0))
            else:
                with_table.append((i, r, price))
        except InvalidValue as e:
            out[i] = Problem.of(e)
    return with_table


def _table_jobs(uow: UnitOfWork, items: Sequence[tuple[int, RatingRequest, Price]],
                out: list[RatedCharge | Problem | None]) -> tuple[list[_Job], Accounts | None]:
    """The rate-table records as jobs with their table's newest version, in usage-date order (first come, first
    served: a batch consumes its buckets in that order, stable for equal dates), and their accounts; problems
    go to `out`."""
    if not items:
        return [], None
    accounts = Accounts(uow, {r.product.account_id for _, r, _ in items})
    versions = store.newest(uow, {p.rate_table for _, _, p in items})
    jobs: list[_Job] = []
    for i, r, price in items:
        job = _job(i, r, price, versions.get(price.rate_table), accounts)
        if isinstance(job, Problem):
            out[i] = job
        else:
            jobs.append(job)
    jobs.sort(key=lambda j: (j.event.start, j.index))
    return jobs, accounts


def buckets_of(uow: UnitOfWork, owner_kind: str, owner_id: uuid.UUID) -> list[Bucket]:
    """Every bucket of an owner, oldest period first (operators' view, tests)."""
    c = allowance_bucket.c
    rows = uow.conn.execute(sa.select(allowance_bucket).where(c.owner_kind == owner_kind, c.owner_id == owner_id)
                            .order_by(c.usage_type, c.period_start))
    return [_bucket(r) for r in rows]

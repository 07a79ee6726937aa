"""Online charging use cases: balance buckets, reserve -> commit -> release (TMF654, issue #7 parts 1 and 2).

A reservation belongs to one (session id, rating group). `reserve` holds units first in unit buckets of the
usage's unit (seconds, bytes, messages) and, for what those do not cover, money in money buckets of the
account's currency: the requested units are priced with the scalar rater (`rating.service.rate_again`, which
reads no allowance bucket), and when money runs short the grant shrinks to the most units the money pays for.
`commit` spends the used units from the holds (units first, then the money the rest of them cost) and
releases what is left; `release_expired` frees the holds of reservations whose validity time passed
(sessions whose network element died).

Batches: the rules run on a `ChargingState` in memory (charging/state.py). `load_state` locks and reads what a
batch of requests can touch in a fixed number of statements, the requests are answered against it, and
`save_state` writes back what changed, one statement per kind of row; `reserve` and `commit` called without a
batch load and save their own. So the Diameter server's cost per request is Python, not round trips.

Concurrency: buckets are locked FOR UPDATE in id order (concurrent batches and the balance API wait for each
other instead of deadlocking), and the CHECK used + reserved <= amount refuses any overspend the locking missed.
Rating a grant per chunk charges a rate's connect fee and minimum per chunk; that is a known limit of pricing
chunks separately (to do: price the session's cumulative use).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

import sqlalchemy as sa

from openbss.catalog.model import USAGE_UNITS
from openbss.charging.model import (
    CREDIT_LIMIT_REACHED,
    MONEY_UNIT,
    RATING_FAILED,
    SERVICE_DENIED,
    USER_UNKNOWN,
    BalanceBucket,
    check_unit,
    most_affordable,
)
from openbss.charging.state import ChargingState, Hold, Reservation, Spent, Unpriced
from openbss.charging.tables import (
    balance_bucket,
    balance_group,
    balance_group_member,
    charging_hold,
    charging_postpaid_hold,
    charging_reservation,
)
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id
from openbss.core.money import Money, check_currency, to_decimal
from openbss.db.bulk import copy_rows, update_rows
from openbss.db.query import among
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.mediation import service as mediation
from openbss.mediation.model import OnlineUsage, Problem, UsageRecord
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.party import service as party
from openbss.party.model import BillingAccount
from openbss.rating.service import Prices, RatingRequest, rate_again

CHARGING_SOURCE = "charging"  # the usage records of online charging (mediation's source)


@dataclass(frozen=True)
class NewBucket:
    unit: str
    amount: Decimal
    valid_from: datetime
    valid_to: datetime | None = None
    account_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    currency: str | None = None
    priority: int = 0
    rollover: bool = False


@dataclass(frozen=True)
class ReserveRequest:
    session_id: str
    rating_group: int
    service_id: str  # the subscriber (MSISDN, Subscription-Id)
    usage_type: str  # voice, data, sms
    requested: int  # units of USAGE_UNITS[usage_type]
    at: datetime
    validity_seconds: int = 300
    destination: str | None = None


@dataclass(frozen=True)
class Grant:
    granted: int
    expires_at: datetime | None = None
    refusal: str | None = None  # CREDIT_LIMIT_REACHED, USER_UNKNOWN, SERVICE_DENIED, RATING_FAILED


@dataclass(frozen=True)
class Charged:
    units: Decimal  # units committed
    money: Money  # money debited for the units no unit bucket covered
    uncovered: Money  # cost of units used beyond what the holds covered (reported, not debited)


def add_bucket(uow: UnitOfWork, new: NewBucket) -> uuid.UUID:
    check_unit(new.unit)
    if (new.account_id is None) == (new.group_id is None):
        raise InvalidValue("owner", (new.account_id, new.group_id), "must be exactly one of account or group")
    if new.unit == MONEY_UNIT:
        check_currency(new.currency or "", "currency")
    elif new.currency is not None:
        raise InvalidValue("currency", new.currency, f"is only for money buckets, not {new.unit}")
    amount = to_decimal(new.amount, "amount")
    if amount < 0:
        raise InvalidValue("amount", amount, "must not be negative")
    bucket_id = new_id()
    uow.conn.execute(balance_bucket.insert().values(
        id=bucket_id, account_id=new.account_id, group_id=new.group_id, unit=new.unit, currency=new.currency,
        amount=amount, valid_from=new.valid_from, valid_to=new.valid_to, priority=new.priority,
        rollover=new.rollover, created_at=uow.now()))
    return bucket_id


def create_group(uow: UnitOfWork, name: str, account_ids: Iterable[uuid.UUID]) -> uuid.UUID:
    """A group of accounts sharing the buckets owned by the group (a family's or a company's pool)."""
    if not name or not name.strip():
        raise InvalidValue("name", name, "must not be empty")
    group_id = new_id()
    uow.conn.execute(balance_group.insert().values(id=group_id, name=name, created_at=uow.now()))
    members = [{"group_id": group_id, "account_id": a} for a in set(account_ids)]
    if members:
        uow.conn.execute(balance_group_member.insert(), members)
    return group_id


def bucket_from_row(row: sa.Row) -> BalanceBucket:
    return BalanceBucket(row.id, row.unit, row.amount, row.reserved, row.used, row.valid_from, row.valid_to,
                         row.priority, row.rollover, row.currency)


def get_bucket(uow: UnitOfWork, bucket_id: uuid.UUID) -> BalanceBucket:
    row = uow.conn.execute(sa.select(balance_bucket).where(balance_bucket.c.id == bucket_id)).one_or_none()
    if row is None:
        raise NotFound("balance bucket", bucket_id)
    return bucket_from_row(row)


def owned_ids(account_ids: Collection[uuid.UUID], valid_at: datetime | None = None) -> list[sa.Select]:
    """The ids of the buckets of the accounts and of every group they belong to (valid at `valid_at`, when given),
    as selects to UNION: each is an index look-up. One condition with OR between the two (or with other ids) is
    a scan of every bucket: 224 ms a batch with 300,000 buckets."""
    own, shared, m = balance_bucket.alias("own"), balance_bucket.alias("shared"), balance_group_member

    def valid(t: sa.TableClause) -> list:
        return [] if valid_at is None else [sa.or_(t.c.valid_to.is_(None), t.c.valid_to > valid_at)]

    return [sa.select(own.c.id).where(among(own.c.account_id, account_ids), *valid(own)),
            sa.select(shared.c.id).join(m, m.c.group_id == shared.c.group_id)
            .where(among(m.c.account_id, account_ids), *valid(shared))]


def owned_by(account_ids: Collection[uuid.UUID]) -> sa.ColumnElement[bool]:
    """Buckets of the accounts and of every group they belong to."""
    return balance_bucket.c.id.in_(sa.union_all(*owned_ids(account_ids)))


def buckets_of(uow: UnitOfWork, account_id: uuid.UUID) -> list[BalanceBucket]:
    """Every bucket the account may spend from (its own and its groups'), valid or not, in id order."""
    rows = uow.conn.execute(sa.select(balance_bucket).where(owned_by([account_id])).order_by(balance_bucket.c.id))
    return [bucket_from_row(r) for r in rows]


# ---- loading and saving a batch's state ------------------------------------------------------------------------

@dataclass
class Batch:
    """What a batch of requests works on: the locked balances and reservations, the subscriptions of the service
    ids it names, their accounts' currencies, and the usage prices looked up so far."""

    state: ChargingState
    products: dict[str, list[Product]]  # by service id, newest start first
    currencies: dict[uuid.UUID, str]
    prices: Prices


def _reservation(row: sa.Row, holds: tuple[Hold, ...], postpaid: Decimal) -> Reservation:
    return Reservation(row.id, row.session_id, row.rating_group, row.account_id, row.product_id, row.service_id,
                       row.usage_type, row.destination, row.currency, row.rated_at, row.granted, row.used, row.status,
                       row.expires_at, row.created_at, holds, postpaid)


def postpaid_allowances(uow: UnitOfWork, accounts: Mapping[uuid.UUID, BillingAccount], *,
                        lock: bool = True) -> dict[uuid.UUID, Decimal]:
    """The postpaid money each account with a credit limit may still consume online: its credit limit minus its
    open receivable (ledger), its rated unbilled usage (mediation) and the postpaid money active reservations
    hold; never below 0 (accounts without a limit are absent). `lock` (default) takes each account's "postpaid"
    advisory lock, in id order, until the transaction ends, so two transactions cannot both grant the last of a
    limit: hold what you grant in the same transaction."""
    limited = sorted(a for a, acc in accounts.items() if acc.credit_limit is not None)
    if not limited:
        return {}
    if lock:
        for account_id in limited:
            uow.advisory_lock("postpaid", account_id)
    receivable = ledger.ar_balances(uow, limited)
    h, r = charging_postpaid_hold, charging_reservation
    held = {(row.account_id, row.currency): row.held for row in uow.conn.execute(
        sa.select(h.c.account_id, h.c.currency, sa.func.sum(h.c.held).label("held"))
        .join(r, r.c.id == h.c.reservation_id)
        .where(among(h.c.account_id, limited), r.c.status == "active").group_by(h.c.account_id, h.c.currency))}
    unbilled = mediation.unbilled_charges(uow, {a: accounts[a].currency for a in limited})
    out = {}
    for account_id in limited:
        acc = accounts[account_id]
        owed = receivable.get(account_id)
        open_ar = owed.amount if owed is not None and owed.currency == acc.currency else Decimal(0)
        out[account_id] = max(Decimal(0), acc.credit_limit.amount - open_ar - unbilled[account_id]
                              - held.get((account_id, acc.currency), Decimal(0)))
    return out


def _load_holds(uow: UnitOfWork, reservation_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[Hold]]:
    h = charging_hold
    holds: dict[uuid.UUID, list[Hold]] = {}
    if reservation_ids:
        for r in uow.conn.execute(sa.select(h.c.reservation_id, h.c.bucket_id, h.c.held)
                                  .where(among(h.c.reservation_id, reservation_ids)).order_by(h.c.reservation_id, h.c.seq)):
            holds.setdefault(r.reservation_id, []).append((r.bucket_id, r.held))
    return holds


def load_state(uow: UnitOfWork, at: datetime, *, sessions: Iterable[str] = (), service_ids: Iterable[str] = (),
               rows: Sequence[sa.Row] | None = None, prices: Prices | None = None) -> Batch:
    """Lock and load, in a fixed number of statements, what requests of these sessions and subscribers can touch:
    the sessions' reservations (FOR UPDATE; or the reservation `rows` the caller already locked) with their
    holds, every product of the service ids named, and the buckets (FOR UPDATE, in id order, the order every
    writer of buckets takes) that their accounts may spend at `at` or that a hold is on."""
    r, b, m = charging_reservation, balance_bucket, balance_group_member
    if rows is None:
        session_ids = sorted(set(sessions))
        rows = uow.conn.execute(sa.select(r).where(among(r.c.session_id, session_ids)).order_by(r.c.id)
                                .with_for_update()).all() if session_ids else []
    active = [row.id for row in rows if row.status == "active"]
    holds = _load_holds(uow, active)
    p = charging_postpaid_hold
    postpaid = dict(uow.conn.execute(sa.select(p.c.reservation_id, p.c.held)
                                     .where(among(p.c.reservation_id, active))).all()) if active else {}
    reservations = {(row.session_id, row.rating_group): _reservation(
        row, tuple(holds.get(row.id, ())), postpaid.get(row.id, Decimal(0))) for row in rows}
    products = ordering.products_by_service_id(uow, {*service_ids, *(x.service_id for x in reservations.values())})
    accounts = {p.account_id for ps in products.values() for p in ps} | {x.account_id for x in reservations.values()}
    held = [i for hs in holds.values() for i, _ in hs]
    on_hold = b.alias("on_hold")
    wanted = sa.union_all(*owned_ids(accounts, valid_at=at), sa.select(on_hold.c.id).where(among(on_hold.c.id, held)))
    buckets = {row.id: row for row in uow.conn.execute(
        sa.select(b).where(b.c.id.in_(wanted)).order_by(b.c.id).with_for_update())}
    groups: dict[uuid.UUID, set[uuid.UUID]] = {}
    if accounts:
        for row in uow.conn.execute(sa.select(m.c.group_id, m.c.account_id).where(among(m.c.account_id, accounts))):
            groups.setdefault(row.group_id, set()).add(row.account_id)
    usable: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in buckets.values():
        for account_id in ({row.account_id} if row.account_id else groups.get(row.group_id, set())):
            usable.setdefault(account_id, []).append(row.id)
    billing_accounts = party.billing_accounts(uow, accounts)
    state = ChargingState({i: bucket_from_row(row) for i, row in buckets.items()}, usable, reservations,
                          postpaid_allowances(uow, billing_accounts))
    return Batch(state, products, {a: acc.currency for a, acc in billing_accounts.items()}, prices or Prices(uow))


def save_state(uow: UnitOfWork, batch: Batch) -> None:
    """Write back what the batch changed: one statement per kind of row (COPY for new rows, one UPDATE from
    arrays for changed ones), whatever the batch's size."""
    state, r, h, p = batch.state, charging_reservation, charging_hold, charging_postpaid_hold
    now = uow.now()
    new = [state.reservations[k] for k in sorted(state.new_reservations)]
    changed = [state.reservations[k] for k in sorted(state.changed_reservations - state.new_reservations)]
    copy_rows(uow, r, [dict(
        id=x.id, session_id=x.session_id, rating_group=x.rating_group, account_id=x.account_id,
        product_id=x.product_id, service_id=x.service_id, usage_type=x.usage_type, destination=x.destination,
        currency=x.currency, rated_at=x.rated_at, granted=x.granted, used=x.used, status=x.status,
        expires_at=x.expires_at, created_at=x.created_at, updated_at=now) for x in new])
    update_rows(uow, r, "id", [dict(id=x.id, rated_at=x.rated_at, granted=x.granted, used=x.used, status=x.status,
                                    expires_at=x.expires_at, updated_at=now) for x in changed])
    held = [x.id for x in changed if state.loaded_holds.get(x.id)]
    if held:
        uow.conn.execute(h.delete().where(among(h.c.reservation_id, held)))
    held_postpaid = [x.id for x in changed if state.loaded_postpaid.get(x.id)]
    if held_postpaid:
        uow.conn.execute(p.delete().where(among(p.c.reservation_id, held_postpaid)))
    touched = new + changed
    copy_rows(uow, h, [dict(reservation_id=x.id, bucket_id=i, seq=n, held=held) for x in touched
                       for n, (i, held) in enumerate(x.holds)])
    copy_rows(uow, p, [dict(reservation_id=x.id, account_id=x.account_id, currency=x.currency, held=x.postpaid)
                       for x in touched if x.postpaid > 0])
    mediation.store_online_usage(uow, state.charged)
    # absolute values: the rows are locked by load_state until this transaction ends
    update_rows(uow, balance_bucket, "id", [dict(id=i, used=state.buckets[i].used, reserved=state.buckets[i].reserved)
                                            for i in sorted(state.changed_buckets)])


# ---- the use cases ---------------------------------------------------------------------------------------------

def _pricer(uow: UnitOfWork, batch: Batch, product: Product, currency: str, service_id: str, usage_type: str,
            destination: str | None, at: datetime) -> Callable[[int | Decimal], Decimal]:
    """cost(units): what `units` of this usage cost at `at` with the scalar rater; Unpriced if unrated."""

    @cache
    def cost(units: int | Decimal) -> Decimal:
        if units <= 0:
            return Decimal(0)
        record = UsageRecord(CHARGING_SOURCE, "quote", service_id, usage_type, at, Decimal(units), destination)
        [rated] = rate_again(uow, [(RatingRequest(record, product, currency), Decimal(0))], prices=batch.prices)
        if isinstance(rated, Problem):
            raise Unpriced(rated)
        return rated.charge.amount

    return cost


def _check_request(req: ReserveRequest) -> None:
    if req.usage_type not in USAGE_UNITS:
        raise InvalidValue("usageType", req.usage_type, f"must be one of {', '.join(USAGE_UNITS)}")
    if req.requested < 0:
        raise InvalidValue("requested", req.requested, "must not be negative")
    if req.validity_seconds <= 0:
        raise InvalidValue("validitySeconds", req.validity_seconds, "must be positive")


def _product(batch: Batch, res: Reservation) -> Product:
    found = next((p for p in batch.products.get(res.service_id, ()) if p.id == res.product_id), None)
    if found is None:
        raise NotFound("product", str(res.product_id))
    return found


def reserve(uow: UnitOfWork, req: ReserveRequest, batch: Batch | None = None) -> Grant:
    """Grant up to `req.requested` units to the session's rating group, or refuse with a typed reason. `batch`:
    the state of a batch of requests (loaded by the caller and saved by it); None loads and saves here."""
    _check_request(req)
    own = batch is None
    if batch is None:
        batch = load_state(uow, req.at, sessions=[req.session_id], service_ids=[req.service_id])
    state = batch.state
    product = ordering.active_at(batch.products.get(req.service_id, ()), req.at)
    if product is None:
        return Grant(0, refusal=USER_UNKNOWN)
    if product.status == "suspended":
        return Grant(0, refusal=SERVICE_DENIED)
    existing = state.reservation(req.session_id, req.rating_group)
    if existing is not None and (existing.status != "active" or existing.granted > 0):
        raise Conflict(f"sessionId={req.session_id!r} ratingGroup={req.rating_group}: reservation is "
                       f"{existing.status} with {existing.granted} units granted; commit before reserving again")
    currency = batch.currencies[product.account_id]
    cost = _pricer(uow, batch, product, currency, req.service_id, req.usage_type, req.destination, req.at)
    with state.savepoint():
        try:
            granted, holds, postpaid = state.hold(product.account_id, USAGE_UNITS[req.usage_type], currency,
                                                  req.requested, req.at, cost)
        except Unpriced:
            return Grant(0, refusal=RATING_FAILED)
        if granted == 0 and req.requested > 0:
            return Grant(0, refusal=CREDIT_LIMIT_REACHED)
        expires = req.at + timedelta(seconds=req.validity_seconds)
        values = dict(account_id=product.account_id, product_id=product.id, service_id=req.service_id,
                      usage_type=req.usage_type, destination=req.destination, currency=currency, rated_at=req.at,
                      granted=Decimal(granted), status="active", expires_at=expires, holds=tuple(holds),
                      postpaid=postpaid)
        if existing is None:
            state.put_reservation(Reservation(new_id(), req.session_id, req.rating_group, used=Decimal(0),
                                              created_at=uow.now(), **values), new=True)
        else:
            state.put_reservation(replace(existing, **values))
    if own:
        save_state(uow, batch)
    return Grant(granted, expires)


def commit(uow: UnitOfWork, session_id: str, rating_group: int, used: int | Decimal, final: bool,
           batch: Batch | None = None) -> Charged:
    """Spend `used` units of the open grant and release the rest; `final` closes the reservation (CCR-T)."""
    used = to_decimal(used, "used")
    if used < 0:
        raise InvalidValue("used", used, "must not be negative")
    own = batch is None
    if batch is None:
        batch = load_state(uow, uow.now(), sessions=[session_id])
    res = batch.state.reservation(session_id, rating_group)
    if res is None:
        raise NotFound("reservation", f"{session_id}/{rating_group}", "sessionId")
    if res.status != "active":
        raise Conflict(f"sessionId={session_id!r} ratingGroup={rating_group}: reservation is {res.status}")
    price = _pricer(uow, batch, _product(batch, res), res.currency, res.service_id, res.usage_type, res.destination,
                    res.rated_at)

    def cost(units: Decimal) -> Decimal:
        try:
            return price(int(units.to_integral_value()))
        except Unpriced:
            raise InvalidValue("usageType", res.usage_type, "cannot be rated for this subscription now") from None

    with batch.state.savepoint():
        spent = batch.state.settle(res, used, cost)
        batch.state.put_reservation(replace(res, used=res.used + used, granted=Decimal(0), holds=(),
                                            postpaid=Decimal(0), status="closed" if final else "active"))
        for usage in _online_usage(batch, res, spent, price):
            batch.state.record_charged(usage)
    if own:
        save_state(uow, batch)
    return Charged(used, Money(spent.money, res.currency), Money(spent.uncovered, res.currency))


def _online_usage(batch: Batch, res: Reservation, spent: Spent, price: Callable[[int], Decimal]) -> list[OnlineUsage]:
    """The usage records of one commit, keyed by the session, rating group and the units committed before it (so
    a commit has one key, and a repeated request, answered from storage, adds none), dated at its grant: the
    units prepaid buckets paid for (status prepaid), and the units the postpaid credit paid for (billed on the
    next invoice; key suffix /postpaid)."""
    if spent.units <= 0:
        return []
    try:
        price_id = batch.prices.get(_product(batch, res).offering_id, res.usage_type, res.currency, res.rated_at).id
    except InvalidValue:  # units from unit buckets under an offering without a usage price
        price_id = None
    covered = sum((s for _, s in spent.unit_spent), Decimal(0))
    key = f"{res.session_id}/{res.rating_group}/{res.used.normalize():f}"  # 300, not 300.000000

    def usage(suffix: str, units: Decimal, charge: Decimal, allowance: Decimal, prepaid: bool) -> OnlineUsage:
        record = UsageRecord(CHARGING_SOURCE, key + suffix, res.service_id, res.usage_type, res.rated_at, units,
                             res.destination)
        return OnlineUsage(record, res.account_id, res.product_id, Money(charge, res.currency), price_id, allowance,
                           prepaid)

    if not spent.postpaid:
        return [usage("", spent.units, spent.money, covered, True)]
    # hybrid: the prepaid money paid for the first units it affords, the credit for the rest
    rest = int((spent.units - covered).to_integral_value())
    prepaid_units = Decimal(most_affordable(rest, price, spent.money)) if spent.money else Decimal(0)
    out = [usage("/postpaid", spent.units - covered - prepaid_units, spent.postpaid, Decimal(0), False)]
    if covered or spent.money:
        out.insert(0, usage("", covered + prepaid_units, spent.money, covered, True))
    return out


def open_rating_groups(batch: Batch, session_id: str) -> list[int]:
    """The rating groups of the session whose reservation is still active, in order."""
    return sorted(r.rating_group for r in batch.state.session(session_id) if r.status == "active")


def release_expired(uow: UnitOfWork, at: datetime) -> int:
    """Free the holds of active reservations whose validity ended by `at` (orphans of dead sessions); skip the
    ones another transaction is settling right now. Returns how many were released."""
    r = charging_reservation
    rows = uow.conn.execute(sa.select(r).where(r.c.status == "active", r.c.expires_at <= at)
                            .order_by(r.c.id).with_for_update(skip_locked=True)).all()
    if not rows:
        return 0
    batch = load_state(uow, at, rows=rows)
    for res in list(batch.state.reservations.values()):
        batch.state.settle(res, Decimal(0), lambda units: Decimal(0))
        batch.state.put_reservation(replace(res, status="expired", granted=Decimal(0), holds=()))
    save_state(uow, batch)
    return len(rows)


def session_subscriber(batch: Batch, session_id: str) -> tuple[str, str | None] | None:
    """(service id, destination) a session's first reservation was made for, or None for an unknown session:
    the updates of a credit-control session need not name the subscriber again."""
    first = next(iter(batch.state.session(session_id)), None)
    return None if first is None else (first.service_id, first.destination)


def open_grant(batch: Batch, session_id: str, rating_group: int) -> Decimal | None:
    """Units granted and not yet reported on the rating group's active reservation; None when it has none."""
    res = batch.state.reservation(session_id, rating_group)
    return res.granted if res is not None and res.status == "active" else None

"""Online charging use cases: balance buckets, reserve -> commit -> release (TMF654, issue #7 parts 1 and 2).

A reservation belongs to one (session id, rating group). `reserve` holds units first in unit buckets of the
usage's unit (seconds, bytes, messages) and, for what those do not cover, money in money buckets of the
account's currency: the requested units are priced with the scalar rater (`rating.service.rate_again`, which
reads no allowance bucket), and when money runs short the grant shrinks to the most units the money pays for.
`commit` spends the used units from the holds (units first, then the money the rest of them cost) and
releases what is left; `release_expired` frees the holds of reservations whose validity time passed
(sessions whose network element died).

Concurrency: buckets are locked FOR UPDATE in id order (concurrent sessions on one balance wait for each other
instead of deadlocking), and the CHECK used + reserved <= amount refuses any overspend the locking missed.
Rating a grant per chunk charges a rate's connect fee and minimum per chunk; that is a known limit of pricing
chunks separately (to do: price the session's cumulative use).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    plan_holds,
    spend_holds,
)
from openbss.charging.tables import (
    balance_bucket,
    balance_group,
    balance_group_member,
    charging_hold,
    charging_reservation,
)
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id
from openbss.core.money import Money, check_currency, to_decimal
from openbss.db.uow import UnitOfWork
from openbss.mediation.model import Problem, UsageRecord
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.party import service as party
from openbss.rating.service import Prices, RatingRequest, rate_again


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


def _bucket(row: sa.Row) -> BalanceBucket:
    return BalanceBucket(row.id, row.unit, row.amount, row.reserved, row.used, row.valid_from, row.valid_to,
                         row.priority, row.rollover, row.currency)


def get_bucket(uow: UnitOfWork, bucket_id: uuid.UUID) -> BalanceBucket:
    row = uow.conn.execute(sa.select(balance_bucket).where(balance_bucket.c.id == bucket_id)).one_or_none()
    if row is None:
        raise NotFound("balance bucket", bucket_id)
    return _bucket(row)


def _owned_by(account_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """Buckets of the account and of every group it belongs to."""
    b = balance_bucket
    groups = sa.select(balance_group_member.c.group_id).where(balance_group_member.c.account_id == account_id)
    return sa.or_(b.c.account_id == account_id, b.c.group_id.in_(groups))


def buckets_of(uow: UnitOfWork, account_id: uuid.UUID) -> list[BalanceBucket]:
    """Every bucket the account may spend from (its own and its groups'), valid or not, in id order."""
    rows = uow.conn.execute(sa.select(balance_bucket).where(_owned_by(account_id)).order_by(balance_bucket.c.id))
    return [_bucket(r) for r in rows]


def _lock_buckets(uow: UnitOfWork, account_id: uuid.UUID, units: Iterable[str], currency: str,
                  at: datetime) -> list[BalanceBucket]:
    """The account's and its groups' buckets of these units valid at `at`, locked in id order."""
    b = balance_bucket
    rows = uow.conn.execute(
        sa.select(b).where(
            _owned_by(account_id),
            b.c.unit.in_(list(units)),
            sa.or_(b.c.currency.is_(None), b.c.currency == currency),
            b.c.valid_from <= at, sa.or_(b.c.valid_to.is_(None), b.c.valid_to > at),
        ).order_by(b.c.id).with_for_update()
    )
    return [_bucket(r) for r in rows]


def _subscription(uow: UnitOfWork, service_id: str, at: datetime) -> Product | None:
    return ordering.active_at(ordering.products_by_service_id(uow, [service_id]).get(service_id, ()), at)


class _RatingFailed(Exception):
    pass


def _pricer(uow: UnitOfWork, product: Product, currency: str, service_id: str, usage_type: str,
            destination: str | None, at: datetime, prices: Prices | None):
    """cost(units): what `units` of this usage cost at `at` with the scalar rater; _RatingFailed if unrated."""

    @cache
    def cost(units: int) -> Decimal:
        if units <= 0:
            return Decimal(0)
        record = UsageRecord("charging", "quote", service_id, usage_type, at, Decimal(units), destination)
        [rated] = rate_again(uow, [(RatingRequest(record, product, currency), Decimal(0))], prices=prices)
        if isinstance(rated, Problem):
            raise _RatingFailed(rated)
        return rated.charge.amount

    return cost


def _hold(uow: UnitOfWork, reservation_id: uuid.UUID, holds: Sequence[tuple[uuid.UUID, Decimal]], seq: int) -> None:
    for i, (bucket_id, held) in enumerate(holds, start=seq):
        uow.conn.execute(charging_hold.insert().values(reservation_id=reservation_id, bucket_id=bucket_id, seq=i,
                                                       held=held))
        uow.conn.execute(balance_bucket.update().where(balance_bucket.c.id == bucket_id)
                         .values(reserved=balance_bucket.c.reserved + held))


def _check_request(req: ReserveRequest) -> None:
    if req.usage_type not in USAGE_UNITS:
        raise InvalidValue("usageType", req.usage_type, f"must be one of {', '.join(USAGE_UNITS)}")
    if req.requested < 0:
        raise InvalidValue("requested", req.requested, "must not be negative")
    if req.validity_seconds <= 0:
        raise InvalidValue("validitySeconds", req.validity_seconds, "must be positive")


def _open_reservation(uow: UnitOfWork, session_id: str, rating_group: int) -> sa.Row | None:
    r = charging_reservation
    return uow.conn.execute(sa.select(r).where(r.c.session_id == session_id, r.c.rating_group == rating_group)
                            .with_for_update()).one_or_none()


def reserve(uow: UnitOfWork, req: ReserveRequest, prices: Prices | None = None) -> Grant:
    """Grant up to `req.requested` units to the session's rating group, or refuse with a typed reason. `prices`:
    usage prices already looked up in this transaction (a batch of requests)."""
    _check_request(req)
    product = _subscription(uow, req.service_id, req.at)
    if product is None:
        return Grant(0, refusal=USER_UNKNOWN)
    if product.status == "suspended":
        return Grant(0, refusal=SERVICE_DENIED)
    existing = _open_reservation(uow, req.session_id, req.rating_group)
    if existing is not None and (existing.status != "active" or existing.granted > 0):
        raise Conflict(f"sessionId={req.session_id!r} ratingGroup={req.rating_group}: reservation is "
                       f"{existing.status} with {existing.granted} units granted; commit before reserving again")
    currency = party.account_currencies(uow, [product.account_id])[product.account_id]
    unit = USAGE_UNITS[req.usage_type]
    buckets = _lock_buckets(uow, product.account_id, (unit, MONEY_UNIT), currency, req.at)
    unit_holds = plan_holds([b for b in buckets if b.unit == unit], Decimal(req.requested), req.at)
    covered = int(sum((h for _, h in unit_holds), Decimal(0)))
    rest, affordable, money_holds = req.requested - covered, 0, []
    if rest > 0:
        cost = _pricer(uow, product, currency, req.service_id, req.usage_type, req.destination, req.at, prices)
        money = [b for b in buckets if b.unit == MONEY_UNIT]
        budget = sum((b.free for b in money if b.valid_at(req.at)), Decimal(0))
        try:
            affordable = most_affordable(rest, cost, budget)
        except _RatingFailed:
            if covered == 0:
                return Grant(0, refusal=RATING_FAILED)
        if affordable:
            money_holds = plan_holds(money, cost(affordable), req.at)
    granted = covered + affordable
    if granted == 0 and req.requested > 0:
        return Grant(0, refusal=CREDIT_LIMIT_REACHED)
    expires = req.at + timedelta(seconds=req.validity_seconds)
    values = dict(account_id=product.account_id, product_id=product.id, service_id=req.service_id,
                  usage_type=req.usage_type, destination=req.destination, currency=currency, rated_at=req.at,
                  granted=granted, status="active", expires_at=expires, updated_at=uow.now())
    if existing is None:
        reservation_id = new_id()
        uow.conn.execute(charging_reservation.insert().values(
            id=reservation_id, session_id=req.session_id, rating_group=req.rating_group, created_at=uow.now(),
            **values))
    else:
        reservation_id = existing.id
        uow.conn.execute(charging_reservation.update().where(charging_reservation.c.id == reservation_id)
                         .values(**values))
    _hold(uow, reservation_id, [*unit_holds, *money_holds], 0)
    return Grant(granted, expires)


def _holds(uow: UnitOfWork, reservation_id: uuid.UUID) -> list[tuple[uuid.UUID, Decimal, str]]:
    """The reservation's holds in spending order with their bucket's unit; the buckets locked in id order first."""
    h, b = charging_hold, balance_bucket
    ids = sa.select(h.c.bucket_id).where(h.c.reservation_id == reservation_id)
    uow.conn.execute(sa.select(b.c.id).where(b.c.id.in_(ids)).order_by(b.c.id).with_for_update()).all()
    rows = uow.conn.execute(sa.select(h.c.bucket_id, h.c.held, b.c.unit).join(b, b.c.id == h.c.bucket_id)
                            .where(h.c.reservation_id == reservation_id).order_by(h.c.seq))
    return [(r.bucket_id, r.held, r.unit) for r in rows]


def _settle(uow: UnitOfWork, reservation_id: uuid.UUID, holds: Sequence[tuple[uuid.UUID, Decimal, str]],
            spent: dict[uuid.UUID, Decimal]) -> None:
    """Turn each hold into what it spent (used) and give the rest back (reserved), then drop the holds."""
    for bucket_id, held, _ in holds:
        uow.conn.execute(balance_bucket.update().where(balance_bucket.c.id == bucket_id).values(
            used=balance_bucket.c.used + spent.get(bucket_id, Decimal(0)), reserved=balance_bucket.c.reserved - held))
    uow.conn.execute(charging_hold.delete().where(charging_hold.c.reservation_id == reservation_id))


def commit(uow: UnitOfWork, session_id: str, rating_group: int, used: int | Decimal, final: bool,
           prices: Prices | None = None) -> Charged:
    """Spend `used` units of the open grant and release the rest; `final` closes the reservation (CCR-T)."""
    used = to_decimal(used, "used")
    if used < 0:
        raise InvalidValue("used", used, "must not be negative")
    res = _open_reservation(uow, session_id, rating_group)
    if res is None:
        raise NotFound("reservation", f"{session_id}/{rating_group}", "sessionId")
    if res.status != "active":
        raise Conflict(f"sessionId={session_id!r} ratingGroup={rating_group}: reservation is {res.status}")
    holds = _holds(uow, res.id)
    unit_spent = spend_holds([(i, h) for i, h, u in holds if u != MONEY_UNIT], used)
    rest = used - sum((s for _, s in unit_spent), Decimal(0))
    product = ordering.get_product(uow, res.product_id)
    cost = Decimal(0)
    if rest > 0:
        price = _pricer(uow, product, res.currency, res.service_id, res.usage_type, res.destination, res.rated_at,
                        prices)
        try:
            cost = price(int(rest.to_integral_value()))
        except _RatingFailed:
            raise InvalidValue("usageType", res.usage_type, "cannot be rated for this subscription now") from None
    money_spent = spend_holds([(i, h) for i, h, u in holds if u == MONEY_UNIT], cost)
    debited = sum((s for _, s in money_spent), Decimal(0))
    _settle(uow, res.id, holds, dict(unit_spent + money_spent))
    uow.conn.execute(charging_reservation.update().where(charging_reservation.c.id == res.id).values(
        used=charging_reservation.c.used + used, granted=0, status="closed" if final else "active",
        updated_at=uow.now()))
    return Charged(used, Money(debited, res.currency), Money(cost - debited, res.currency))


def open_rating_groups(uow: UnitOfWork, session_id: str) -> list[int]:
    """The rating groups of the session whose reservation is still active, in order."""
    r = charging_reservation
    return list(uow.conn.execute(sa.select(r.c.rating_group).where(r.c.session_id == session_id,
                                                                   r.c.status == "active")
                                 .order_by(r.c.rating_group)).scalars())


def release_expired(uow: UnitOfWork, at: datetime) -> int:
    """Free the holds of active reservations whose validity ended by `at` (orphans of dead sessions); skip the
    ones another transaction is settling right now. Returns how many were released."""
    r = charging_reservation
    rows = uow.conn.execute(sa.select(r.c.id).where(r.c.status == "active", r.c.expires_at <= at)
                            .order_by(r.c.id).with_for_update(skip_locked=True)).all()
    for row in rows:
        _settle(uow, row.id, _holds(uow, row.id), {})
        uow.conn.execute(r.update().where(r.c.id == row.id).values(status="expired", granted=0, updated_at=uow.now()))
    return len(rows)


def session_subscriber(uow: UnitOfWork, session_id: str) -> tuple[str, str | None] | None:
    """(service id, destination) a session's first reservation was made for, or None for an unknown session:
    the updates of a credit-control session need not name the subscriber again."""
    r = charging_reservation
    row = uow.conn.execute(sa.select(r.c.service_id, r.c.destination).where(r.c.session_id == session_id)
                           .order_by(r.c.created_at).limit(1)).one_or_none()
    return None if row is None else (row.service_id, row.destination)


def open_grant(uow: UnitOfWork, session_id: str, rating_group: int) -> Decimal | None:
    """Units granted and not yet reported on the rating group's active reservation; None when it has none."""
    r = charging_reservation
    return uow.conn.execute(sa.select(r.c.granted).where(r.c.session_id == session_id, r.c.rating_group == rating_group,
                                                         r.c.status == "active")).scalar_one_or_none()

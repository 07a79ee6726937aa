"""Balance use cases behind TMF654 (issue #7 part 1): buckets as the API shows them, top-ups (by API and by voucher),
adjustments, accumulated balances, use-threshold notifications, postpaid credit for hybrid plans, rollovers.

Every mutation locks the buckets it changes FOR UPDATE (in id order, as reserve and commit do), writes an audit
record and emits its TMF event in the same transaction. The CHECK used + reserved <= amount stays the last word:
an adjustment that would take a bucket below what is used and reserved is refused with the numbers.

Thresholds: `notify_thresholds(uow, bucket_ids)` (called after every debit, top-up and adjustment) emits one
BucketBalanceThresholdEvent per bucket and threshold (THRESHOLDS, per cent of the amount used) the first time the
use reaches it; `balance_bucket_threshold` remembers the announced ones, so calling it again is a no-op, and a
top-up or adjustment that takes the use back below a threshold re-arms it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert

from openbss.audit import service as audit
from openbss.charging import vouchers
from openbss.charging.model import MONEY_UNIT, BalanceBucket
from openbss.charging.service import NewBucket, add_bucket, bucket_from_row, owned_by, postpaid_allowances
from openbss.charging.tables import (
    balance_adjustment,
    balance_bucket,
    balance_bucket_threshold,
    balance_group,
    balance_group_member,
    balance_rollover,
    balance_topup,
)
from openbss.core.errors import InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.core.money import check_currency, minor_units, to_decimal
from openbss.db.uow import UnitOfWork
from openbss.party import service as party

API = "prepayBalanceManagement"
THRESHOLDS = (80, 100)  # per cent of a bucket's amount used
THRESHOLD_EVENT = "BucketBalanceThresholdEvent"

# TMF654 UsageType <-> bucket unit
USAGE_TYPE = {MONEY_UNIT: "monetary", "second": "voice", "byte": "data", "message": "sms"}
UNIT_OF = {v: k for k, v in USAGE_TYPE.items()}


# ---- pure rules ----------------------------------------------------------------------------------------------

def thresholds_reached(amount: Decimal, used: Decimal, levels: Sequence[int] = THRESHOLDS) -> set[int]:
    """The levels (per cent of `amount`) that `used` has reached; none for an empty bucket."""
    if amount <= 0:
        return set()
    return {p for p in levels if used * 100 >= amount * p}


def unit_of(usage_type: str | None, field: str = "usageType") -> str | None:
    if usage_type is None:
        return None
    if usage_type not in UNIT_OF:
        raise InvalidValue(field, usage_type, f"must be one of {', '.join(UNIT_OF)}")
    return UNIT_OF[usage_type]


def units_code(unit: str, currency: str | None) -> str:
    """What a TMF Quantity's `units` says: the currency for money, else the unit (second, byte, message)."""
    return currency if unit == MONEY_UNIT and currency else unit


def shown(value: Decimal, unit: str, currency: str | None) -> str:
    """A quantity as a message shows it: money to the currency's minor units, units whole."""
    digits = minor_units(currency) if unit == MONEY_UNIT and currency else 0
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-digits)):f}"


def check_quantity(amount: object, unit: str, currency: str | None, field: str, *, signed: bool = False) -> Decimal:
    value = to_decimal(amount, field)
    if value == 0 or (value < 0 and not signed):
        raise InvalidValue(field, value, "must not be zero" if signed else "must be positive")
    digits = minor_units(currency) if unit == MONEY_UNIT and currency else 0
    if -value.as_tuple().exponent > digits:
        what = f"{currency} has {digits} minor units" if unit == MONEY_UNIT else f"{unit}s are counted whole"
        raise InvalidValue(field, value, f"has too many decimals: {what}")
    return value


# ---- buckets as TMF654 shows them --------------------------------------------------------------------------

@dataclass(frozen=True)
class BucketView:
    bucket: BalanceBucket
    account_id: uuid.UUID | None
    group_id: uuid.UUID | None
    group_name: str | None
    created_at: datetime
    status: str  # active, or expired once valid_to passed
    threshold: int | None = None  # set on a threshold event: the per cent just reached


_VIEW = sa.select(balance_bucket, balance_group.c.name.label("group_name")).outerjoin(
    balance_group, balance_group.c.id == balance_bucket.c.group_id)


def _view(row, now: datetime) -> BucketView:
    b = bucket_from_row(row)
    return BucketView(b, row.account_id, row.group_id, row.group_name, row.created_at, bucket_status(b, now))


def get_bucket_view(uow: UnitOfWork, bucket_id: uuid.UUID, *, field: str | None = None) -> BucketView:
    row = uow.conn.execute(_VIEW.where(balance_bucket.c.id == bucket_id)).one_or_none()
    if row is None:
        raise NotFound("bucket", str(bucket_id), field)
    return _view(row, uow.now())


def bucket_status(b: BalanceBucket, at: datetime) -> str:
    return "expired" if b.valid_to is not None and b.valid_to <= at else "active"


BUCKET_FILTERS = ("partyAccount.id", "usageType", "status", "isShared")


def _bucket_conditions(uow: UnitOfWork, filters: dict[str, str]) -> list:
    b, now = balance_bucket, uow.now()
    out: list = []
    if "partyAccount.id" in filters:
        out.append(owned_by([parse_id(filters["partyAccount.id"], "partyAccount.id")]))
    if "usageType" in filters:
        out.append(b.c.unit == unit_of(filters["usageType"]))
    if "status" in filters:
        expired = sa.and_(b.c.valid_to.is_not(None), b.c.valid_to <= now)
        status = filters["status"]
        if status not in ("active", "expired"):
            raise InvalidValue("status", status, "must be active or expired")
        out.append(expired if status == "expired" else sa.not_(expired))
    if "isShared" in filters:
        shared = filters["isShared"]
        if shared not in ("true", "false"):
            raise InvalidValue("isShared", shared, "must be true or false")
        out.append(b.c.group_id.is_not(None) if shared == "true" else b.c.group_id.is_(None))
    return out


def list_buckets(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[BucketView], int]:
    stmt = _VIEW.where(*_bucket_conditions(uow, filters))
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = uow.conn.execute(stmt.order_by(balance_bucket.c.id).offset(offset).limit(limit)).all()
    return [_view(r, uow.now()) for r in rows], total


def _lock(uow: UnitOfWork, bucket_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, BucketView]:
    ids = sorted(set(bucket_ids))
    if not ids:
        return {}
    uow.conn.execute(sa.select(balance_bucket.c.id).where(balance_bucket.c.id.in_(ids))
                     .order_by(balance_bucket.c.id).with_for_update()).all()
    rows = uow.conn.execute(_VIEW.where(balance_bucket.c.id.in_(ids))).all()
    return {r.id: _view(r, uow.now()) for r in rows}


def _may_use(uow: UnitOfWork, view: BucketView, account_id: uuid.UUID) -> bool:
    if view.account_id is not None:
        return view.account_id == account_id
    return uow.conn.execute(sa.select(sa.literal(True)).where(
        balance_group_member.c.group_id == view.group_id, balance_group_member.c.account_id == account_id)
    ).first() is not None


# ---- thresholds ----------------------------------------------------------------------------------------------

def notify_thresholds(uow: UnitOfWork, bucket_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, int]]:
    """Emit a BucketBalanceThresholdEvent for every threshold the use of these buckets reached since it was last
    announced, and re-arm thresholds the use is back below (after a top-up). Idempotent: returns the (bucket id,
    per cent) newly announced, in order. Locks the buckets FOR UPDATE in id order (already held by a commit)."""
    views = _lock(uow, bucket_ids)
    if not views:
        return []
    t = balance_bucket_threshold
    known: dict[uuid.UUID, set[int]] = {}
    for bucket_id, percent in uow.conn.execute(sa.select(t.c.bucket_id, t.c.percent)
                                               .where(t.c.bucket_id.in_(list(views)))):
        known.setdefault(bucket_id, set()).add(percent)
    new: list[tuple[uuid.UUID, int]] = []
    for bucket_id in sorted(views):
        b = views[bucket_id].bucket
        reached = thresholds_reached(b.amount, b.used)
        stale = known.get(bucket_id, set()) - reached
        if stale:
            uow.conn.execute(t.delete().where(t.c.bucket_id == bucket_id, t.c.percent.in_(sorted(stale))))
        new += [(bucket_id, p) for p in sorted(reached - known.get(bucket_id, set()))]
    if not new:
        return []
    inserted = uow.conn.execute(
        pg_insert(t).values([{"bucket_id": i, "percent": p, "notified_at": uow.now()} for i, p in new])
        .on_conflict_do_nothing().returning(t.c.bucket_id, t.c.percent)).all()
    done = sorted((r.bucket_id, r.percent) for r in inserted)
    for bucket_id, percent in done:
        b = views[bucket_id].bucket
        audit.record(uow, "bucket.thresholdReached", "bucket", bucket_id,
                     after={"percent": percent, "amount": b.amount, "used": b.used, "unit": b.unit})
        uow.emit(ResourceEvent(API, "bucket", THRESHOLD_EVENT, bucket_id,
                               last=replace(views[bucket_id], threshold=percent)))
    return done


# ---- top-ups -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewTopup:
    account_id: uuid.UUID
    usage_type: str | None = None  # None: monetary
    amount: Decimal | None = None  # None only with a voucher (its value)
    units: str | None = None  # the Quantity's units: a currency for money (None: the account's), else the unit
    bucket_id: uuid.UUID | None = None  # None: a new bucket
    voucher_pin: str | None = None
    payment_method_id: str | None = None
    channel: str | None = None
    reason: str | None = None
    description: str | None = None
    valid_from: datetime | None = None  # a new bucket's validity (default: from now, open-ended)
    valid_to: datetime | None = None  # with an existing bucket: extends its validity to this
    priority: int = 0
    rollover: bool = False


@dataclass(frozen=True)
class Topup:
    id: uuid.UUID
    account_id: uuid.UUID
    bucket_id: uuid.UUID
    unit: str
    currency: str | None
    amount: Decimal
    voucher_id: uuid.UUID | None
    payment_method_id: str | None
    channel: str | None
    reason: str | None
    description: str | None
    new_bucket: bool
    status: str
    created_at: datetime
    valid_from: datetime
    valid_to: datetime | None


def _topup_value(uow: UnitOfWork, new: NewTopup, currency: str) -> tuple[str, Decimal, str | None,
                                                                        vouchers.Claimed | None]:
    """(unit, amount, currency, the claimed voucher) of a top-up; checks what does not depend on a voucher first."""
    unit = unit_of(new.usage_type) or MONEY_UNIT
    if new.voucher_pin is None:
        if new.amount is None:
            raise InvalidValue("amount", None, "is required (or a voucher)")
        cur = (new.units or currency) if unit == MONEY_UNIT else None
        if unit == MONEY_UNIT:
            check_currency(cur, "amount.units")
        elif new.units not in (None, unit):
            raise InvalidValue("amount.units", new.units, f"must be {unit} for usageType {new.usage_type}")
        return unit, check_quantity(new.amount, unit, cur, "amount.amount"), cur, None
    if unit != MONEY_UNIT:
        raise InvalidValue("usageType", new.usage_type, "must be monetary for a voucher top-up")
    claimed = vouchers.claim(uow, new.voucher_pin)
    # Whatever does not fit is the same refusal as an unknown PIN (the transaction rolls the claim back).
    if claimed.value.currency != currency or new.units not in (None, claimed.value.currency) or (
            new.amount is not None and to_decimal(new.amount, "amount.amount") != claimed.value.amount):
        raise vouchers.not_a_voucher()
    return unit, claimed.value.amount, claimed.value.currency, claimed


def topup(uow: UnitOfWork, new: NewTopup) -> Topup:
    """Credit money or units to the account's bucket `bucket_id`, or to a new bucket; paid by a voucher PIN or by
    the means named (recorded, not charged here)."""
    account = party.get_billing_account(uow, new.account_id, field="partyAccount.id")
    now = uow.now()
    b = None
    if new.bucket_id is not None:
        # The bucket is checked before a voucher is looked at: no refusal about the bucket tells a PIN was valid.
        view = _lock(uow, [new.bucket_id]).get(new.bucket_id)
        if view is None:
            raise NotFound("bucket", str(new.bucket_id), "bucket.id")
        b = view.bucket
        if not _may_use(uow, view, account.id):
            raise InvalidValue("bucket.id", str(b.id), f"is not a bucket of partyAccount {account.id}")
        wanted = unit_of(new.usage_type) or MONEY_UNIT
        if b.unit != wanted or (new.voucher_pin is not None and b.currency != account.currency):
            raise InvalidValue("usageType", new.usage_type, f"does not match bucket {b.id}, which holds "
                                                            f"{units_code(b.unit, b.currency)}")
        if bucket_status(b, now) == "expired":
            raise InvalidValue("bucket.id", str(b.id), f"expired at {b.valid_to.isoformat()}; top up without a "
                                                       "bucket to open a new one")
        valid_to = b.valid_to
        if new.valid_to is not None:
            if b.valid_to is None or new.valid_to <= b.valid_to:
                raise InvalidValue("validFor.endDateTime", new.valid_to.isoformat(),
                                   f"must extend bucket {b.id}'s validity (ends {b.valid_to})")
            valid_to = new.valid_to
    unit, amount, currency, claimed = _topup_value(uow, new, account.currency)
    if b is not None:
        if b.currency != currency:
            raise InvalidValue("amount.units", currency, f"does not match bucket {b.id}, which holds "
                                                         f"{units_code(b.unit, b.currency)}")
        uow.conn.execute(balance_bucket.update().where(balance_bucket.c.id == b.id)
                         .values(amount=balance_bucket.c.amount + amount, valid_to=valid_to))
        bucket_id, created = b.id, False
    else:
        bucket_id = add_bucket(uow, NewBucket(unit, amount, new.valid_from or now, new.valid_to,
                                              account_id=account.id, currency=currency, priority=new.priority,
                                              rollover=new.rollover))
        created = True
    topup_id = new_id()
    uow.conn.execute(balance_topup.insert().values(
        id=topup_id, account_id=account.id, bucket_id=bucket_id, unit=unit, currency=currency, amount=amount,
        voucher_id=claimed.id if claimed else None, payment_method_id=new.payment_method_id, channel=new.channel,
        reason=new.reason, description=new.description, new_bucket=created, status="completed", created_at=now))
    result = get_topup(uow, topup_id)
    audit.record(uow, "topupBalance.created", "topupBalance", topup_id, after=asdict(result))
    uow.emit(ResourceEvent.created(API, "topupBalance", topup_id))
    notify_thresholds(uow, [bucket_id])
    return result


_TOPUP = sa.select(balance_topup, balance_bucket.c.valid_from, balance_bucket.c.valid_to).join(
    balance_bucket, balance_bucket.c.id == balance_topup.c.bucket_id)


def _topup(row) -> Topup:
    return Topup(**{f: row._mapping[f] for f in Topup.__dataclass_fields__})


def get_topup(uow: UnitOfWork, topup_id: uuid.UUID) -> Topup:
    row = uow.conn.execute(_TOPUP.where(balance_topup.c.id == topup_id)).one_or_none()
    if row is None:
        raise NotFound("topupBalance", str(topup_id))
    return _topup(row)


ACTION_FILTERS = ("partyAccount.id", "bucket.id", "usageType")


def _action_conditions(table: sa.Table, filters: dict[str, str]) -> list:
    out = []
    if "partyAccount.id" in filters:
        out.append(table.c.account_id == parse_id(filters["partyAccount.id"], "partyAccount.id"))
    if "bucket.id" in filters:
        out.append(table.c.bucket_id == parse_id(filters["bucket.id"], "bucket.id"))
    if "usageType" in filters:
        out.append(table.c.unit == unit_of(filters["usageType"]))
    return out


def list_topups(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Topup], int]:
    stmt = _TOPUP.where(*_action_conditions(balance_topup, filters))
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = uow.conn.execute(stmt.order_by(balance_topup.c.id).offset(offset).limit(limit)).all()
    return [_topup(r) for r in rows], total


# ---- adjustments ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewAdjustment:
    bucket_id: uuid.UUID
    amount: Decimal  # signed: positive credits, negative debits
    reason: str
    usage_type: str | None = None  # when given, must be the bucket's
    units: str | None = None
    account_id: uuid.UUID | None = None  # when given, must own (or share) the bucket
    description: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Adjustment:
    id: uuid.UUID
    account_id: uuid.UUID | None
    bucket_id: uuid.UUID
    unit: str
    currency: str | None
    amount: Decimal
    reason: str
    description: str | None
    channel: str | None
    status: str
    created_at: datetime


def adjust(uow: UnitOfWork, new: NewAdjustment) -> Adjustment:
    """Change a bucket's amount by `new.amount` (either sign); never below what is used and reserved."""
    if not isinstance(new.reason, str) or not new.reason.strip():
        raise InvalidValue("reason", new.reason, "must say why the balance is adjusted")
    view = _lock(uow, [new.bucket_id]).get(new.bucket_id)
    if view is None:
        raise NotFound("bucket", str(new.bucket_id), "bucket.id")
    b = view.bucket
    if new.account_id is not None:
        party.get_billing_account(uow, new.account_id, field="partyAccount.id")
        if not _may_use(uow, view, new.account_id):
            raise InvalidValue("bucket.id", str(b.id), f"is not a bucket of partyAccount {new.account_id}")
    if new.usage_type is not None and unit_of(new.usage_type) != b.unit:
        raise InvalidValue("usageType", new.usage_type, f"does not match bucket {b.id}, which is "
                                                        f"{USAGE_TYPE[b.unit]}")
    if new.units is not None and new.units != units_code(b.unit, b.currency):
        raise InvalidValue("amount.units", new.units, f"must be {units_code(b.unit, b.currency)} for bucket {b.id}")
    delta = check_quantity(new.amount, b.unit, b.currency, "amount.amount", signed=True)
    after = b.amount + delta
    if after < b.used + b.reserved:
        def q(v: Decimal) -> str:
            return shown(v, b.unit, b.currency)

        raise InvalidValue("amount.amount", delta, f"would take bucket {b.id} to {q(after)}, below what is used "
                                                   f"({q(b.used)}) plus reserved ({q(b.reserved)}); at most "
                                                   f"{q(b.amount - b.used - b.reserved)} can be taken off")
    uow.conn.execute(balance_bucket.update().where(balance_bucket.c.id == b.id).values(amount=after))
    adjustment_id = new_id()
    uow.conn.execute(balance_adjustment.insert().values(
        id=adjustment_id, account_id=view.account_id, bucket_id=b.id, unit=b.unit, currency=b.currency,
        amount=delta, reason=new.reason.strip(), description=new.description, channel=new.channel,
        status="completed", created_at=uow.now()))
    result = get_adjustment(uow, adjustment_id)
    audit.record(uow, "adjustBalance.created", "adjustBalance", adjustment_id, before={"amount": b.amount},
                 after={**asdict(result), "bucketAmount": after})
    uow.emit(ResourceEvent.created(API, "adjustBalance", adjustment_id))
    notify_thresholds(uow, [b.id])
    return result


def get_adjustment(uow: UnitOfWork, adjustment_id: uuid.UUID) -> Adjustment:
    row = uow.conn.execute(sa.select(balance_adjustment).where(balance_adjustment.c.id == adjustment_id)).one_or_none()
    if row is None:
        raise NotFound("adjustBalance", str(adjustment_id))
    return Adjustment(**row._mapping)


def list_adjustments(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
                     ) -> tuple[list[Adjustment], int]:
    stmt = sa.select(balance_adjustment).where(*_action_conditions(balance_adjustment, filters))
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = uow.conn.execute(stmt.order_by(balance_adjustment.c.id).offset(offset).limit(limit)).all()
    return [Adjustment(**r._mapping) for r in rows], total


# ---- accumulated balances ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Accumulated:
    """What an account may spend now of one unit (or currency), over its own and its groups' valid buckets."""

    account_id: uuid.UUID
    unit: str
    currency: str | None
    remaining: Decimal
    reserved: Decimal
    used: Decimal
    bucket_ids: tuple[uuid.UUID, ...]

    @property
    def id(self) -> str:
        return f"{self.account_id}-{units_code(self.unit, self.currency)}"


ACCUMULATED_FILTERS = ("partyAccount.id", "usageType")


def _accumulated(uow: UnitOfWork, conditions: list) -> sa.Select:
    b, m, now = balance_bucket, balance_group_member, uow.now()
    owners = sa.union_all(
        sa.select(b.c.id.label("bucket_id"), b.c.account_id.label("owner")).where(b.c.account_id.is_not(None)),
        sa.select(b.c.id, m.c.account_id).join(m, m.c.group_id == b.c.group_id),
    ).subquery()
    return (sa.select(owners.c.owner, b.c.unit, b.c.currency,
                      sa.func.sum(b.c.amount - b.c.used - b.c.reserved).label("remaining"),
                      sa.func.sum(b.c.reserved).label("reserved"), sa.func.sum(b.c.used).label("used"),
                      sa.func.array_agg(aggregate_order_by(b.c.id, b.c.id)).label("ids"))
            .join(b, b.c.id == owners.c.bucket_id)
            .where(b.c.valid_from <= now, sa.or_(b.c.valid_to.is_(None), b.c.valid_to > now),
                   *[c(owners, b) for c in conditions])
            .group_by(owners.c.owner, b.c.unit, b.c.currency))


def _acc(row) -> Accumulated:
    return Accumulated(row.owner, row.unit, row.currency, row.remaining, row.reserved, row.used, tuple(row.ids))


def list_accumulated(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
                     ) -> tuple[list[Accumulated], int]:
    conditions = []
    if "partyAccount.id" in filters:
        account_id = parse_id(filters["partyAccount.id"], "partyAccount.id")
        conditions.append(lambda o, b: o.c.owner == account_id)
    if "usageType" in filters:
        unit = unit_of(filters["usageType"])
        conditions.append(lambda o, b: b.c.unit == unit)
    stmt = _accumulated(uow, conditions).subquery()
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(stmt)).scalar_one()
    rows = uow.conn.execute(sa.select(stmt).order_by(stmt.c.owner, stmt.c.unit, stmt.c.currency)
                            .offset(offset).limit(limit)).all()
    return [_acc(r) for r in rows], total


def get_accumulated(uow: UnitOfWork, ident: str) -> Accumulated:
    """By id `<account id>-<EUR|second|byte|message>`."""
    account, _, code = ident.rpartition("-")
    try:
        account_id = uuid.UUID(account)
    except ValueError:
        raise NotFound("accumulatedBalance", ident) from None
    unit, currency = (code, None) if code in USAGE_TYPE and code != MONEY_UNIT else (MONEY_UNIT, code)
    conditions = [lambda o, b: o.c.owner == account_id, lambda o, b: b.c.unit == unit,
                  lambda o, b: b.c.currency.is_(None) if currency is None else b.c.currency == currency]
    row = uow.conn.execute(_accumulated(uow, conditions)).one_or_none()
    if row is None:
        raise NotFound("accumulatedBalance", ident)
    return _acc(row)


# ---- postpaid credit (hybrid plans) --------------------------------------------------------------------------

def postpaid_allowance(uow: UnitOfWork, account_id: uuid.UUID, currency: str, *, lock: bool = True) -> Decimal:
    """How much postpaid money the account may still consume online (`service.postpaid_allowances`, which the
    online charging server's batches use): 0 for an account without a credit limit; a currency other than the
    account's is refused."""
    account = party.get_billing_account(uow, account_id, field="account_id")
    if currency != account.currency:
        raise InvalidValue("currency", currency, f"is not the currency of billingAccount {account_id} "
                                                 f"({account.currency})")
    return postpaid_allowances(uow, {account_id: account}, lock=lock).get(account_id, Decimal(0))


# ---- rollover ------------------------------------------------------------------------------------------------

def roll_over(uow: UnitOfWork, at: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Carry the unspent rest of every rollover bucket that expired by `at` into a new bucket of the same owner,
    unit and priority, valid for as long again from the old end (no second rollover). Once per bucket (safe to run
    twice); buckets with reservations still open are left for the next run. Returns (expired, new) bucket ids."""
    b, ro = balance_bucket, balance_rollover
    rows = uow.conn.execute(
        sa.select(b).where(b.c.rollover, b.c.valid_to <= at, b.c.reserved == 0,
                           b.c.id.not_in(sa.select(ro.c.from_bucket_id)))
        .order_by(b.c.id).with_for_update(skip_locked=True)).all()
    done = []
    for row in rows:
        rest = row.amount - row.used
        if rest <= 0:
            continue
        new = add_bucket(uow, NewBucket(row.unit, rest, row.valid_to, row.valid_to + (row.valid_to - row.valid_from),
                                        account_id=row.account_id, group_id=row.group_id, currency=row.currency,
                                        priority=row.priority, rollover=False))
        uow.conn.execute(ro.insert().values(from_bucket_id=row.id, to_bucket_id=new, rolled_at=uow.now()))
        audit.record(uow, "bucket.rolledOver", "bucket", row.id, after={"to": new, "amount": rest, "unit": row.unit})
        done.append((row.id, new))
    return done

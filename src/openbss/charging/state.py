"""The balances and reservations a batch of credit-control requests works on, in memory (pure: no I/O).

The OCS loads, in a few statements, every bucket and reservation a batch of requests can touch (locked FOR UPDATE
for the transaction), answers each request against this `ChargingState`, and writes back only what changed, one
statement per kind of row (charging/service.py `load_state`, `save_state`). A request that fails is undone with
`savepoint()`, as a database savepoint would, so its neighbours in the batch keep their effects.

`reserve` and `settle` are the rules of issue #7 part 2: holds first in unit buckets of the usage's unit, then in
money buckets; a commit spends units from the unit holds, prices the rest, spends that money from the money holds
and gives back what is left; nothing is ever spent beyond what was held (used + reserved <= amount per bucket).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from openbss.charging.model import MONEY_UNIT, BalanceBucket, most_affordable, plan_holds, spend_holds

Hold = tuple[uuid.UUID, Decimal]  # (bucket id, amount held), in spending order


class Unpriced(Exception):
    """The cost function cannot price this usage (no usage price, no rate for the destination)."""


@dataclass(frozen=True)
class Reservation:
    """One (session, rating group)'s grant: `granted` units are held by `holds` until the network reports."""

    id: uuid.UUID
    session_id: str
    rating_group: int
    account_id: uuid.UUID
    product_id: uuid.UUID
    service_id: str
    usage_type: str
    destination: str | None
    currency: str
    rated_at: datetime  # the tariff moment of the open grant
    granted: Decimal
    used: Decimal  # units committed over the session
    status: str  # active, closed, expired
    expires_at: datetime
    created_at: datetime
    holds: tuple[Hold, ...] = ()
    postpaid: Decimal = Decimal(0)  # money held against the account's credit limit (hybrid plans)


@dataclass(frozen=True)
class Spent:
    """What one commit spent: units, the money debited, and the cost of units beyond what was held."""

    units: Decimal
    unit_spent: tuple[Hold, ...]
    money: Decimal  # from prepaid money buckets
    postpaid: Decimal  # on the account's credit, to be invoiced
    uncovered: Decimal


class ChargingState:
    """Buckets by id, which of them each account may spend (its own and its groups'), reservations by
    (session id, rating group), and the postpaid credit left to accounts with a credit limit (hybrid plans);
    changes are tracked for `save_state`, and undone by a failed `savepoint()`."""

    def __init__(self, buckets: dict[uuid.UUID, BalanceBucket], usable: dict[uuid.UUID, list[uuid.UUID]],
                 reservations: dict[tuple[str, int], Reservation],
                 credit: dict[uuid.UUID, Decimal] | None = None) -> None:
        self.buckets, self.usable, self.reservations = buckets, usable, reservations
        self.credit = credit or {}
        self._credit_changed: set[uuid.UUID] = set()
        self.loaded = dict(buckets)  # the buckets as loaded, to tell what the batch changed
        # what the reservations held when loaded: only those rows need deleting when they change
        self.loaded_holds = {r.id: bool(r.holds) for r in reservations.values()}
        self.loaded_postpaid = {r.id: bool(r.postpaid) for r in reservations.values()}
        self.charged: list = []  # what the batch's commits charged, to be stored as usage records
        self.new_reservations: set[tuple[str, int]] = set()
        self.changed_reservations: set[tuple[str, int]] = set()
        self.changed_buckets: set[uuid.UUID] = set()
        self._undo: list[Callable[[], None]] | None = None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo every change made inside the block when it raises (and re-raise)."""
        outer, self._undo = self._undo, []
        try:
            yield
        except BaseException:
            for step in reversed(self._undo):
                step()
            self._undo = outer
            raise
        if outer is not None:
            outer.extend(self._undo)
        self._undo = outer

    def _remember(self, store: dict, key, changed: set, new: set | None = None) -> None:
        if self._undo is None:
            return
        had, old = key in store, store.get(key)
        was_changed, was_new = key in changed, new is not None and key in new

        def undo() -> None:
            if had:
                store[key] = old
            else:
                store.pop(key, None)
            if not was_changed:
                changed.discard(key)
            if new is not None and not was_new:
                new.discard(key)

        self._undo.append(undo)

    def _set_bucket(self, bucket: BalanceBucket) -> None:
        self._remember(self.buckets, bucket.id, self.changed_buckets)
        self.buckets[bucket.id] = bucket
        self.changed_buckets.add(bucket.id)

    def _add_credit(self, account_id: uuid.UUID, amount: Decimal) -> None:
        self._remember(self.credit, account_id, self._credit_changed)
        self.credit[account_id] = self.credit.get(account_id, Decimal(0)) + amount

    def put_reservation(self, res: Reservation, *, new: bool = False) -> None:
        key = (res.session_id, res.rating_group)
        self._remember(self.reservations, key, self.changed_reservations, self.new_reservations)
        self.reservations[key] = res
        (self.new_reservations if new else self.changed_reservations).add(key)

    def record_charged(self, item: object) -> None:
        self.charged.append(item)
        if self._undo is not None:
            self._undo.append(self.charged.pop)

    # ---- reads ------------------------------------------------------------------------------------------------

    def reservation(self, session_id: str, rating_group: int) -> Reservation | None:
        return self.reservations.get((session_id, rating_group))

    def session(self, session_id: str) -> list[Reservation]:
        """The session's reservations, the first made first."""
        return sorted((r for (s, _), r in self.reservations.items() if s == session_id),
                      key=lambda r: (r.created_at, r.rating_group))

    def spendable(self, account_id: uuid.UUID, units: Sequence[str], currency: str,
                  at: datetime) -> list[BalanceBucket]:
        """The account's and its groups' buckets of these units (money only in `currency`) valid at `at`."""
        out = []
        for bucket_id in self.usable.get(account_id, ()):
            b = self.buckets[bucket_id]
            if b.unit in units and (b.currency is None or b.currency == currency) and b.valid_at(at):
                out.append(b)
        return out

    # ---- rules ------------------------------------------------------------------------------------------------

    def hold(self, account_id: uuid.UUID, unit: str, currency: str, wanted: int, at: datetime,
             cost: Callable[[int], Decimal]) -> tuple[int, list[Hold], Decimal]:
        """Hold up to `wanted` units: unit buckets first, then money for the rest at `cost(units)`: prepaid money
        first, then the account's postpaid credit. Returns the units granted, the bucket holds made (already
        counted as reserved in their buckets) and the postpaid money held (already taken from the credit).
        Raises Unpriced when the money part cannot be priced and no unit bucket covers anything."""
        buckets = self.spendable(account_id, (unit, MONEY_UNIT), currency, at)
        unit_holds = plan_holds([b for b in buckets if b.unit == unit], Decimal(wanted), at)
        covered = int(sum((h for _, h in unit_holds), Decimal(0)))
        rest, affordable, money_holds, postpaid = wanted - covered, 0, [], Decimal(0)
        if rest > 0:
            money = [b for b in buckets if b.unit == MONEY_UNIT]
            budget = sum((b.free for b in money), Decimal(0)) + self.credit.get(account_id, Decimal(0))
            try:
                affordable = most_affordable(rest, cost, budget)
            except Unpriced:
                if covered == 0:
                    raise
            if affordable:
                price = cost(affordable)
                money_holds = plan_holds(money, price, at)
                postpaid = price - sum((h for _, h in money_holds), Decimal(0))
        holds = [*unit_holds, *money_holds]
        for bucket_id, held in holds:
            b = self.buckets[bucket_id]
            self._set_bucket(replace(b, reserved=b.reserved + held))
        if postpaid:
            self._add_credit(account_id, -postpaid)
        return covered + affordable, holds, postpaid

    def settle(self, res: Reservation, used: Decimal, cost: Callable[[Decimal], Decimal]) -> Spent:
        """Spend `used` units from the reservation's holds (units first, then the money the rest cost: prepaid,
        then its postpaid hold) and give back what is left; the reservation is left without holds (the caller
        records the new grant state)."""
        unit_holds = [(i, h) for i, h in res.holds if self.buckets[i].unit != MONEY_UNIT]
        money_holds = [(i, h) for i, h in res.holds if self.buckets[i].unit == MONEY_UNIT]
        unit_spent = spend_holds(unit_holds, used)
        rest = used - sum((s for _, s in unit_spent), Decimal(0))
        price = cost(rest) if rest > 0 else Decimal(0)
        money_spent = spend_holds(money_holds, price)
        spent = dict(unit_spent + money_spent)
        for bucket_id, held in res.holds:
            b = self.buckets[bucket_id]
            self._set_bucket(replace(b, used=b.used + spent.get(bucket_id, Decimal(0)), reserved=b.reserved - held))
        debited = sum((s for _, s in money_spent), Decimal(0))
        postpaid = min(price - debited, res.postpaid)
        if res.postpaid:  # the hold goes back to the credit; what it paid counts as unbilled usage from now on
            self._add_credit(res.account_id, res.postpaid - postpaid)
        return Spent(used, tuple(unit_spent), debited, postpaid, price - debited - postpaid)

"""Unit of work: one use case = one transaction, with the clock, the acting principal and after-commit hooks.

Service functions take a UnitOfWork as their first argument and never commit themselves; the caller
(router, CLI, job) opens the unit of work, and it commits on success or rolls back on any error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from openbss.core.clock import Clock, SystemClock
from openbss.core.events import ResourceEvent
from openbss.core.money import DEFAULT_ROUNDING

# Run inside every unit of work's transaction just before it commits, e.g. the events sink that writes
# emitted events to the outbox. Registered once per process by the entry points (app, CLI, tests).
_before_commit: list[Callable[[UnitOfWork], None]] = []


def on_before_commit(hook: Callable[[UnitOfWork], None]) -> None:
    """Register `hook(uow)` to run in the transaction of every unit of work before it commits (idempotent)."""
    if hook not in _before_commit:
        _before_commit.append(hook)


@dataclass
class UnitOfWork:
    conn: sa.Connection
    clock: Clock
    actor: str
    rounding: str = DEFAULT_ROUNDING
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _events: list[ResourceEvent] = field(default_factory=list)

    def now(self) -> datetime:
        return self.clock.now()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` only once the transaction has committed (mail, webhooks: never for a rolled-back change)."""
        self._after_commit.append(fn)

    def emit(self, event: ResourceEvent) -> None:
        """Record a domain event: it is written to the outbox in this transaction, so it exists only if this commits."""
        self._events.append(event)

    def take_events(self) -> list[ResourceEvent]:
        """Hand the events emitted so far to the sink (and forget them: each is written once)."""
        events, self._events = self._events, []
        return events

    def advisory_lock(self, namespace: str, key: object) -> None:
        """Serialize work on one key (an account, a number series) until this transaction ends."""
        self.conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{namespace}:{key}"}
        )

    def try_advisory_lock(self, namespace: str, key: object) -> bool:
        """Take the lock `advisory_lock` takes if nobody holds it, without waiting; False when another
        transaction does (a periodic job that another worker is already running this tick)."""
        return self.conn.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{namespace}:{key}"}
        ).scalar_one()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: when the block raises, its writes are undone and so are the events it emitted,
        which would otherwise announce changes that never happened."""
        mark = len(self._events)
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            del self._events[mark:]
            raise


@contextmanager
def unit_of_work(
    engine: sa.Engine, *, actor: str = "system", clock: Clock | None = None, rounding: str = DEFAULT_ROUNDING
) -> Iterator[UnitOfWork]:
    with engine.connect() as conn:
        uow = UnitOfWork(conn, clock or SystemClock(), actor, rounding)
        with conn.begin():
            yield uow
            for hook in _before_commit:
                hook(uow)
            if uow._events:
                # Committing would lose them silently: listeners would never hear of this change.
                kinds = ", ".join(sorted({e.event_type for e in uow._events}))
                raise RuntimeError(f"{len(uow._events)} event(s) emitted ({kinds}) but no event sink is installed; "
                                   "entry points call openbss.api.events.install(settings)")
        for fn in uow._after_commit:
            fn()

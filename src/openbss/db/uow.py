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
from openbss.core.money import DEFAULT_ROUNDING


@dataclass
class UnitOfWork:
    conn: sa.Connection
    clock: Clock
    actor: str
    rounding: str = DEFAULT_ROUNDING
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def now(self) -> datetime:
        return self.clock.now()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` only once the transaction has committed (mail, webhooks: never for a rolled-back change)."""
        self._after_commit.append(fn)

    def advisory_lock(self, namespace: str, key: object) -> None:
        """Serialize work on one key (an account, a number series) until this transaction ends."""
        self.conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{namespace}:{key}"}
        )


@contextmanager
def unit_of_work(
    engine: sa.Engine, *, actor: str = "system", clock: Clock | None = None, rounding: str = DEFAULT_ROUNDING
) -> Iterator[UnitOfWork]:
    with engine.connect() as conn:
        uow = UnitOfWork(conn, clock or SystemClock(), actor, rounding)
        with conn.begin():
            yield uow
        for fn in uow._after_commit:
            fn()

"""The bill run's background jobs on the "billrun" queue (db/queue.py), registered on the queue's app by
importing this module: a worker process imports it, sets its context with `use`, and runs the queue.

Each job is safe to run twice (billing/billrun.py): drafting finds the invoices already drafted, issuing skips
the invoices already issued.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from procrastinate import RetryStrategy

from openbss.billing import billrun
from openbss.core.clock import Clock
from openbss.db.queue import app

# Set once per process by whoever runs the worker (`use`); the offerings cache lives as long as the process.
_context: dict[str, Any] = {}
# A database error in an issue batch (a lost connection...) is retried; drafting reports per account instead.
_RETRY = RetryStrategy(max_attempts=5, wait=1)


def use(engine: sa.Engine, *, clock: Clock, rounding: str, after_job: Callable[[], None] | None = None) -> None:
    """What this process's jobs run with; `after_job()` is called after each job (progress)."""
    _context.update(engine=engine, clock=clock, rounding=rounding, after_job=after_job, offerings={})


def _done() -> None:
    if _context.get("after_job") is not None:
        _context["after_job"]()


@app.task(name=billrun.DRAFT_TASK, queue=billrun.QUEUE, retry=_RETRY)
def draft_batch(run_id: str, period: str, account_ids: list[str]) -> None:
    c = _context
    billrun.draft_batch(c["engine"], uuid.UUID(run_id), period, [uuid.UUID(a) for a in account_ids],
                        clock=c["clock"], rounding=c["rounding"], offerings=c["offerings"])
    _done()


@app.task(name=billrun.ISSUE_TASK, queue=billrun.QUEUE, retry=_RETRY)
def issue_batch(run_id: str, invoice_ids: list[str]) -> None:
    c = _context
    billrun.issue_batch(c["engine"], uuid.UUID(run_id), [uuid.UUID(i) for i in invoice_ids], clock=c["clock"],
                        rounding=c["rounding"])
    _done()

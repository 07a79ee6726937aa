"""Periodic jobs run by `openbss worker`: a table of (name, interval, function), one unit of work per run.

Every worker keeps its own timetable, so with several workers a job falls due in each of them. A run first
takes a transaction-scoped advisory lock named after the job without waiting (`pg_try_advisory_xact_lock`):
the worker that gets it runs the job, any other whose tick comes while it runs skips that tick. Jobs must
therefore be safe to run again soon after (they do what is due at `at`, and what is done is no longer due):
two workers whose ticks do not overlap both run the job, which then finds nothing left the second time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from openbss.core.clock import Clock
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.dunning import jobs as dunning
from openbss.ledger import recognition
from openbss.ordering import service as ordering
from openbss.payments import service as payments

log = logging.getLogger("openbss.jobs")
LOCK_NAMESPACE = "job"


@dataclass(frozen=True)
class Job:
    name: str  # also the advisory lock's key: one run of a job at a time across all workers
    interval: timedelta
    run: Callable[[UnitOfWork, datetime], Mapping[str, int]]  # (uow, at) -> counts of what it did


SCHEDULE: tuple[Job, ...] = (
    # Future-dated orders, trial conversions, term renewals, end-of-term terminations.
    Job("ordering.run_due", timedelta(minutes=1), ordering.run_due),
    # Collections: daily work, looked at hourly so a step is taken early on its day (once per case: a run that
    # finds it taken does nothing), and the reminder e-mails those runs queue.
    Job("dunning.run", timedelta(hours=1), dunning.scheduled_run),
    Job("dunning.send_notices", timedelta(minutes=1), dunning.scheduled_send),
    # Daily revenue recognition through yesterday; ticks hourly so a worker started late in the day still
    # recognizes a finished day within the hour (a second run the same day finds nothing to move).
    Job("ledger.recognize", timedelta(hours=1), recognition.run_daily),
    # Credit balances (over-payments) pay the invoices issued since, oldest first.
    Job("payments.apply_credit", timedelta(minutes=1), payments.apply_credit_balances),
)


def run_job(engine: sa.Engine, job: Job, *, clock: Clock) -> Mapping[str, int] | None:
    """Run `job` once at the clock's time in its own unit of work; None when another worker is running it."""
    with unit_of_work(engine, actor="scheduler", clock=clock) as uow:
        if not uow.try_advisory_lock(LOCK_NAMESPACE, job.name):
            return None
        return job.run(uow, uow.now())


class Scheduler:
    """This process's timetable: every job is due at start, then `interval` after its previous tick."""

    def __init__(self, engine: sa.Engine, *, clock: Clock, jobs: Sequence[Job] = SCHEDULE) -> None:
        self.engine, self.clock, self.jobs = engine, clock, tuple(jobs)
        self.next_at = dict.fromkeys((j.name for j in self.jobs), clock.now())

    def tick(self) -> dict[str, Mapping[str, int] | None]:
        """Run the jobs that are due; returns what each did (None: skipped, another worker had it)."""
        now, ran = self.clock.now(), {}
        for job in self.jobs:
            if self.next_at[job.name] > now:
                continue
            self.next_at[job.name] = now + job.interval
            try:
                ran[job.name] = result = run_job(self.engine, job, clock=self.clock)
            except Exception:
                # Nothing of the failed run was committed; it is tried again at its next tick, and the other
                # jobs and the event deliveries go on meanwhile.
                log.exception("job %s failed; next attempt at %s", job.name, self.next_at[job.name])
                continue
            log.info("job %s: %s", job.name, "skipped, running in another worker" if result is None else result)
        return ran

    def seconds_to_next(self) -> float:
        return max(0.0, (min(self.next_at.values()) - self.clock.now()).total_seconds())


def run(engine: sa.Engine, *, clock: Clock, stop: threading.Event, jobs: Sequence[Job] = SCHEDULE) -> None:
    """Run the jobs on their intervals until `stop` is set (the worker runs this beside the outbox relay)."""
    scheduler = Scheduler(engine, clock=clock, jobs=jobs)
    while not stop.is_set():
        scheduler.tick()
        stop.wait(scheduler.seconds_to_next())

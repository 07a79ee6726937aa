"""The bill run: every active account drafted for one period, reviewed, approved, issued (docs/billrun.md).

A run (`bill_run`) is created with one job per batch of accounts on the "billrun" queue, in the same
transaction (db/queue.py: procrastinate, transactional enqueue); workers on any machine draft the batches
(`draft_batch`: `batch.bill_accounts` in one transaction, with each account's outcome in `bill_run_account`).
`approve_run` approves the drafts after review (billing/review.py); `start_issue` queues one job per batch of
invoices (`issue_batch`: billing/issue.py); the last batch to commit marks the run issued. `discard_run`
deletes a run's drafts and gives their usage back, so the period can be drafted again after a fix.

Resumable and idempotent: a batch commits whole or not at all; an account is billed once per period (the
existing invoice is found under its advisory lock; UNIQUE(account_id, period_start) backs it); an invoice is
issued once (its row is locked and must still be unissued); a job whose worker died is retried (heartbeats,
`queue.retry_stalled`). There is one open (draft or approved) run per period: running the period again resumes
it. `drain` runs the workers of a run on this machine and reports progress read from the database.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from openbss.audit import service as audit
from openbss.billing.batch import Outcome, bill_accounts
from openbss.billing.issue import issue_invoices
from openbss.billing.lifecycle import DRAFT_STATES, ISSUED_STATES, OPEN_RUN_STATES
from openbss.billing.periods import parse_period
from openbss.billing.service import BillRunSummary
from openbss.billing.tables import bill_run, bill_run_account, invoice, invoice_line, invoice_tax
from openbss.catalog.model import ProductOffering
from openbss.core.clock import Clock, FixedClock
from openbss.core.errors import Conflict, NotFound
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.db import queue
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.mediation import service as mediation
from openbss.party import service as party

DEFAULT_BATCH = 500
QUEUE = "billrun"
DRAFT_TASK = "openbss.billing.draft_batch"
ISSUE_TASK = "openbss.billing.issue_batch"


@dataclass(frozen=True)
class BillRun:
    id: uuid.UUID
    period: str
    state: str
    accounts: int
    batch: int
    created_at: datetime
    created_by: str
    approved_at: datetime | None = None
    approved_by: str | None = None
    issue_started_at: datetime | None = None
    issued_at: datetime | None = None
    issued_by: str | None = None
    discarded_at: datetime | None = None
    discarded_by: str | None = None


def _run(row: sa.Row) -> BillRun:
    return BillRun(**row._mapping)


def get_run(uow: UnitOfWork, run_id: uuid.UUID, *, lock: str | None = None) -> BillRun:
    """The run; `lock` "share" (a batch at work) or "update" (changing its state) locks its row until commit."""
    stmt = sa.select(bill_run).where(bill_run.c.id == run_id)
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    row = uow.conn.execute(stmt).first()
    if row is None:
        raise NotFound("billRun", str(run_id))
    return _run(row)


def open_run(uow: UnitOfWork, period: str) -> BillRun | None:
    """The period's run still in draft or approved, if any."""
    row = uow.conn.execute(sa.select(bill_run).where(bill_run.c.period == period,
                                                     bill_run.c.state.in_(OPEN_RUN_STATES))).first()
    return None if row is None else _run(row)


def list_runs(uow: UnitOfWork, limit: int = 20) -> list[BillRun]:
    """The latest runs, newest first."""
    rows = uow.conn.execute(sa.select(bill_run).order_by(bill_run.c.created_at.desc(), bill_run.c.id.desc())
                            .limit(limit))
    return [_run(r) for r in rows]


def _chunks(ids: Sequence[uuid.UUID], size: int) -> list[list[str]]:
    return [[str(i) for i in ids[n:n + size]] for n in range(0, len(ids), size)]


def start_run(uow: UnitOfWork, period: str, *, batch: int = DEFAULT_BATCH) -> BillRun:
    """The period's open run, or a new one drafting every active account in jobs of `batch` accounts (queued in
    this transaction: they exist exactly when the run does)."""
    parse_period(period)
    uow.advisory_lock("billrun", period)  # two commands starting the same period make one run
    found = open_run(uow, period)
    if found is not None:
        return found
    account_ids = party.active_billing_account_ids(uow)
    run = BillRun(new_id(), period, "draft", len(account_ids), max(batch, 1), uow.now(), uow.actor)
    uow.conn.execute(sa.insert(bill_run).values(**run.__dict__))
    queue.defer(uow, DRAFT_TASK, QUEUE, [{"run_id": str(run.id), "period": period, "account_ids": chunk}
                                         for chunk in _chunks(account_ids, run.batch)])
    audit.record(uow, "billRun.created", "billRun", run.id, after={"period": period, "accounts": run.accounts})
    return run


def _record(uow: UnitOfWork, run_id: uuid.UUID, outcomes: Sequence[Outcome]) -> None:
    """Each account's outcome, replacing what an earlier attempt of the same batch recorded."""
    if not outcomes:
        return
    stmt = insert(bill_run_account)
    uow.conn.execute(stmt.on_conflict_do_update(
        index_elements=["bill_run_id", "account_id"],
        set_={"status": stmt.excluded.status, "invoice_id": stmt.excluded.invoice_id, "error": stmt.excluded.error},
    ), [{"bill_run_id": run_id, "account_id": o.account_id, "status": o.status, "error": o.error,
         "invoice_id": o.invoice.id if o.invoice else None} for o in outcomes])


def draft_batch(engine: sa.Engine, run_id: uuid.UUID, period: str, account_ids: Sequence[uuid.UUID], *,
                clock: Clock, rounding: str, offerings: dict[uuid.UUID, ProductOffering] | None = None) -> None:
    """A draft job: the accounts drafted in one transaction, or one by one when that transaction fails (so the one
    account at fault is reported and the others drafted). Nothing happens once the run is no longer a draft."""
    def draft(ids: Sequence[uuid.UUID]) -> None:
        with unit_of_work(engine, actor="billrun", clock=clock, rounding=rounding) as uow:
            if get_run(uow, run_id, lock="share").state == "draft":
                _record(uow, run_id, bill_accounts(uow, ids, period, offerings, run_id))

    try:
        draft(account_ids)
    except Exception:  # noqa: BLE001 - a database error anywhere in the batch: draft its accounts one by one
        for account_id in account_ids:
            try:
                draft([account_id])
            except Exception as e:  # noqa: BLE001 - one broken account must not stop the others; it is reported
                with unit_of_work(engine, actor="billrun", clock=clock, rounding=rounding) as uow:
                    _record(uow, run_id, [Outcome(account_id, "error", error=f"{type(e).__name__}: {e}")])


def _drafting_left(conn: sa.Connection, run_id: uuid.UUID) -> int:
    counts = queue.job_counts(conn, QUEUE, run_id=str(run_id))
    return sum(n for status, n in counts.items() if status in ("todo", "doing", "failed"))


def approve_run(uow: UnitOfWork, run_id: uuid.UUID) -> BillRun:
    """Approve a drafted run after review: its drafts become approved invoices, ready to issue."""
    run = get_run(uow, run_id, lock="update")
    if run.state != "draft":
        raise Conflict(f"bill run {run_id} is {run.state}: only a draft run can be approved")
    if _drafting_left(uow.conn, run_id):
        raise Conflict(f"bill run {run_id} is still drafting: approve it when its jobs are done")
    uow.conn.execute(sa.update(invoice).where(invoice.c.bill_run_id == run_id, invoice.c.state == "draft")
                     .values(state="approved"))
    uow.conn.execute(sa.update(bill_run).where(bill_run.c.id == run_id)
                     .values(state="approved", approved_at=uow.now(), approved_by=uow.actor))
    audit.record(uow, "billRun.approved", "billRun", run_id, before={"state": "draft"}, after={"state": "approved"})
    return get_run(uow, run_id)


def start_issue(uow: UnitOfWork, run_id: uuid.UUID) -> BillRun:
    """Queue the issuing of an approved run, one job per batch of invoices (once: asked again, it only reports)."""
    run = get_run(uow, run_id, lock="update")
    if run.state not in ("approved", "issued"):
        raise Conflict(f"bill run {run_id} is {run.state}: only an approved run can be issued")
    if run.issue_started_at is not None:
        return run
    ids = uow.conn.scalars(sa.select(invoice.c.id).where(invoice.c.bill_run_id == run_id,
                                                         invoice.c.state == "approved").order_by(invoice.c.id)).all()
    queue.defer(uow, ISSUE_TASK, QUEUE, [{"run_id": str(run_id), "invoice_ids": chunk}
                                         for chunk in _chunks(ids, run.batch)])
    uow.conn.execute(sa.update(bill_run).where(bill_run.c.id == run_id)
                     .values(issue_started_at=uow.now(), issued_by=uow.actor))
    return finish_issue(uow, run_id) if not ids else get_run(uow, run_id)


def issue_batch(engine: sa.Engine, run_id: uuid.UUID, invoice_ids: Sequence[uuid.UUID], *, clock: Clock,
                rounding: str) -> None:
    """An issue job: the batch issued in one transaction, then the run marked issued if nothing is left."""
    with unit_of_work(engine, actor="billrun", clock=clock, rounding=rounding) as uow:
        run = get_run(uow, run_id, lock="share")
        if run.state != "approved":
            return
        issue_invoices(uow, invoice_ids, approved_by=run.approved_by or uow.actor)
    # After the commit: the last batch to commit sees every other one committed, and it alone finds nothing left.
    # The count needs no lock, so the other batches do not queue behind the run's row lock for nothing.
    with unit_of_work(engine, actor="billrun", clock=clock, rounding=rounding) as uow:
        if not _unissued(uow, run_id):
            finish_issue(uow, run_id)


def _unissued(uow: UnitOfWork, run_id: uuid.UUID) -> int:
    return uow.conn.scalar(sa.select(sa.func.count()).where(invoice.c.bill_run_id == run_id,
                                                           invoice.c.state.in_(DRAFT_STATES)))


def finish_issue(uow: UnitOfWork, run_id: uuid.UUID) -> BillRun:
    """Mark an approved run issued once none of its invoices is left unissued."""
    run = get_run(uow, run_id, lock="update")
    if run.state != "approved" or run.issue_started_at is None or _unissued(uow, run_id):
        return run
    uow.conn.execute(sa.update(bill_run).where(bill_run.c.id == run_id).values(state="issued", issued_at=uow.now()))
    audit.record(uow, "billRun.issued", "billRun", run_id, before={"state": "approved"}, after={"state": "issued"})
    return get_run(uow, run_id)


def discard_run(uow: UnitOfWork, run_id: uuid.UUID) -> BillRun:
    """Delete the run's drafts (lines, VAT rows) and give their usage back; the period can be drafted again."""
    run = get_run(uow, run_id, lock="update")  # waits for the batches at work, which lock it too
    if run.state not in OPEN_RUN_STATES or run.issue_started_at is not None:
        raise Conflict(f"bill run {run_id} is {run.state}{' and issuing' if run.issue_started_at else ''}: "
                       "only a draft or approved run not yet issuing can be discarded")
    drafts = sa.select(invoice.c.id).where(invoice.c.bill_run_id == run_id, invoice.c.state.in_(DRAFT_STATES))
    ids = uow.conn.scalars(drafts).all()
    mediation.release_usage_claims(uow, ids)
    for table in (invoice_tax, invoice_line):
        uow.conn.execute(sa.delete(table).where(table.c.invoice_id.in_(drafts)))
    uow.conn.execute(sa.delete(invoice).where(invoice.c.id.in_(ids)))
    uow.conn.execute(sa.update(bill_run).where(bill_run.c.id == run_id)
                     .values(state="discarded", discarded_at=uow.now(), discarded_by=uow.actor))
    audit.record(uow, "billRun.discarded", "billRun", run_id, before={"state": run.state},
                 after={"state": "discarded", "draftsDeleted": len(ids)})
    return get_run(uow, run_id)


def progress(conn: sa.Connection, run: BillRun) -> tuple[int, int]:
    """(done, total): accounts drafted while the run drafts, invoices issued while it issues."""
    if run.issue_started_at is None:
        done = conn.scalar(sa.select(sa.func.count()).where(bill_run_account.c.bill_run_id == run.id))
        return done, run.accounts
    issued, total = conn.execute(sa.select(sa.func.count().filter(invoice.c.state.in_(ISSUED_STATES)), sa.func.count())
                                 .where(invoice.c.bill_run_id == run.id)).one()
    return issued, total


def summary(uow: UnitOfWork, run_id: uuid.UUID) -> BillRunSummary:
    """What the run did, read from the database: outcomes per account, and net, tax and gross per currency of every
    invoice it created or found."""
    run = get_run(uow, run_id)
    result = BillRunSummary(run.period, accounts=run.accounts, run_id=run.id, state=run.state)
    a = bill_run_account.c
    for status, n in uow.conn.execute(sa.select(a.status, sa.func.count()).where(a.bill_run_id == run_id)
                                      .group_by(a.status)):
        result.invoices_created += n if status == "created" else 0
        result.invoices_existing += n if status == "existing" else 0
        result.skipped += n if status == "nothing" else 0
    result.errors = [(r.account_id, r.error) for r in uow.conn.execute(
        sa.select(a.account_id, a.error).where(a.bill_run_id == run_id, a.status == "error").order_by(a.account_id))]
    i = invoice.c
    totals = uow.conn.execute(
        sa.select(i.currency, sa.func.sum(i.net_total), sa.func.sum(i.tax_total), sa.func.sum(i.gross_total))
        .join_from(bill_run_account, invoice, a.invoice_id == i.id).where(a.bill_run_id == run_id)
        .group_by(i.currency))
    for currency, net, tax, gross in totals:
        result.net[currency], result.tax[currency] = Money(net, currency), Money(tax, currency)
        result.gross[currency] = Money(gross, currency)
    return result


# ---- draining a run's jobs on this machine ---------------------------------------------------------------------

def _jobs_left(engine: sa.Engine, run: BillRun) -> tuple[int, int]:
    """The run's jobs (todo, doing)."""
    with engine.connect() as conn:
        counts = queue.job_counts(conn, QUEUE, run_id=str(run.id))
    return counts.get("todo", 0), counts.get("doing", 0)


def _phase_left(engine: sa.Engine, run: BillRun) -> int:
    return sum(_jobs_left(engine, run))


def _worker_command(clock: Clock, rounding: str) -> list[str]:
    """A worker process: the `openbss` command itself, which sets a process up (the events sink) before any job;
    it works the queue until stopped, so one process serves every phase of a command (drafting, then issuing)."""
    command = [sys.executable, "-m", "openbss.cli", "billrun", "work", "--rounding", rounding, "--wait"]
    if isinstance(clock, FixedClock):  # a back-dated run (tests, benchmarks): the workers share its instant
        command += ["--at", clock.now().isoformat()]
    return command


class WorkerProcesses:
    """`count` worker processes on this machine for as long as a command runs: started once (a process costs
    seconds to start, so the drafting and issuing phases share them), started again when one dies, stopped at the
    end. `tend` also puts the jobs of dead workers back in the queue (`queue.retry_stalled`), once a second."""

    def __init__(self, engine: sa.Engine, *, clock: Clock, rounding: str, count: int) -> None:
        self.count, self.command = count, _worker_command(clock, rounding)
        self.env = {**os.environ, "OPENBSS_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
        self.engine, self.running, self.last_retry = engine, [], 0.0

    def __enter__(self) -> WorkerProcesses:
        return self

    def tend(self) -> None:
        self.running = [p for p in self.running if p.poll() is None]
        while len(self.running) < self.count:
            self.running.append(subprocess.Popen(self.command, env=self.env, stdout=subprocess.DEVNULL))
        if time.monotonic() - self.last_retry >= 1:
            queue.retry_stalled(self.engine, [QUEUE])
            self.last_retry = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        for p in self.running:
            p.terminate()
        for p in self.running:
            p.wait()


def drain(engine: sa.Engine, run_id: uuid.UUID, *, clock: Clock, rounding: str, workers: int = 1,
          on_progress: Callable[[int, int], None] | None = None, processes: WorkerProcesses | None = None) -> None:
    """Work the run's queued jobs until none is left: in this process (`workers` 1), in `processes` already
    running, or in `workers` worker processes started for the purpose; jobs of workers that died are retried.
    `on_progress(done, total)` as the database shows it."""
    def report() -> None:
        if on_progress is not None:
            with engine.connect() as conn:
                on_progress(*progress(conn, get_run(UnitOfWork(conn, clock, "billrun"), run_id)))

    with unit_of_work(engine, clock=clock) as uow:
        run = get_run(uow, run_id)
    if processes is None and workers <= 1:
        from openbss.billing import jobs  # the tasks, registered on the queue's app

        jobs.use(engine, clock=clock, rounding=rounding, after_job=report)
        while _phase_left(engine, run):
            queue.retry_stalled(engine, [QUEUE])
            queue.run_worker(engine, [QUEUE], wait=False)
            if _phase_left(engine, run):
                time.sleep(0.5)  # a job still held by a dead worker: wait for its heartbeat to lapse
        report()
        return
    with contextlib.nullcontext(processes) if processes is not None else \
            WorkerProcesses(engine, clock=clock, rounding=rounding, count=workers) as pool:
        while _phase_left(engine, run):
            pool.tend()
            report()
            time.sleep(0.2)
    report()


def run_bill_run(
    engine: sa.Engine, period: str, *, clock: Clock, rounding: str,
    on_progress: Callable[[int, int], None] | None = None, workers: int = 1, batch: int = DEFAULT_BATCH,
    issue: bool = True, actor: str = "billrun",
) -> BillRunSummary:
    """Draft every active account for `period` (or resume the period's open run) with `workers` workers, and with
    `issue` approve the run as `actor` and issue it; the run's summary. `on_progress(done, total)` counts accounts
    while drafting and invoices while issuing."""
    with unit_of_work(engine, actor=actor, clock=clock, rounding=rounding) as uow:
        run = start_run(uow, period, batch=batch)
    with contextlib.ExitStack() as stack:
        processes = None if workers <= 1 else stack.enter_context(
            WorkerProcesses(engine, clock=clock, rounding=rounding, count=workers))
        drain(engine, run.id, clock=clock, rounding=rounding, on_progress=on_progress, processes=processes)
        if issue:
            with unit_of_work(engine, actor=actor, clock=clock, rounding=rounding) as uow:
                if get_run(uow, run.id).state == "draft":
                    approve_run(uow, run.id)
                start_issue(uow, run.id)
            drain(engine, run.id, clock=clock, rounding=rounding, on_progress=on_progress, processes=processes)
            with unit_of_work(engine, actor=actor, clock=clock, rounding=rounding) as uow:
                finish_issue(uow, run.id)
    with unit_of_work(engine, actor=actor, clock=clock, rounding=rounding) as uow:
        return summary(uow, run.id)

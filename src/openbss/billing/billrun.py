"""The bill run: every active account billed for one period, in batches, by one or more worker processes.

The active accounts (in id order) are cut into batches of `batch` accounts; each batch is billed in one
transaction by `batch.bill_accounts`. With `workers` > 1, batches go to that many processes (multiprocessing,
"spawn" context: each process imports afresh, opens its own engine and runs `worker_setup`, e.g. installing
the events sink, before its first batch); results come back per batch, and progress advances per account.

Resumable by construction: a batch commits all its invoices or none, and an account is billed once per
period (the existing invoice is found; UNIQUE(account_id, period_start) backs it). A killed worker (or a
killed run) loses only its uncommitted batch, and running the period again bills exactly what is missing;
invoice and journal numbers stay gapless because a block is taken inside the batch's transaction.

When a batch fails on a database error, its accounts are billed again one transaction each (`service._bill`),
so the one account at fault is reported and the others are billed.

Later, with the job queue (procrastinate): one job per batch (period, account ids), enqueued by the run in
one transaction; workers on any machine take them, and a job that dies is retried; the run's summary is read
from the invoices of the period.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import sqlalchemy as sa

from openbss.billing.batch import Outcome, bill_accounts
from openbss.billing.periods import parse_period
from openbss.billing.service import BillRunSummary, _bill
from openbss.catalog.model import ProductOffering
from openbss.core.clock import Clock
from openbss.core.errors import DomainError
from openbss.db.uow import unit_of_work
from openbss.party import service as party

DEFAULT_BATCH = 500


def _one_by_one(engine: sa.Engine, account_ids: list[uuid.UUID], period: str, clock: Clock,
                rounding: str) -> list[Outcome]:
    """Each account in its own transaction, as the batch would have billed it (the fallback for a failed batch)."""
    outcomes = []
    for account_id in account_ids:
        try:
            with unit_of_work(engine, actor="billrun", clock=clock, rounding=rounding) as uow:
                status, inv = _bill(uow, account_id, period)
        except DomainError as e:
            outcomes.append(Outcome(account_id, "error", error=e.message))
        except Exception as e:  # noqa: BLE001 - one broken account must not stop the others; it is reported
            outcomes.append(Outcome(account_id, "error", error=f"{type(e).__name__}: {e}"))
        else:
            outcomes.append(Outcome(account_id, status, inv))
    return outcomes


def bill_batch(engine: sa.Engine, account_ids: list[uuid.UUID], period: str, clock: Clock, rounding: str,
               offerings: dict[uuid.UUID, ProductOffering] | None = None) -> list[Outcome]:
    """One batch in one transaction, or account by account when the batch's transaction fails."""
    try:
        with unit_of_work(engine, actor="billrun", clock=clock, rounding=rounding) as uow:
            return bill_accounts(uow, account_ids, period, offerings)
    except Exception:  # noqa: BLE001 - a database error anywhere in the batch: bill its accounts one by one
        return _one_by_one(engine, account_ids, period, clock, rounding)


# ---- worker processes ------------------------------------------------------------------------------------------

_worker: dict = {}


def _start_worker(url: str, clock: Clock, rounding: str, setup: Callable[[], None] | None) -> None:
    if setup is not None:
        setup()
    _worker.update(engine=sa.create_engine(url, pool_size=1), clock=clock, rounding=rounding, offerings={})


def _work(job: tuple[list[uuid.UUID], str]) -> list[Outcome]:
    account_ids, period = job
    outcomes = bill_batch(_worker["engine"], account_ids, period, _worker["clock"], _worker["rounding"],
                          _worker["offerings"])
    # The summary needs the totals only: leave the lines behind rather than pickle them back.
    return [replace(o, invoice=replace(o.invoice, lines=())) if o.invoice else o for o in outcomes]


def _batches(account_ids: list[uuid.UUID], size: int) -> list[list[uuid.UUID]]:
    return [account_ids[i:i + size] for i in range(0, len(account_ids), size)]


def _results(engine: sa.Engine, period: str, batches: list[list[uuid.UUID]], clock: Clock, rounding: str,
             workers: int, worker_setup: Callable[[], None] | None) -> Iterator[list[Outcome]]:
    if min(workers, len(batches)) <= 1:  # one batch gains nothing from starting a process
        offerings: dict[uuid.UUID, ProductOffering] = {}
        for account_ids in batches:
            yield bill_batch(engine, account_ids, period, clock, rounding, offerings)
        return
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(url, clock, rounding, worker_setup)) as pool:
        yield from pool.imap_unordered(_work, [(b, period) for b in batches])


def run_bill_run(
    engine: sa.Engine, period: str, *, clock: Clock, rounding: str,
    on_progress: Callable[[int, int], None] | None = None, workers: int = 1, batch: int = DEFAULT_BATCH,
    worker_setup: Callable[[], None] | None = None,
) -> BillRunSummary:
    """Bill every active account for `period` in batches of `batch` accounts over `workers` processes;
    `on_progress(done, total)` after each account (reported when its batch is done)."""
    parse_period(period)
    with unit_of_work(engine, actor="billrun", clock=clock, rounding=rounding) as uow:
        account_ids = party.active_billing_account_ids(uow)
    summary = BillRunSummary(period, accounts=len(account_ids))
    done = 0
    for outcomes in _results(engine, period, _batches(account_ids, max(batch, 1)), clock, rounding, workers,
                             worker_setup):
        for o in outcomes:
            if o.status == "error":
                summary.errors.append((o.account_id, o.error))
            elif o.invoice is None:
                summary.skipped += 1
            else:
                summary.invoices_created += o.status == "created"
                summary.invoices_existing += o.status == "existing"
                summary.add(o.invoice)
            done += 1
            if on_progress is not None:
                on_progress(done, len(account_ids))
    return summary

"""`openbss billrun`: draft, review, approve, issue or discard the bill run of a period (docs/billrun.md).

    openbss billrun --period YYYY-MM [--workers N] [--batch 500] [--issue]   draft (and with --issue, issue)
    openbss billrun review RUN_ID | --period P [--largest 10]
    openbss billrun approve RUN_ID
    openbss billrun issue RUN_ID [--workers N]
    openbss billrun discard RUN_ID
    openbss billrun list

Drafting and issuing run as jobs on the "billrun" queue, worked by N local worker processes the command starts
(and by any `openbss worker`). Safe to interrupt and run again: the period's open run is resumed.

Exit codes: 0 done, 1 at least one account failed (each is listed; the others are drafted) or the run cannot
take that step (e.g. approving a run that is not a draft), 2 bad input (a period that is not YYYY-MM).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from openbss.billing import billrun as runs
from openbss.billing.billrun import DEFAULT_BATCH
from openbss.billing.periods import parse_period
from openbss.billing.review import review as review_run
from openbss.billing.service import BillRunSummary
from openbss.core.clock import Clock, FixedClock, SystemClock
from openbss.core.errors import DomainError, InvalidValue
from openbss.core.ids import parse_id
from openbss.core.money import Money
from openbss.db.uow import unit_of_work
from openbss.terminal import figures

console = Console()
billrun_app = typer.Typer(help="Bill runs: draft a period, review, approve, issue (or discard).")


def _totals(amounts: dict[str, Money]) -> str:
    return ", ".join(str(amounts[c]) for c in sorted(amounts)) or "0"


def _print(summary: BillRunSummary, console: Console) -> None:
    console.print(figures(f"bill run {summary.period}", [
        ("run", str(summary.run_id)),
        ("state", summary.state or ""),
        ("accounts", summary.accounts),
        ("invoices created", summary.invoices_created),
        ("invoices already there", summary.invoices_existing),
        ("skipped (nothing to bill)", summary.skipped),
        ("errors", len(summary.errors)),
        ("net", _totals(summary.net)),
        ("tax", _totals(summary.tax)),
        ("gross", _totals(summary.gross)),
    ]))
    for account_id, message in summary.errors:
        console.print(f"[red]account {account_id}[/]: {message}")


def run_with_progress(
    engine: sa.Engine, period: str, *, clock: Clock, rounding: str, console: Console = console, issue: bool = True,
    **options,
) -> BillRunSummary:
    """The period's bill run (`billrun.run_bill_run`: `workers`, `batch` options) with a progress bar read from
    the database, then its summary table; drafts only unless `issue`."""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"drafting {period}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = runs.run_bill_run(engine, period, clock=clock, rounding=rounding, on_progress=advance,
                                    issue=issue, actor="cli", **options)
    _print(summary, console)
    return summary


def _engine() -> sa.Engine:
    from openbss.db.engine import migrated_engine

    return migrated_engine()


def _run_id(value: str) -> uuid.UUID:
    try:
        return parse_id(value, "RUN_ID")
    except InvalidValue as e:
        raise typer.BadParameter(e.message, param_hint="RUN_ID") from None


@contextmanager
def _domain_errors() -> Iterator[None]:
    """A step the run cannot take (not a draft, unknown id) ends the command with its message, exit code 1."""
    try:
        yield
    except DomainError as e:
        console.print(f"[red]error[/]: {e.message}")
        raise typer.Exit(1) from None


def _rounding() -> str:
    from openbss.config import load_settings

    return load_settings().rounding


@billrun_app.callback(invoke_without_command=True)
def billrun(
    ctx: typer.Context,
    period: str = typer.Option(None, "--period", help="bill cycle period as YYYY-MM: the period that starts "
                               "in that month on each account's bill-cycle day"),
    workers: int = typer.Option(1, "--workers", min=1, help="worker processes drafting (and issuing) in parallel"),
    batch: int = typer.Option(DEFAULT_BATCH, "--batch", min=1, help="accounts (invoices) per job and transaction"),
    issue: bool = typer.Option(False, "--issue", help="approve and issue at once, without a review step"),
) -> None:
    """Draft every active account's invoice for a closed period (resuming the period's open run), then review,
    approve and issue it; with --issue, approve and issue in the same command."""
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        raise typer.BadParameter("give --period YYYY-MM, or a command (list, review, approve, issue, discard)",
                                 param_hint="--period")
    try:
        parse_period(period, "--period")
    except InvalidValue as e:
        raise typer.BadParameter(e.message, param_hint="--period") from None
    summary = run_with_progress(_engine(), period, clock=SystemClock(), rounding=_rounding(), issue=issue,
                                workers=workers, batch=batch)
    if summary.state == "draft":
        console.print(f"drafted: review with [bold]openbss billrun review {summary.run_id}[/], then "
                      f"[bold]openbss billrun approve {summary.run_id}[/] and [bold]openbss billrun issue "
                      f"{summary.run_id}[/] (or discard it)", highlight=False, soft_wrap=True)
    if summary.errors:
        raise typer.Exit(1)


@billrun_app.command("list")
def list_command(limit: int = typer.Option(20, min=1, help="how many runs, newest first")) -> None:
    """The latest bill runs: period, state, accounts, who approved and issued them."""
    with unit_of_work(_engine(), actor="cli") as uow:
        found = runs.list_runs(uow, limit)
    table = Table(title="bill runs")
    for column in ("run", "period", "state", "accounts", "created", "approved by", "issued", "issued by"):
        table.add_column(column)
    when = lambda t: "" if t is None else f"{t:%Y-%m-%d %H:%M}"  # noqa: E731
    for r in found:
        table.add_row(str(r.id), r.period, r.state, f"{r.accounts:,}", when(r.created_at), r.approved_by or "",
                      when(r.issued_at), r.issued_by or "")
    console.print(table)


@billrun_app.command("review")
def review_command(
    run_id: str = typer.Argument(None, help="the run's id (or give --period)"),
    period: str = typer.Option(None, "--period", help="the period's open run"),
    largest: int = typer.Option(10, "--largest", min=1, help="how many of the largest changes to list"),
) -> None:
    """Totals per currency, accounts with errors and the largest changes against each account's last invoice."""
    with _domain_errors(), unit_of_work(_engine(), actor="cli") as uow:
        run = _find(uow, run_id, period)
        found = review_run(uow, run.id, largest)
    console.print(f"bill run {run.id}: period {run.period}, {run.state}", highlight=False)
    totals = Table(title="totals")
    for column in ("currency", "invoices", "net", "tax", "gross"):
        totals.add_column(column, justify="left" if column == "currency" else "right")
    for t in found.totals:
        totals.add_row(t.currency, f"{t.invoices:,}", str(t.net), str(t.tax), str(t.gross))
    console.print(totals)
    if found.errors:
        errors = Table(title=f"accounts with errors ({len(found.errors)})")
        errors.add_column("account")
        errors.add_column("error")
        for number, message in found.errors:
            errors.add_row(number, message)
        console.print(errors)
    changes = Table(title=f"largest changes against the previous invoice (top {largest})")
    for column in ("account", "previous invoice", "gross then", "gross now", "change", "change %"):
        changes.add_column(column, justify="left" if column in ("account", "previous invoice") else "right")
    for c in found.changes:
        changes.add_row(c.account_number, c.previous_number, str(c.previous), str(c.now), str(c.change),
                        "" if c.percent is None else f"{c.percent:+}%")
    console.print(changes)
    if found.without_previous:
        console.print(f"{found.without_previous:,} invoice(s) of accounts without an earlier invoice", highlight=False)


def _find(uow, run_id: str | None, period: str | None) -> runs.BillRun:
    if run_id is not None:
        return runs.get_run(uow, _run_id(run_id))
    if period is None:
        raise typer.BadParameter("give RUN_ID or --period", param_hint="RUN_ID")
    parse_period(period, "--period")
    found = runs.open_run(uow, period)
    if found is None:
        raise InvalidValue("--period", period, "has no open (draft or approved) bill run")
    return found


@billrun_app.command("approve")
def approve_command(run_id: str = typer.Argument(..., help="the run's id")) -> None:
    """Approve a drafted run after review; its invoices are then ready to issue."""
    with _domain_errors(), unit_of_work(_engine(), actor="cli") as uow:
        run = runs.approve_run(uow, _run_id(run_id))
    console.print(f"bill run {run.id} approved by {run.approved_by}; issue it with "
                  f"[bold]openbss billrun issue {run.id}[/]", highlight=False, soft_wrap=True)


@billrun_app.command("issue")
def issue_command(
    run_id: str = typer.Argument(..., help="the run's id"),
    workers: int = typer.Option(1, "--workers", min=1, help="worker processes issuing in parallel"),
) -> None:
    """Issue an approved run: numbers, ledger postings, e-mails, events (resumes an interrupted issue)."""
    engine, clock, rounding = _engine(), SystemClock(), _rounding()
    with _domain_errors(), unit_of_work(engine, actor="cli", clock=clock) as uow:
        run = runs.start_issue(uow, _run_id(run_id))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"issuing {run.period}", total=None)
        runs.drain(engine, run.id, clock=clock, rounding=rounding, workers=workers,
                   on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    with unit_of_work(engine, actor="cli", clock=clock) as uow:
        runs.finish_issue(uow, run.id)
        _print(runs.summary(uow, run.id), console)


@billrun_app.command("discard")
def discard_command(run_id: str = typer.Argument(..., help="the run's id")) -> None:
    """Discard a draft or approved run: its drafts are deleted and their usage given back."""
    with _domain_errors(), unit_of_work(_engine(), actor="cli") as uow:
        run = runs.discard_run(uow, _run_id(run_id))
    console.print(f"bill run {run.id} discarded; period {run.period} can be drafted again", highlight=False)


@billrun_app.command("work", hidden=True)
def work_command(
    rounding: str = typer.Option(..., "--rounding"),
    at: str = typer.Option(None, "--at", help="a back-dated run's instant (ISO 8601), as its command's clock"),
    wait: bool = typer.Option(False, "--wait", help="keep waiting for jobs (until stopped) instead of ending "
                              "when the queue is empty"),
) -> None:
    """A worker process of a bill run (started by the commands above): works the "billrun" queue until it is
    empty, or with --wait until stopped. Started as `openbss`, so it is set up as every command is (the events
    sink) before its first job."""
    from openbss.billing import jobs
    from openbss.db import queue
    from openbss.db.engine import get_engine

    engine = get_engine()
    clock = SystemClock() if at is None else FixedClock(datetime.fromisoformat(at))
    jobs.use(engine, clock=clock, rounding=rounding)
    queue.run_worker(engine, [runs.QUEUE], wait=wait)

"""`openbss billrun --period YYYY-MM [--workers N] [--batch 500]`: bill every active account for one bill cycle
period, in batches of accounts (one transaction each) over N worker processes (billing/billrun.py). Safe to
interrupt and run again: what committed stays, the rest is billed by the next run.

Exit codes: 0 all accounts billed (or found billed, or nothing to bill), 1 at least one account
failed (each is listed; the others are billed), 2 the period is not a YYYY-MM month.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import Progress

from openbss.billing.billrun import DEFAULT_BATCH
from openbss.billing.periods import parse_period
from openbss.billing.service import BillRunSummary, run_bill_run
from openbss.core.clock import Clock, SystemClock
from openbss.core.errors import InvalidValue
from openbss.core.money import Money
from openbss.terminal import figures

console = Console()


def _totals(amounts: dict[str, Money]) -> str:
    return ", ".join(str(amounts[c]) for c in sorted(amounts)) or "0"


def _print(summary: BillRunSummary, console: Console) -> None:
    console.print(figures(f"bill run {summary.period}", [
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
    engine: sa.Engine, period: str, *, clock: Clock, rounding: str, console: Console = console, **options
) -> BillRunSummary:
    """Run the bill run with a progress bar over the accounts, then print its summary table; `options` are
    `run_bill_run`'s (workers, batch, worker_setup)."""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"billing {period}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = run_bill_run(engine, period, clock=clock, rounding=rounding, on_progress=advance, **options)
    _print(summary, console)
    return summary


def _prepare_worker() -> None:
    """A worker process is started afresh (spawn): it sets itself up as the `openbss` command does at start (the
    events sink). Reached by name: the command line sits above the billing domain, which may not import it."""
    importlib.import_module("openbss.cli").main()


def billrun(
    period: str = typer.Option(..., "--period", help="bill cycle period as YYYY-MM: the period that starts "
                               "in that month on each account's bill-cycle day"),
    workers: int = typer.Option(1, "--workers", min=1, help="worker processes billing batches in parallel"),
    batch: int = typer.Option(DEFAULT_BATCH, "--batch", min=1, help="accounts billed per transaction"),
) -> None:
    """Bill every active account for a closed bill cycle period (safe to run twice)."""
    from openbss.config import load_settings
    from openbss.db.engine import migrated_engine

    try:
        parse_period(period, "--period")
    except InvalidValue as e:
        raise typer.BadParameter(e.message, param_hint="--period") from None
    engine = migrated_engine()
    summary = run_with_progress(engine, period, clock=SystemClock(), rounding=load_settings().rounding, workers=workers,
                                batch=batch, worker_setup=_prepare_worker if workers > 1 else None)
    if summary.errors:
        raise typer.Exit(1)

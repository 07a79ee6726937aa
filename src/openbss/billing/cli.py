"""`openbss billrun --period YYYY-MM`: bill every active account for one bill cycle period.

Exit codes: 0 all accounts billed (or found billed, or nothing to bill), 1 at least one account
failed (each is listed; the others are billed), 2 the period is not a YYYY-MM month.
"""

from __future__ import annotations

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import Progress

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
    engine: sa.Engine, period: str, *, clock: Clock, rounding: str, console: Console = console
) -> BillRunSummary:
    """Run the bill run with a progress bar over the accounts, then print its summary table."""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"billing {period}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = run_bill_run(engine, period, clock=clock, rounding=rounding, on_progress=advance)
    _print(summary, console)
    return summary


def billrun(period: str = typer.Option(..., "--period", help="bill cycle period as YYYY-MM: the period that starts "
                                       "in that month on each account's bill-cycle day")) -> None:
    """Bill every active account for a closed bill cycle period (safe to run twice)."""
    from openbss.config import load_settings
    from openbss.db import migrate
    from openbss.db.engine import get_engine

    try:
        parse_period(period, "--period")
    except InvalidValue as e:
        raise typer.BadParameter(e.message, param_hint="--period") from None
    settings = load_settings()
    engine = get_engine(settings)
    migrate.upgrade(engine)
    summary = run_with_progress(engine, period, clock=SystemClock(), rounding=settings.rounding)
    if summary.errors:
        raise typer.Exit(1)

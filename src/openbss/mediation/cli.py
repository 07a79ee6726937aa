"""`openbss usage ...`: import usage files with a progress bar and a summary an operator can act on."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from openbss.core.clock import SystemClock
from openbss.mediation.model import IngestResult
from openbss.mediation.service import import_csv

usage_app = typer.Typer(help="Usage records.", no_args_is_help=True)
console = Console()


@usage_app.callback()
def usage() -> None:
    """Usage records: import CDR files and rate them."""


def _shown(value: object) -> str:
    # Quotes show where a text value starts and ends (an empty or blank cell); numbers and dates read as is.
    return repr(value) if isinstance(value, str) else str(value)


def _data_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return max(sum(1 for _ in f) - 1, 0)


def import_with_progress(
    engine: sa.Engine, path: Path, *, source: str, console: Console, batch_size: int = 5000, actor: str = "cli"
) -> IngestResult:
    """Import a CSV file with a progress bar by lines, then print the counts and every rejected line."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"importing {path.name}", total=_data_lines(path))
        result = import_csv(
            engine,
            path,
            source=source,
            clock=SystemClock(),
            batch_size=batch_size,
            on_progress=lambda done: progress.update(task, completed=done),
            actor=actor,
        )
    table = Table(title=f"usage import of {path.name} (source {source})")
    for name in ("accepted", "duplicates", "rejected"):
        table.add_column(name, justify="right")
    table.add_row(str(result.accepted), str(result.duplicates), str(len(result.rejected)))
    console.print(table)
    for r in result.rejected:
        console.print(f"line {r.line}: {r.field}={_shown(r.value)} {r.reason}", markup=False, highlight=False, soft_wrap=True)
    return result


@usage_app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV file to import"),
    source: str = typer.Option("csv", help="the collector the records come from; record keys are unique per source"),
    strict: bool = typer.Option(False, help="exit with status 1 if any row was rejected"),
    batch_size: int = typer.Option(5000, min=1, help="rows per transaction"),
) -> None:
    """Rate and store a CSV file of usage (record_key,service_id,usage_type,start_time,quantity).

    Rows already stored are skipped, so an interrupted import can simply be run again."""
    from openbss.config import load_settings
    from openbss.core.errors import InvalidValue
    from openbss.db import migrate
    from openbss.db.engine import get_engine

    engine = get_engine(load_settings())
    migrate.upgrade(engine)
    try:
        result = import_with_progress(engine, file, source=source, console=console, batch_size=batch_size)
    except InvalidValue as exc:
        console.print(f"{file}: {exc.message}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if strict and result.rejected:
        raise typer.Exit(1)

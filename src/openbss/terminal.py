"""Shared by the command line: summaries as two-column tables of figures, a command's one transaction."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table


def figures(title: str, rows: Iterable[tuple[str, object]]) -> Table:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, value if isinstance(value, str) else f"{value:,}")
    return table


def run_in_transaction(work):
    """Run `work(uow)` in one transaction on the migrated database; a refused request exits 1 with its message."""
    import typer

    from openbss.core.errors import DomainError
    from openbss.db.engine import migrated_engine
    from openbss.db.uow import unit_of_work

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            return work(uow)
    except DomainError as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(1) from None

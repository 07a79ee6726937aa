"""Shared terminal output for the command line: summaries are two-column tables of figures."""

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

"""`openbss rating table import FILE [--name N]`, `... list`, `... show NAME`: stored rate tables;
`openbss rating rerate --from DAY --to DAY [--account ID] [--dry-run]`: rerate usage after a tariff correction.

Rerating dates: a plain date (2026-09-01) is that day's 00:00 UTC; a date-time must carry its offset
(2026-09-01T00:00:00+02:00). The range is [from, to) by usage date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from openbss.db.engine import migrated_engine

rating_app = typer.Typer(help="Rating: stored rate tables, rerating.", no_args_is_help=True)
table_app = typer.Typer(help="Rate tables (zones, prefixes, rates, bands) in immutable versions.",
                        no_args_is_help=True)
rating_app.add_typer(table_app, name="table")
console = Console()


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)



@table_app.command("import")
def import_table(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="rate table YAML or JSON"),
    name: str = typer.Option(None, "--name", help="store under this name (default: the document's name)"),
) -> None:
    """Store a rate table document as the next version of its name (nothing when it equals the newest)."""
    from openbss.core.errors import DomainError
    from openbss.db.uow import unit_of_work
    from openbss.rating import store

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            version, created = store.import_file(uow, file, name)
            table = store.load(uow, version)
    except DomainError as e:
        _say(f"{file}: {e.message}")
        raise typer.Exit(1) from None
    what = "imported" if created else "unchanged, already"
    _say(f"{what} {version.name} version {version.version}: {len(table.zones)} zone(s), "
         f"{len(table.by_prefix)} prefix(es), {version.currency}")


@table_app.command("list")
def list_tables() -> None:
    """Every rate table: its newest version (the one rating uses) and how many versions it has."""
    from openbss.db.uow import unit_of_work
    from openbss.rating import store

    with unit_of_work(migrated_engine(), actor="cli") as uow:
        tables = store.list_tables(uow)
    out = Table(title=f"{len(tables)} rate table(s)")
    for column in ("name", "version", "versions", "currency", "imported"):
        out.add_column(column, justify="right" if column.startswith("version") else "left")
    for v, count in tables:
        out.add_row(v.name, str(v.version), str(count), v.currency, v.created_at.isoformat(timespec="seconds"))
    console.print(out)


@table_app.command("show")
def show_table(
    name: str = typer.Argument(..., help="the rate table's name"),
    version: int = typer.Option(None, "--version", help="a version (default: the newest)"),
) -> None:
    """A version's zones and rates, one row per rate."""
    from openbss.core.errors import NotFound
    from openbss.db.uow import unit_of_work
    from openbss.rating import store

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            found = store.get_version(uow, name, version)
            table = store.load(uow, found)
    except NotFound as e:
        _say(f"error: {e.message}")
        raise typer.Exit(1) from None
    _say(f"{found.name} version {found.version} ({found.currency}), holidays: "
         f"{', '.join(d.isoformat() for d in sorted(table.holidays)) or 'none'}")
    for z in table.zones:
        shown = ", ".join(z.prefixes[:5]) + (f" and {len(z.prefixes) - 5} more" if len(z.prefixes) > 5 else "")
        _say(f"zone {z.name}: {shown or 'no prefixes'}")
    out = Table(title="rates")
    for column in ("zone", "usage", "price/unit", "increments", "connect", "minimum", "bands", "valid"):
        out.add_column(column)
    for z in table.zones:
        for r in z.rates:
            valid = f"{r.valid_from.date() if r.valid_from else '…'} to {r.valid_to.date() if r.valid_to else '…'}"
            out.add_row(z.name, r.usage_type, f"{r.price}/{r.unit}", f"{r.first}/{r.next}", str(r.connect_fee),
                        str(r.minimum), ", ".join(f"{b.name} {b.price}" for b in r.bands), valid)
    console.print(out)


def _instant(text: str, option: str) -> datetime:
    """A plain date as its 00:00 UTC, or an ISO date-time with its offset."""
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (2026-09-01) or an ISO date-time with an offset",
                                 param_hint=option) from None
    if at.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs a UTC offset (2026-09-01T00:00:00+02:00)", param_hint=option)
    return at


@rating_app.command("rerate")
def rerate_usage(
    start: str = typer.Option(..., "--from", help="first usage date: 2026-09-01 (00:00 UTC) or an ISO date-time"),
    end: str = typer.Option(..., "--to", help="usage dated before this: 2026-10-01 or an ISO date-time"),
    account: str = typer.Option(None, "--account", help="only this billing account's usage"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show the differences, store nothing"),
) -> None:
    """Rate the usage dated in [--from, --to) again with today's tariff; the differences become adjustments,
    billed on the next invoice (billed usage is never edited)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from openbss.core.errors import DomainError
    from openbss.core.ids import parse_id
    from openbss.db.uow import unit_of_work
    from openbss.rating.rerate import rerate

    since, until = _instant(start, "--from"), _instant(end, "--to")
    columns = (SpinnerColumn(), TextColumn("{task.description}: {task.completed} records"))
    try:
        account_id = parse_id(account, "--account") if account else None
        with Progress(*columns, console=console) as progress, unit_of_work(migrated_engine(), actor="cli") as uow:
            task = progress.add_task("rerating")
            result = rerate(uow, since, until, account_id, dry_run,
                            on_batch=lambda n: progress.advance(task, n))
    except DomainError as e:
        _say(f"error: {e.message}")
        raise typer.Exit(1) from None
    title = f"rerating of usage from {since.isoformat()} to {until.isoformat()}"
    out = Table(title=title + (" (dry run: nothing stored)" if dry_run else f", run {result.run_id}"))
    out.add_column("records")
    out.add_column("count", justify="right")
    out.add_row("examined", str(result.examined))
    out.add_row("rerated (changed): adjustment " + ("would be added" if dry_run else "added"), str(result.changed))
    out.add_row("unchanged", str(result.unchanged))
    out.add_row("re-priced on period totals at billing: not rerated", str(result.priced_on_totals))
    out.add_row("cannot be rated now: not rerated", str(result.failed))
    for currency, difference in sorted(result.totals.items()):
        out.add_row(f"total difference {currency}", f"{difference:+f}")
    console.print(out)
    for usage_id, problem in result.problems:
        _say(f"usage {usage_id}: {problem.field}={problem.value!r} {problem.reason}")

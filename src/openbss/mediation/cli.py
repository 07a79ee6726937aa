"""`openbss usage ...`: import usage files with a progress bar and a summary an operator can act on, and
look after the quarantine of rejected records: list it, reprocess entries once their cause is fixed,
discard the ones that will never be usage; list the held parts of long calls and flush the calls whose
last part never came to the quarantine."""

from __future__ import annotations

import re
import uuid
from dataclasses import astuple
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from openbss.core.clock import Clock, SystemClock
from openbss.db.engine import migrated_engine
from openbss.db.uow import unit_of_work
from openbss.mediation import correlation, quarantine
from openbss.mediation.bulk import import_csv
from openbss.mediation.model import HeldCall, IngestResult, ReprocessResult
from openbss.mediation.service import reprocess, retry_concurrent

usage_app = typer.Typer(help="Usage records.", no_args_is_help=True)
console = Console()


REPROCESS_CHUNK = 1000


@usage_app.callback()
def usage() -> None:
    """Usage records: import CDR files and rate them; the quarantine of rejected records."""



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
    counts = {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": len(result.rejected)}
    if result.parts:  # the file had partial records: how many were taken, how many calls they completed
        counts |= {"partial records": result.parts, "calls merged": result.calls}
    for name in counts:
        table.add_column(name, justify="right")
    table.add_row(*(str(n) for n in counts.values()))
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
    from openbss.core.errors import InvalidValue

    engine = migrated_engine()
    try:
        result = import_with_progress(engine, file, source=source, console=console, batch_size=batch_size)
    except InvalidValue as exc:
        console.print(f"{file}: {exc.message}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if strict and result.rejected:
        raise typer.Exit(1)


def show_quarantine(
    engine: sa.Engine, *, status: str | None, source: str | None, limit: int, console: Console
) -> None:
    """The counts per (field, reason), then the entries themselves, oldest first."""
    with unit_of_work(engine, actor="cli") as uow:
        counts = quarantine.reason_counts(uow, status=status, source=source)
        entries, total = quarantine.list_quarantine(uow, status=status, source=source, limit=limit)
    by_reason = Table(title=f"usage quarantine ({status or 'any status'}, {source or 'all sources'})")
    for name, justify in (("field", "left"), ("reason", "left"), ("entries", "right")):
        by_reason.add_column(name, justify=justify)
    for field, reason, count in counts:
        by_reason.add_row(field, reason, str(count))
    console.print(by_reason)
    rows = Table(title=f"{len(entries)} of {total} entries")
    for name in ("id", "status", "origin", "line", "record key", "field", "value", "reason"):
        rows.add_column(name, overflow="fold")
    for e in entries:
        value = e.value if e.payload is not None else f"{e.value} (raw: {e.raw})"
        rows.add_row(str(e.id), e.status, e.origin, str(e.line or ""), e.record_key or "", e.field,
                     _shown(value), e.reason)  # fmt: skip
    console.print(rows)


@usage_app.command("quarantine")
def list_quarantine(
    source: str | None = typer.Option(None, help="only this source"),
    status: str = typer.Option("open", help="open, reprocessed, discarded, or any"),
    limit: int = typer.Option(50, min=1, help="entries to list after the counts"),
) -> None:
    """Rejected usage records: how many per reason, then the entries."""
    show_quarantine(migrated_engine(), status=None if status == "any" else status, source=source, limit=limit,
                    console=console)  # fmt: skip


def reprocess_with_progress(
    engine: sa.Engine,
    *,
    ids: list[uuid.UUID] | None,
    source: str | None,
    reason_contains: str | None,
    console: Console,
    chunk: int = REPROCESS_CHUNK,
    actor: str = "cli",
) -> ReprocessResult:
    """Reprocess the matching open entries in transactions of `chunk` entries, with a progress bar, then
    print what became of them."""
    clock = SystemClock()
    with unit_of_work(engine, actor=actor, clock=clock) as uow:
        todo = [e.id for e in quarantine.open_entries(uow, ids=ids, source=source, reason_contains=reason_contains,
                                                       limit=2**31 - 1)]  # fmt: skip
    total = ReprocessResult(0, 0, 0, 0)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("reprocessing", total=len(todo))
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]

            def attempt(part: list[uuid.UUID] = part) -> ReprocessResult:
                with unit_of_work(engine, actor=actor, clock=clock) as uow:
                    return reprocess(uow, ids=part, limit=len(part))

            done = retry_concurrent(attempt)
            total = ReprocessResult(*(a + b for a, b in zip(astuple(total), astuple(done), strict=True)))
            progress.update(task, advance=len(part))
    table = Table(title="usage reprocess")
    names = ["stored", "duplicates", "still open", "raw only (discard)", "partial records"]
    shown = astuple(total)[: None if total.parts else -1]
    for name in names[: len(shown)]:
        table.add_column(name, justify="right")
    table.add_row(*(str(n) for n in shown))
    console.print(table)
    return total


@usage_app.command("reprocess")
def reprocess_entries(
    source: str | None = typer.Option(None, help="the open entries of this source"),
    ids: list[str] = typer.Option([], "--id", help="an entry id (repeatable)"),
    reason_contains: str | None = typer.Option(None, help="the open entries whose reason contains this text"),
    all_open: bool = typer.Option(False, "--all", help="every open entry"),
) -> None:
    """Run quarantined records through the pipeline again, once their cause is fixed (e.g. the missing
    subscription created). Entries that still fail stay open with the new reason."""
    from openbss.core.ids import parse_id

    if not (source or ids or reason_contains or all_open):
        console.print("name entries: --id, --source, --reason-contains, or --all")
        raise typer.Exit(2)
    reprocess_with_progress(migrated_engine(), ids=[parse_id(i, "--id") for i in ids] or None, source=source,
                            reason_contains=reason_contains, console=console)  # fmt: skip


@usage_app.command("discard")
def discard_entries(
    ids: list[str] = typer.Option(..., "--id", help="an entry id (repeatable)"),
    reason: str = typer.Option(..., help="why they are closed without being stored"),
) -> None:
    """Close quarantined entries without storing them (undecodable input that was resent corrected, or
    records that are not to be billed)."""
    from openbss.core.ids import parse_id

    with unit_of_work(migrated_engine(), actor="cli", clock=SystemClock()) as uow:
        count = quarantine.discard(uow, [parse_id(i, "--id") for i in ids], reason)
    console.print(f"discarded {count} of {len(ids)} entries (the others were not open)")


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta:
    """"24h", "90m", "2d", "30s" as a timedelta (typer callback)."""
    match = _DURATION.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a duration such as 24h, 90m, 2d or 30s")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def show_partials(
    engine: sa.Engine, *, older_than: timedelta | None, source: str | None, flush: bool, clock: Clock,
    console: Console, limit: int = 1000, actor: str = "cli",
) -> list[HeldCall]:
    """List the calls with held parts (older than `older_than`), or with `flush` send those calls to the
    quarantine as their parts (reason "incomplete: ..."); prints a table of the calls either way."""
    with unit_of_work(engine, actor=actor, clock=clock) as uow:
        if flush:
            calls = correlation.flush_incomplete(uow, older_than=older_than, source=source, limit=limit)
        else:
            calls = correlation.held_calls(uow, older_than=older_than, source=source, limit=limit)
    verb = "flushed to the quarantine" if flush else "held"
    table = Table(title=f"{len(calls)} calls with partial records {verb}")
    for name in ("source", "call (partOf)", "service id", "type", "parts held", "last", "missing", "quantity",
                 "first part received", "latest part received"):
        table.add_column(name, overflow="fold")
    for c in calls:
        table.add_row(c.source, c.part_of, c.service_id, c.usage_type, ",".join(map(str, c.parts)),
                      "?" if c.last is None else str(c.last), c.missing, str(c.quantity),
                      c.first_received.isoformat(), c.last_received.isoformat())  # fmt: skip
    console.print(table)
    return calls


@usage_app.command("partials")
def partials(
    older_than: str | None = typer.Option(None, help="only calls whose latest part came longer ago (24h, 90m, 2d)"),
    source: str | None = typer.Option(None, help="only this source"),
    flush: bool = typer.Option(False, help="send these calls to the quarantine as incomplete (needs --older-than)"),
    limit: int = typer.Option(1000, min=1, help="calls to list or flush"),
) -> None:
    """Long calls whose partial records are held, waiting for the rest of the call. With --flush, the calls
    whose last part never came go to the quarantine ("incomplete: parts 1,2 of ? held since ..."), where
    `usage reprocess` merges them once the missing part has arrived, or `usage discard` closes them."""
    if flush and older_than is None:
        console.print("--flush needs --older-than: calls still being received must not be flushed")
        raise typer.Exit(2)
    show_partials(migrated_engine(), older_than=None if older_than is None else _duration(older_than), source=source,
                  flush=flush, clock=SystemClock(), console=console, limit=limit)  # fmt: skip

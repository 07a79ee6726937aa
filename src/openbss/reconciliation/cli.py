"""`openbss statement ...`: import bank statements and work the unmatched queue from the terminal.

- `statement import FILE [--format camt053|mt940]`: import a camt.053 or MT940 file, match its credit
  lines to invoices, record the payments; prints what was matched and what waits in the queue.
- `statement unmatched [--all]`: the queue (with --all: every line that is not matched, debits included).
- `statement assign LINE (--invoice INV-... | --account ACCOUNT_ID)`: record line LINE (its id) as a payment.
- `statement dismiss LINE --note TEXT`: mark the line as not ours.

Exit codes: 0 done, 1 refused (the message names the line, field or value), 2 a bad option.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from openbss.db.engine import migrated_engine
from openbss.terminal import figures

statement_app = typer.Typer(help="Bank statements (camt.053, MT940): import, match to invoices, unmatched queue.",
                            no_args_is_help=True)
console = Console()


def _run(work: Callable):
    """Run `work(uow)` in one transaction; a refused request exits 1 with its message."""
    from openbss.core.errors import DomainError
    from openbss.db.uow import unit_of_work

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            return work(uow)
    except DomainError as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(1) from None


def _print_lines(lines) -> None:
    # One line per statement line, not a table: the id must stay whole to be copied into `assign`/`dismiss`.
    for l in lines:
        s = l.line
        reference = (s.creditor_ref or s.remittance or s.end_to_end_id or "").replace("\n", " ")[:50]
        what = f"{l.status} {l.reason}" if l.reason else l.status
        console.print(f"{l.id}  {s.booking_date or ''}  {s.direction} {s.amount}  {what}  "
                      f"{reference!r}  {s.counterparty_name or ''}  {l.message or ''}", soft_wrap=True, highlight=False)


@statement_app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="a camt.053 or MT940 file"),
    format: str = typer.Option(None, help="camt053 or mt940; default: detected from the content"),
) -> None:
    """Import a statement file once; every credit line is matched to an invoice or queued for an agent."""
    from openbss.reconciliation import service

    result = _run(lambda uow: service.import_statement(uow, file.read_bytes(), file_name=file.name, format=format))
    for s in result.statements:
        console.print(figures(f"statement {s.statement_ref} ({s.format}) of {s.account}", [
            ("sequence", s.sequence), ("opening balance", str(s.opening or "")),
            ("closing balance", str(s.closing or "")), ("lines", s.line_count),
        ]))
    console.print(figures("lines", [(status, result.count(status)) for status in ("matched", "settled", "unmatched", "listed")]))
    waiting = [l for l in result.lines if l.status != "matched"]
    if waiting:
        _print_lines(waiting)


@statement_app.command("unmatched")
def unmatched(all_: bool = typer.Option(False, "--all", help="also debits and lines already resolved")) -> None:
    """List the unmatched queue, oldest first."""
    from openbss.reconciliation import service

    filters = {} if all_ else {"status": "unmatched"}
    lines, total = _run(lambda uow: service.list_lines(uow, filters, 0, 1000))
    if not all_:
        console.print(f"{total} unmatched line(s)")
    _print_lines(lines)


@statement_app.command("assign")
def assign(
    line: str = typer.Argument(..., help="the line id (from `statement unmatched`)"),
    invoice: str = typer.Option(None, help="the invoice number it pays, e.g. INV-2026-000001"),
    account: str = typer.Option(None, help="the billing account id it is from (oldest invoices first)"),
) -> None:
    """Record an unmatched line as a payment of an invoice or account."""
    from openbss.billing.documents.export import invoice_id_of
    from openbss.core.ids import parse_id
    from openbss.reconciliation import service

    def work(uow):
        invoice_id = invoice_id_of(uow, invoice) if invoice else None
        account_id = parse_id(account, "--account") if account else None
        return service.assign_line(uow, parse_id(line, "LINE"), invoice_id=invoice_id, account_id=account_id)

    done = _run(work)
    console.print(f"line {done.id}: {done.status}, payment {done.payment_id} of {done.line.amount}")


@statement_app.command("dismiss")
def dismiss(line: str = typer.Argument(..., help="the line id"),
            note: str = typer.Option(..., help="why the line is not ours")) -> None:
    """Mark an unmatched line as not ours (nothing is recorded against any account)."""
    from openbss.core.ids import parse_id
    from openbss.reconciliation import service

    done = _run(lambda uow: service.dismiss_line(uow, parse_id(line, "LINE"), note))
    console.print(f"line {done.id}: {done.status} ({done.message})")

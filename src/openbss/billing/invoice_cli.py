"""`openbss invoice ...`: issued invoices, credit notes and debit notes as documents.

`export --format pdf|ubl|cii|facturx [--period YYYY-MM] [--account ID] --out DIR` writes one file per issued
document, credit and debit notes included (every one when no period is given; file names and the selection in
`billing.documents.export`) with a progress bar and a summary table; running it again rewrites the same files.
`show NUMBER` prints one invoice: header, lines, VAT summary. `deliveries [--state pending|sent|failed|skipped]`
lists document e-mails (`billing.delivery`), newest first. Exit codes: 0 done, 1 some documents could not be
rendered (each is listed, the others are written) or no such invoice, 2 a bad option value.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from openbss.billing.documents import export as documents
from openbss.billing.documents.pdf import CALL_DETAIL_LIMIT
from openbss.billing.periods import parse_period
from openbss.core.errors import DomainError, InvalidValue
from openbss.core.ids import parse_id
from openbss.db.engine import migrated_engine
from openbss.terminal import figures

invoice_app = typer.Typer(help="Issued invoices as documents: PDF, UBL, CII, Factur-X.", no_args_is_help=True)
console = Console()



def export_with_progress(engine: sa.Engine, fmt: str, out: Path, *, period: str | None = None,
                         account_id: uuid.UUID | None = None, call_detail_limit: int = CALL_DETAIL_LIMIT,
                         console: Console = console) -> documents.ExportSummary:
    """Export with a progress bar over the documents, then print the summary table and every failure."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"writing {fmt}", total=None)
        summary = documents.export_documents(
            engine, fmt, out, period=period, account_id=account_id, call_detail_limit=call_detail_limit,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    rate = len(summary.written) / summary.seconds if summary.seconds else 0.0
    console.print(figures(f"invoice export ({fmt}{', ' + period if period else ''})", [
        ("documents selected", summary.documents),
        ("files written", len(summary.written)),
        ("errors", len(summary.errors)),
        ("size", f"{summary.bytes / 1e6:,.1f} MB"),
        ("seconds", f"{summary.seconds:,.1f}"),
        ("documents/s", f"{rate:,.1f}"),
        ("folder", str(out)),
    ]))
    for number, message in summary.errors:
        console.print(f"[red]{number}[/]: {message}", highlight=False)
    return summary


@invoice_app.command("export")
def export(
    fmt: str = typer.Option(..., "--format", help="pdf, ubl (UBL 2.1), cii (UN/CEFACT CII) or facturx (PDF/A-3 "
                                                  "with the CII embedded)"),
    out: Path = typer.Option(..., "--out", help="folder to write to (created if missing)", file_okay=False),
    period: str = typer.Option(None, "--period", help="only the bill cycle periods starting in this month, "
                                                      "YYYY-MM, and the notes correcting their invoices; default: "
                                                      "every issued document"),
    account: str = typer.Option(None, "--account", help="only this billing account's documents (its id)"),
    call_detail_limit: int = typer.Option(CALL_DETAIL_LIMIT, "--call-detail-limit", min=0,
                                          help="most usage records listed in a PDF's call detail; 0 leaves it out"),
) -> None:
    """Write issued invoices, credit notes and debit notes as files named by their numbers; running it again
    rewrites the same files."""
    try:
        documents.check_format(fmt)
        if period is not None:
            parse_period(period, "--period")
        account_id = parse_id(account, "--account") if account is not None else None
    except InvalidValue as e:
        raise typer.BadParameter(e.message) from None
    summary = export_with_progress(migrated_engine(), fmt, out, period=period, account_id=account_id,
                                   call_detail_limit=call_detail_limit)
    if summary.errors:
        raise typer.Exit(1)


@invoice_app.command("validate")
def validate(
    period: str = typer.Option(None, "--period", help="only the bill cycle periods starting in this month, YYYY-MM"),
    account: str = typer.Option(None, "--account", help="only this billing account's invoices (its id)"),
) -> None:
    """Check issued invoices, credit notes and debit notes as e-invoices: each rendered as UBL (with the Peppol BIS 3 rules for a business
    buyer with an electronic address) and CII, against the official EN 16931 validation rules. Exit 1 on any
    fatal assertion, each printed with its invoice, syntax and rule."""
    try:
        if period is not None:
            parse_period(period, "--period")
        account_id = parse_id(account, "--account") if account is not None else None
    except InvalidValue as e:
        raise typer.BadParameter(e.message) from None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("validating", total=None)
        summary = documents.validate_documents(
            migrated_engine(), period=period, account_id=account_id,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(figures("e-invoice validation (EN 16931, Peppol BIS 3)", [
        ("bill documents", summary.invoices), ("documents checked", summary.documents),
        ("fatal assertions", len(summary.failures)), ("seconds", f"{summary.seconds:,.1f}"),
    ]))
    for number, syntax, failure in summary.failures:
        console.print(f"[red]{number}[/] {syntax}: {failure}", highlight=False)
    if summary.failures:
        raise typer.Exit(1)


@invoice_app.command("show")
def show(number: str = typer.Argument(..., help="the invoice number, e.g. INV-2026-000001")) -> None:
    """One invoice: who, when, how much, its lines and VAT summary."""
    from openbss.billing.documents.context import document_of
    from openbss.db.uow import unit_of_work

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            doc = document_of(uow, documents.invoice_id_of(uow, number))
    except DomainError as e:
        typer.echo(f"error: {e.message}", err=True)
        raise typer.Exit(1) from None
    inv = doc.invoice
    console.print(figures(f"invoice {inv.number}", [
        ("buyer", f"{doc.buyer.name} ({doc.buyer.account_number})"),
        ("period", f"{inv.period_start} to {inv.period_end} (exclusive)"),
        ("issued / due", f"{inv.issue_date} / {inv.due_date}"),
        ("state", inv.state),
        ("net", str(inv.net_total)),
        ("VAT", str(inv.tax_total)),
        ("gross", str(inv.gross_total)),
        ("paid", str(inv.amount_paid)),
        ("due", str(doc.payable)),
    ]))
    lines = Table(title="lines")
    for column in ("#", "description", "quantity", "unit", "VAT %", "net"):
        lines.add_column(column, justify="right" if column in ("#", "quantity", "VAT %", "net") else "left")
    for line in inv.lines:
        lines.add_row(str(line.line_no), line.description, f"{line.quantity.normalize():f}", line.unit,
                      f"{line.tax_rate * 100:.2f}", str(line.net))
    console.print(lines)
    vat = Table(title="VAT summary")
    for column in ("category", "rate %", "taxable", "VAT"):
        vat.add_column(column, justify="left" if column == "category" else "right")
    for g in doc.vat_groups:
        vat.add_row(g.category, f"{g.rate}", str(g.taxable), str(g.tax))
    console.print(vat)


@invoice_app.command("deliveries")
def deliveries(
    state: str = typer.Option(None, "--state", help="only deliveries in this state: pending, sent, failed, skipped"),
    limit: int = typer.Option(100, "--limit", min=1, help="most deliveries listed, newest first"),
) -> None:
    """Invoice, credit note and debit note e-mails: to whom, in which state, after how many attempts, and the
    last error or skip reason."""
    from openbss.billing import delivery
    from openbss.db.uow import unit_of_work

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            rows = delivery.list_deliveries(uow, status=state, limit=limit)
    except InvalidValue as e:
        raise typer.BadParameter(e.message, param_hint="--state") from None
    table = Table(title=f"document deliveries{f' ({state})' if state else ''}")
    for column in ("document", "state", "attempts", "recipient", "last attempt", "next attempt"):
        table.add_column(column, justify="right" if column == "attempts" else "left", no_wrap=column == "document")
    table.add_column("error or reason", overflow="fold")
    for d in rows:
        table.add_row(d.number, d.status, str(d.attempts), d.recipient or "",
                      d.last_attempt_at.isoformat(timespec="seconds") if d.last_attempt_at else "",
                      d.next_attempt_at.isoformat(timespec="seconds") if d.next_attempt_at else "",
                      d.last_error or "")
    console.print(table)
    console.print(f"{len(rows)} deliveries", highlight=False)

"""`openbss payments sepa-export --due DATE --out FILE [--creditor-id ID] [--collection-date DATE]` and
`openbss payments sepa-returns FILE`: SEPA Direct Debit by file (payments.sepa).

sepa-export writes a pain.008 of every bill due by DATE from accounts paying by SEPA mandate; the creditor is the
seller profile (name, IBAN, BIC) with the SEPA creditor identifier (--creditor-id or OPENBSS_SEPA_CREDITOR_ID).
When nothing new is due it writes no file. sepa-returns imports a pain.002 status report's rejects.
Exit codes: 0 done (also: nothing new), 1 refused (the message names the field and value; nothing written).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from openbss.terminal import figures

payments_app = typer.Typer(help="Payments: SEPA Direct Debit files.", no_args_is_help=True)
console = Console()


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@payments_app.command("sepa-export")
def sepa_export(
    due: str = typer.Option(..., "--due", help="collect bills due on or before this date (YYYY-MM-DD)"),
    out: Path = typer.Option(..., "--out", help="where to write the pain.008 XML"),
    creditor_id: str = typer.Option(..., "--creditor-id", envvar="OPENBSS_SEPA_CREDITOR_ID",
                                    help="the operator's SEPA creditor identifier, e.g. DE98ZZZ09999999999"),
    collection_date: str = typer.Option(None, "--collection-date",
                                        help="requested collection date (default: the due date, at least tomorrow)"),
) -> None:
    """Export the direct debits due as one pain.008 batch; the collections become payments in transit."""
    from openbss.core.errors import DomainError
    from openbss.db.engine import migrated_engine
    from openbss.db.uow import unit_of_work
    from openbss.payments import sepa

    due_by = _date(due, "--due")
    collect_on = _date(collection_date, "--collection-date") if collection_date else None
    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            batch = sepa.export(uow, due_by, sepa.creditor(uow, creditor_id), collect_on)
            if batch is not None:
                out.write_text(batch.document, encoding="utf-8")  # inside the transaction: no file, no collections
    except DomainError as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(1) from None
    if batch is None:
        console.print(f"nothing new to collect for bills due by {due_by.isoformat()}; no file written")
        return
    console.print(figures("SEPA direct debit batch", [
        ("message id", batch.message_id), ("collection date", batch.collection_date.isoformat()),
        ("collections", batch.count), ("total", f"{batch.total.amount:f} {batch.total.currency}"),
        ("file", str(out)),
    ]))


@payments_app.command("sepa-returns")
def sepa_returns(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a pain.002 status report")) -> None:
    """Mark the collections a pain.002 rejects as returned: their bills reopen, the entries are reversed."""
    from openbss.core.errors import DomainError
    from openbss.db.engine import migrated_engine
    from openbss.db.uow import unit_of_work
    from openbss.payments import sepa

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            report = sepa.apply_returns(uow, file.read_bytes())
    except DomainError as e:
        typer.echo(f"{file}: {e.message}", err=True)
        raise typer.Exit(1) from None
    console.print(figures("SEPA returns", [("returned now", len(report.returned)),
                                           ("returned before", report.already)]))
    for p in report.returned:
        console.print(f"  {p.id}  {p.amount.rounded().amount:f} {p.amount.currency}  {p.status_reason}")

"""`openbss report tax --period YYYY-MM [--country XX] [--format table|csv]`: the tax report (billing.tax_report).

Exit codes: 0 the report was printed (an empty period prints an empty table), 2 a bad option.
"""

from __future__ import annotations

import csv
import sys

import typer
from rich.console import Console
from rich.table import Table

from openbss.billing.tax_report import TaxReportRow, tax_report
from openbss.core.errors import InvalidValue

report_app = typer.Typer(help="Reports.", no_args_is_help=True)
COLUMNS = ("country", "tax", "category", "rate", "currency", "taxable", "tax_amount", "invoices", "credit_notes",
           "debit_notes")


def _cells(r: TaxReportRow) -> tuple[str, ...]:
    rate = f"{(r.tax_rate * 100).normalize():f}"
    return (r.country, r.tax_name, r.tax_category, rate, r.taxable.currency, f"{r.taxable.amount:f}",
            f"{r.tax.amount:f}", str(r.invoices), str(r.credit_notes), str(r.debit_notes))


@report_app.command("tax")
def tax(
    period: str = typer.Option(..., "--period", help="calendar month of issue dates as YYYY-MM"),
    country: str = typer.Option(None, "--country", help="one jurisdiction (ISO 3166 code, e.g. DE)"),
    output: str = typer.Option("table", "--format", help="table or csv"),
) -> None:
    """Taxable amount, tax and documents per jurisdiction, tax category and rate for one month."""
    from openbss.db.engine import migrated_engine
    from openbss.db.uow import unit_of_work

    if output not in ("table", "csv"):
        raise typer.BadParameter(f"{output!r} is not table or csv", param_hint="--format")
    engine = migrated_engine()
    try:
        with unit_of_work(engine, actor="cli") as uow:
            rows = tax_report(uow, period, country.upper() if country else None)
    except InvalidValue as e:
        raise typer.BadParameter(e.message, param_hint="--period") from None
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(_cells(r) for r in rows)
        return
    table = Table(title=f"tax report {period}" + (f", {country.upper()}" if country else ""))
    for name in COLUMNS:
        table.add_column(name.replace("_", " "), justify="right" if name in COLUMNS[3:] and name != "currency" else "left")
    for r in rows:
        table.add_row(*_cells(r))
    Console().print(table)  # made per call: it reads the terminal's width (COLUMNS) now, not at import

"""`openbss ledger ...` and `openbss report aging`: the journal checked, summed, recognized and exported.

- `verify`: balance per currency, the hash chain, every account's receivable against its documents
  (ledger.verify); exit 1 naming the first discrepancy (and how many there are).
- `trial-balance`: debits, credits and balance per account of the chart and currency; exit 1 if unbalanced.
- `recognize [--through DATE]`: revenue recognition through the end of DATE (default yesterday); idempotent.
- `export --format csv|beancount --out FILE`: the general ledger (ledger.export).
- `report aging [--at DATE]` (registered on the report group): open items per account by days past due.
Exit code 2: a bad option value.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from openbss.db.engine import migrated_engine
from openbss.db.uow import unit_of_work
from openbss.ledger import service as ledger
from openbss.ledger.aging import BUCKETS, AgingReport
from openbss.ledger.aging import aging as aging_report
from openbss.ledger.export import FORMATS, amount_text, export
from openbss.ledger.model import ACCOUNTS
from openbss.ledger.recognition import recognize as recognize_through
from openbss.ledger.verify import Verification
from openbss.ledger.verify import verify as verify_ledger
from openbss.terminal import figures

ledger_app = typer.Typer(help="The double-entry journal: verify, trial balance, revenue recognition, exports.",
                         no_args_is_help=True)


def _console() -> Console:
    return Console()  # made per call: it reads the terminal's width now, not at import


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@ledger_app.command("verify")
def verify() -> None:
    """Check the journal balances, its hash chain is intact and each account's AR equals its documents."""
    with unit_of_work(migrated_engine(), actor="cli") as uow:
        result = verify_ledger(uow)
    typer.echo(verdict(result), err=not result.ok)
    if not result.ok:
        raise typer.Exit(1)


def verdict(result: Verification) -> str:
    if result.ok:
        return f"ledger verify: balanced, chain intact, {result.accounts} account receivables match their documents"
    return f"ledger verify FAILED ({len(result.discrepancies)} discrepancies); first: {result.discrepancies[0]}"


@ledger_app.command("trial-balance")
def trial_balance() -> None:
    """Debits, credits and balance of every account of the chart, per currency."""
    with unit_of_work(migrated_engine(), actor="cli") as uow:
        rows = ledger.account_balances(uow)
    table = Table(title="trial balance")
    for name, justify in (("code", "left"), ("account", "left"), ("type", "left"), ("currency", "left"),
                          ("debit", "right"), ("credit", "right"), ("balance", "right")):
        table.add_column(name, justify=justify)
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for gl_account, currency, debit, credit in rows:
        gl = ACCOUNTS[gl_account]
        balance = debit - credit if gl.normal == "debit" else credit - debit
        table.add_row(gl.code, gl.name, gl.type, currency, amount_text(debit, currency),
                      amount_text(credit, currency), amount_text(balance, currency))
        d, c = totals.get(currency, (Decimal(0), Decimal(0)))
        totals[currency] = (d + debit, c + credit)
    for currency, (d, c) in sorted(totals.items()):
        table.add_row("", "total", "", currency, amount_text(d, currency), amount_text(c, currency),
                      "balanced" if d == c else "NOT BALANCED", style="bold")
    _console().print(table)
    if any(d != c for d, c in totals.values()):
        raise typer.Exit(1)


@ledger_app.command("recognize")
def recognize(through: str = typer.Option(None, "--through", help="last day to recognize (default: yesterday)")
              ) -> None:
    """Move revenue of charges billed in advance from deferred revenue as their service days pass."""
    with unit_of_work(migrated_engine(), actor="cli") as uow:
        day = _date(through, "--through") or uow.now().date() - timedelta(days=1)
        run = recognize_through(uow, day)
    _console().print(figures(f"revenue recognized through {day.isoformat()}", [
        ("entries posted", run.entries),
        *((f"recognized {currency}", str(amount)) for currency, amount in sorted(run.recognized.items())),
    ]))


@ledger_app.command("export")
def export_command(
    fmt: str = typer.Option(..., "--format", help="csv or beancount"),
    out: Path = typer.Option(..., "--out", help="file to write"),
) -> None:
    """Write the general ledger as CSV (for an ERP) or as a beancount file (bean-check accepts it)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    with unit_of_work(migrated_engine(), actor="cli") as uow, out.open("w", encoding="utf-8") as f:
        summary = export(uow, fmt, f)
    typer.echo(f"wrote {summary.entries} entries ({summary.lines} lines) to {out}")


def aging(at: str = typer.Option(None, "--at", help="aging date YYYY-MM-DD (default: today)")) -> None:
    """Open invoices and debit notes per account by days past due: current, 1-30, 31-60, 61-90, 90+."""
    with unit_of_work(migrated_engine(), actor="cli") as uow:
        report = aging_report(uow, _date(at, "--at") or uow.now().date())
    print_aging(report, _console())


def print_aging(report: AgingReport, console: Console, largest: int | None = None) -> None:
    """The aging table: every account (or the `largest` by total, noted in the title), then totals per currency."""
    rows = report.rows if largest is None else sorted(report.rows, key=lambda r: -r.total.amount)[:largest]
    shown = "" if largest is None or len(rows) == len(report.rows) else f", {len(rows)} of {len(report.rows)} accounts"
    table = Table(title=f"AR aging at {report.at.isoformat()}{shown}")
    table.add_column("account")
    table.add_column("currency")
    for name in (*BUCKETS, "total"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(row.account_number, row.currency,
                      *(amount_text(m.amount, row.currency) for m in (*map(row.amount, BUCKETS), row.total)))
    for currency, per in sorted(report.totals().items()):
        table.add_row("total", currency, *(amount_text(per[name].amount, currency) for name in (*BUCKETS, "total")),
                      style="bold")
    console.print(table)


def demo_closing(engine: sa.Engine, console: Console) -> bool:
    """The demo's last words on the ledger: the aging table (the ten largest accounts and the totals), then the
    result of `ledger verify`; True when it passed."""
    with unit_of_work(engine, actor="demo") as uow:
        print_aging(aging_report(uow, uow.now().date()), console, largest=10)
        result = verify_ledger(uow)
    typer.echo(verdict(result))
    return result.ok

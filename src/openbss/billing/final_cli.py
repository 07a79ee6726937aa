"""`openbss invoice final --account NUMBER [--at YYYY-MM-DD]`: the final bill of a terminated account
(billing.final_bill). Exit codes: 0 issued (or nothing left to bill), 1 refused (subscriptions still active,
already billed), 2 a bad option value."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from openbss.core.errors import DomainError, InvalidValue
from openbss.terminal import figures

console = Console()


def final_command(
    account: str = typer.Option(..., "--account", help="the billing account's number, e.g. ACC-000042"),
    at: str | None = typer.Option(None, "--at", help="termination date YYYY-MM-DD in the account's zone "
                                  "(default: the day its last subscription ended)"),
) -> None:
    """Bill a terminated account up to its termination now, without waiting for its cycle to close."""
    from openbss.billing.final_bill import final_bill
    from openbss.config import load_settings
    from openbss.core.clock import SystemClock
    from openbss.db.engine import migrated_engine
    from openbss.db.uow import unit_of_work
    from openbss.party import service as party

    try:
        termination = date.fromisoformat(at) if at is not None else None
    except ValueError:
        raise typer.BadParameter(f"{at!r} is not a date as YYYY-MM-DD", param_hint="--at") from None
    engine = migrated_engine()
    try:
        with unit_of_work(engine, actor="cli", clock=SystemClock(), rounding=load_settings().rounding) as uow:
            found, _ = party.list_billing_accounts(uow, {"number": account}, 0, 1)
            if not found:
                raise InvalidValue("--account", account, "names no billing account")
            inv = final_bill(uow, found[0].id, termination)
    except InvalidValue as e:
        raise typer.BadParameter(e.message, param_hint=e.field) from None
    except DomainError as e:
        console.print(f"[red]{e.message}[/]", highlight=False)
        raise typer.Exit(1) from None
    if inv is None:
        console.print(f"{account}: nothing left to bill")
        return
    console.print(figures(f"final bill {inv.number}", [
        ("account", account),
        ("period", f"{inv.period_start.isoformat()} to {inv.period_end.isoformat()} (exclusive)"),
        ("issued", inv.issue_date.isoformat()),
        ("due", inv.due_date.isoformat()),
        ("net", str(inv.net_total)),
        ("tax", str(inv.tax_total)),
        ("gross", str(inv.gross_total)),
    ]))

"""`openbss dunning ...`: collections from the terminal.

- `dunning run [--at YYYY-MM-DD] [--handover-dir DIR]`: take every step due (idempotent per day: a step is taken
  once per case) and print what was done; `--at` runs as of noon UTC that day (the same date in every zone from
  UTC-11 to UTC+11), for catching up or rehearsing. Exit 1 when an account failed (the others are done).
- `dunning plan create NAME --currency EUR [--segment S] --step DAY:ACTION[:FEE[:TAX_CATEGORY]]...`,
  `dunning plan list`, `dunning plan retire PLAN_ID`.
- `dunning cases [--state active|paused|closed]`, `dunning promise CASE_ID --amount 50.00 --by YYYY-MM-DD`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from openbss.db.engine import migrated_engine
from openbss.terminal import run_in_transaction

dunning_app = typer.Typer(help="Collections: dunning plans, cases, promises to pay, the daily run.",
                          no_args_is_help=True)
plan_app = typer.Typer(help="Dunning plans: steps at +N days after the due date.", no_args_is_help=True)
dunning_app.add_typer(plan_app, name="plan")


@dunning_app.command("run")
def run(
    at: str = typer.Option(None, help="YYYY-MM-DD: run as of noon UTC that day (default: now)"),
    handover_dir: Path = typer.Option(None, help="where collection agency files go (default: OPENBSS_HOME/collections)"),
) -> None:
    """Take every dunning step due today, once per case, and print what was done."""
    from openbss.core.clock import FixedClock, SystemClock
    from openbss.dunning import jobs

    try:
        clock = FixedClock(datetime.combine(date.fromisoformat(at), time(12), UTC)) if at else SystemClock()
    except ValueError:
        raise typer.BadParameter(f"{at!r} is not a date YYYY-MM-DD", param_hint="--at") from None
    report = jobs.run(migrated_engine(), clock.now(), clock=clock, handover=handover_dir)
    table = Table("account", "day", "case", "what", "amount", "detail", title=f"dunning run {clock.now():%Y-%m-%d}")
    for o in report.outcomes:
        table.add_row(o.account_number, o.day.isoformat(), str(o.case_id or ""), o.what,
                      str(o.amount) if o.amount else "", o.detail)
    Console().print(table)
    for account_id, why in report.errors:
        Console().print(f"[red]account {account_id}: {why}[/]")
    for path in report.handover_files:
        Console().print(f"collection agency file: {path}")
    Console().print(f"{report.accounts} account(s) looked at, {len(report.outcomes)} thing(s) done, "
                  f"{len(report.errors)} error(s)")
    if report.errors:
        raise typer.Exit(1)


def _step(value: str, currency: str):
    from openbss.core.money import Money
    from openbss.dunning.model import DunningStep

    parts = value.split(":")
    try:
        day, action = int(parts[0]), parts[1]
        fee = Money(Decimal(parts[2]), currency) if len(parts) > 2 and parts[2] else None
    except (ValueError, IndexError, InvalidOperation):
        raise typer.BadParameter(f"{value!r} is not DAY:ACTION[:FEE[:TAX_CATEGORY]], e.g. 14:lateFee:5.00",
                                 param_hint="--step") from None
    return DunningStep(day, action, fee, parts[3] if len(parts) > 3 else "standard")


def _print_plans(plans) -> None:
    table = Table("id", "name", "segment", "currency", "status", "steps")
    for p in plans:
        steps = ", ".join(f"+{s.day} {s.action}" + (f" {s.fee}" if s.fee else "") for s in p.steps)
        table.add_row(str(p.id), p.name, p.segment or "(any)", p.currency, "active" if p.active else "retired", steps)
    Console().print(table)


@plan_app.command("create")
def plan_create(
    name: str = typer.Argument(...),
    currency: str = typer.Option(..., help="ISO 4217: the accounts in this currency follow the plan"),
    segment: str = typer.Option(None, help="customer segment; none: every segment without a plan of its own"),
    step: list[str] = typer.Option(..., help="DAY:ACTION[:FEE[:TAX_CATEGORY]] in order, e.g. 7:reminder, "
                                             "14:lateFee:5.00, 30:suspend, 60:terminate, 75:collectionAgency, "
                                             "90:writeOff; repeatable"),
) -> None:
    """Create a dunning plan."""
    from openbss.dunning import service

    steps = tuple(_step(s, currency) for s in step)
    plan = service.NewPlan(name, currency, steps, segment)
    _print_plans([run_in_transaction(lambda uow: service.create_plan(uow, plan))])


@plan_app.command("list")
def plan_list() -> None:
    """List dunning plans."""
    from openbss.dunning import service

    _print_plans(run_in_transaction(lambda uow: service.list_plans(uow, {}, 0, 1000)[0]))


@plan_app.command("retire")
def plan_retire(plan_id: str = typer.Argument(...)) -> None:
    """Retire a plan: no new case opens on it; its open cases keep following it."""
    from openbss.core.ids import parse_id
    from openbss.dunning import service

    _print_plans([run_in_transaction(lambda uow: service.retire_plan(uow, parse_id(plan_id, "plan")))])


@dunning_app.command("cases")
def cases(state: str = typer.Option(None, help="active, paused or closed")) -> None:
    """List dunning cases, oldest first."""
    from openbss.dunning import service

    found = run_in_transaction(lambda uow: service.list_cases(uow, {"state": state} if state else {}, 0, 1000)[0])
    table = Table("id", "account", "state", "reason", "due date", "steps taken")
    for c in found:
        table.add_row(str(c.id), str(c.account_id), c.state, c.reason or "", c.anchor_date.isoformat(),
                      ", ".join(f"{a.action} {a.taken_on}" for a in c.actions))
    Console().print(table)


@dunning_app.command("promise")
def promise(
    case_id: str = typer.Argument(...),
    amount: str = typer.Option(..., help="the amount promised, in the case's currency"),
    by: str = typer.Option(..., help="YYYY-MM-DD: the last day the customer will pay by"),
) -> None:
    """Record a promise to pay: the case pauses; it resumes if the promise is broken."""
    from openbss.core.ids import parse_id
    from openbss.core.money import Money
    from openbss.dunning import service

    try:
        day = date.fromisoformat(by)
    except ValueError:
        raise typer.BadParameter(f"{by!r} is not a date YYYY-MM-DD", param_hint="--by") from None

    def work(uow):
        case = service.get_case(uow, parse_id(case_id, "case"))
        return service.record_promise(uow, case.id, Money.of(amount, case.currency, "--amount"), day)

    p = run_in_transaction(work)
    Console().print(f"promise {p.id}: {p.amount} by {p.promised_on} ({p.state})")

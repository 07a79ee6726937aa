"""The openbss command line: serve, worker, demo, database, API keys, usage import, bill runs, GDPR requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from openbss.billing.cli import billrun_app
from openbss.billing.correction_cli import creditnote_app, dispute_app
from openbss.billing.final_cli import final_command
from openbss.billing.invoice_cli import invoice_app
from openbss.billing.report_cli import report_app
from openbss.catalog.cli import catalog_app
from openbss.charging.cli import voucher_app
from openbss.charging.diameter.cli import charging_app
from openbss.config import load_settings
from openbss.dunning.cli import dunning_app
from openbss.ledger.cli import aging, ledger_app
from openbss.mediation.cli import usage_app
from openbss.mediation.collectors.cli import mediation_app
from openbss.payments.cli import payments_app
from openbss.rating.cli import rating_app
from openbss.reconciliation.cli import statement_app
from openbss.seller.cli import seller_app
from openbss.terminal import figures

app = typer.Typer(help="openbss: OSS/BSS billing platform.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for the HTTP API.", no_args_is_help=True)
gdpr_app = typer.Typer(help="Data subject requests (GDPR): export or erase one party's personal data.",
                       no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(gdpr_app, name="gdpr")
app.add_typer(usage_app, name="usage")
app.add_typer(mediation_app, name="mediation")
app.add_typer(catalog_app, name="catalog")
app.add_typer(rating_app, name="rating")
app.add_typer(invoice_app, name="invoice")
invoice_app.command("final")(final_command)  # the final bill of a terminated account (billing.final_bill)
app.add_typer(seller_app, name="seller")
app.add_typer(creditnote_app, name="creditnote")
app.add_typer(dispute_app, name="dispute")
app.add_typer(report_app, name="report")
app.add_typer(payments_app, name="payments")
app.add_typer(dunning_app, name="dunning")
report_app.command("aging")(aging)
app.add_typer(ledger_app, name="ledger")
app.add_typer(statement_app, name="statement")
app.add_typer(billrun_app, name="billrun")
app.add_typer(charging_app, name="charging")
app.add_typer(voucher_app, name="voucher")
console = Console()


@app.callback()
def main() -> None:
    # Any command may run use cases that emit domain events; they go to the outbox as they do from the API.
    from openbss.api.events import install

    install(load_settings())


def _engine():
    from openbss.db.engine import migrated_engine

    return migrated_engine()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (creates the embedded database on first use)."""
    from openbss.db import migrate

    engine = _engine()
    console.print(f"database at revision [bold]{migrate.current(engine)}[/]")


@apikey_app.command("create")
def apikey_create(
    role: str = typer.Option("admin", help="admin (everything), agent (read and write), reader (read only)"),
    name: str = typer.Option(None, help="a unique label for the key; default: '<role>-<n>'"),
) -> None:
    """Create an API key and print it once. Only its hash is stored."""
    from openbss.auth.service import create_api_key
    from openbss.core.ids import new_id
    from openbss.db.uow import unit_of_work

    engine = _engine()
    with unit_of_work(engine, actor="cli") as uow:
        key = create_api_key(uow, name or f"{role}-{new_id().hex[-6:]}", role)
    typer.echo(key)


def _party_id(value: str):
    from openbss.core.ids import parse_id

    return parse_id(value, "PARTY_ID")


@gdpr_app.command("export")
def gdpr_export(
    party_id: str = typer.Argument(..., help="the individual's or organization's id"),
    out: Path = typer.Option(None, "--out", help="write the JSON to this file instead of standard output",
                             dir_okay=False, writable=True),
) -> None:
    """Everything held about one party (GDPR art. 15 and 20): the party, its customer roles and their accounts."""
    import json

    from openbss.db.uow import unit_of_work
    from openbss.party import service as party

    with _domain_errors(), unit_of_work(_engine(), actor="cli") as uow:
        data = party.export_party_data(uow, _party_id(party_id))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote the data of party {party_id} to {out}")


@gdpr_app.command("erase")
def gdpr_erase(
    party_id: str = typer.Argument(..., help="the individual's or organization's id"),
    yes: bool = typer.Option(False, "--yes", help="confirm: pseudonymization cannot be undone"),
) -> None:
    """Pseudonymize one party's personal data (GDPR art. 17); ids, accounts and financial records stay."""
    from openbss.db.uow import unit_of_work
    from openbss.party import service as party

    if not yes:
        typer.echo(f"refusing to erase party {party_id} without --yes: pseudonymization cannot be undone", err=True)
        raise typer.Exit(2)
    with _domain_errors(), unit_of_work(_engine(), actor="cli") as uow:
        pid = _party_id(party_id)
        already = party.get_party(uow, pid).erased_at
        p = party.erase_party(uow, pid)
        roles, accounts = party.roles_and_accounts(uow, pid)
    if already is not None:
        typer.echo(f"{p.kind.lower()} {pid} was already erased on {already.date()}; nothing changed")
        return
    typer.echo(f"erased {p.kind.lower()} {pid}, now named {p.display_name!r}; pseudonymized:")
    typer.echo(f"  {p.kind.lower()} {pid}: names, birth date, contact media, characteristics, external references")
    for c in roles:
        typer.echo(f"  customer {c.id}: name, contact media, characteristics, related parties")
    for a in accounts:
        typer.echo(f"  billing account {a.number}: name")
    typer.echo("kept: ids, accounts, invoices, payments and ledger entries (financial records)")


@contextmanager
def _domain_errors() -> Iterator[None]:
    """A domain error (no such party, a bad id) ends the command with its message, not a traceback."""
    from openbss.core.errors import DomainError

    try:
        yield
    except DomainError as e:
        typer.echo(f"error: {e.message}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: str = typer.Option(None, help="address to bind (default OPENBSS_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default OPENBSS_PORT or 8000)"),
) -> None:
    """Serve the TM Forum API (OpenAPI docs at /docs)."""
    import uvicorn

    from openbss.api.app import create_app

    settings = load_settings()
    engine = _engine()
    uvicorn.run(create_app(engine=engine, settings=settings), host=host or settings.host, port=port or settings.port)


@app.command()
def worker(
    once: bool = typer.Option(False, "--once", help="run the periodic jobs once, deliver what is due, then exit"),
    poll: float = typer.Option(5.0, min=0.1, help="seconds to wait for new events when idle"),
    batch: int = typer.Option(100, min=1, help="deliveries per round"),
) -> None:
    """Deliver domain events to TMF688 hub listeners, signed and retried with back-off, run the periodic
    jobs (future-dated orders, trial conversions, term renewals, end-of-term terminations: every minute), and work
    the bill runs' job queue ("billrun": drafting and issuing batches; jobs of dead workers are retried).

    Runs until SIGTERM or Ctrl-C; any number of workers may run against one database.
    """
    import threading

    import httpx

    from openbss.core.clock import SystemClock
    from openbss.jobs import relay, schedule

    engine = _engine()
    clock = SystemClock()
    if once:
        # The jobs first: the events they emit are delivered in the same run.
        for name, result in schedule.Scheduler(engine, clock=clock).tick().items():
            typer.echo(f"{name}: " + ("skipped, running in another worker" if result is None else
                                      ", ".join(f"{k} {v}" for k, v in result.items())))
        with httpx.Client(timeout=relay.TIMEOUT, follow_redirects=False) as client:
            report = relay.drain(engine, clock=clock, http_client=client, batch=batch)
        typer.echo(f"delivered {report.delivered}, retrying {report.retrying}, failed {report.failed}")
        return
    console.print("worker: delivering events to hub listeners and running periodic jobs; Ctrl-C stops")
    stop = relay.stop_on_signals()
    jobs = threading.Thread(target=schedule.run, args=(engine,), kwargs={"clock": clock, "stop": stop},
                            name="openbss-scheduler")
    jobs.start()
    from openbss.billing import jobs as billing_jobs
    from openbss.billing.billrun import QUEUE
    from openbss.db import queue

    billing_jobs.use(engine, clock=clock, rounding=load_settings().rounding)
    queued = threading.Thread(target=queue.run_worker, args=(engine, [QUEUE]),
                              kwargs={"wait": True, "stop": stop, "name": "openbss-worker"}, name="openbss-queue")
    queued.start()
    try:
        relay.run(engine, clock=clock, stop=stop, poll_seconds=poll, batch=batch)
    finally:
        stop.set()  # the relay may also end by an error: the scheduler and the queue worker stop with it
        jobs.join()
        queued.join()


@app.command()
def bench(name: str = typer.Argument(..., help="benchmark name, e.g. usage-import (files in benchmarks/)")) -> None:
    """Run a benchmark from the source tree's benchmarks/ folder; its last line is a JSON result."""
    import runpy
    import sys
    from pathlib import Path

    root = next((p for p in (Path.cwd(), *Path(__file__).resolve().parents) if (p / "benchmarks").is_dir()), None)
    script = root / "benchmarks" / f"{name.replace('-', '_')}.py" if root else None
    if script is None or not script.exists():
        available = sorted(p.stem.replace("_", "-") for p in (root / "benchmarks").glob("*.py")
                           if p.stem not in ("__init__", "harness")) if root else []
        raise typer.BadParameter(f"no benchmark {name!r}; available: {', '.join(available) or 'none'}")
    sys.path.insert(0, str(root))
    runpy.run_path(str(script), run_name="__main__")


@app.command()
def demo(
    serve_api: bool = typer.Option(True, "--serve/--no-serve", help="serve the API afterwards until Ctrl-C"),
    reset: bool = typer.Option(False, "--reset", help="start from an empty database (drops all openbss data)"),
    customers: int = typer.Option(240, min=1, help="how many sample customers to create"),
    seed: int = typer.Option(7, help="random seed: the same seed gives the same figures"),
) -> None:
    """Run a sample operator's month end to end: catalog, customers, usage, rating, bill run, payments.

    Prints a summary ending in the ledger check, then serves the API at OPENBSS_HOST:OPENBSS_PORT.
    On a second run the data already there is reused; --reset starts afresh.
    """
    from datetime import date

    from openbss import demo as sample
    from openbss.db import migrate
    from openbss.db.engine import get_engine

    settings = load_settings()
    engine = get_engine(settings)  # not migrated yet: --reset drops everything first
    if reset:
        migrate.downgrade(engine)
        (settings.home / "demo-api-key").unlink(missing_ok=True)
        console.print("reset: dropped all openbss data")
    migrate.upgrade(engine)
    if sample.has_data(engine):
        console.print("reusing the data already in the database (use --reset to start afresh)")
    else:
        period = sample.previous_month(date.today())
        console.print(f"[bold]openbss demo[/]: billing period {period}, data under {settings.home}")
        sample.run(engine, console, customers=customers, seed=seed, period=period, home=settings.home,
                   rounding=settings.rounding)
    s = sample.summarize(engine)
    console.print(figures("openbss demo summary", [
        ("customers", s.customers),
        ("usage records", s.usage_records),
        ("invoices", s.invoices),
        ("billed net", str(s.net)),
        ("tax", str(s.tax)),
        ("billed gross", str(s.gross)),
        ("paid", str(s.paid)),
        ("outstanding AR", str(s.outstanding)),
    ]))
    documents = sample.write_documents(engine, settings.home)
    if documents is not None:
        console.print(f"invoice PDF: {documents[0]}", highlight=False, soft_wrap=True)
        console.print(f"invoice UBL: {documents[1]}", highlight=False, soft_wrap=True)
    key = sample.demo_api_key(engine, settings.home)
    console.print(f"API key (admin) in {settings.home / 'demo-api-key'}: {key}")
    from openbss.ledger.cli import demo_closing

    ok = demo_closing(engine, console) and s.balanced and s.chain_ok  # aging table, then `ledger verify`
    typer.echo("ledger: balanced" if ok else "ledger: NOT BALANCED (trial balance or hash chain failed)")
    if not ok:
        raise typer.Exit(1)
    if serve_api:
        import uvicorn

        from openbss.api.app import create_app

        console.print(f"serving the API at http://{settings.host}:{settings.port} (docs at /docs); Ctrl-C stops")
        uvicorn.run(create_app(engine=engine, settings=settings), host=settings.host, port=settings.port,
                    log_level="warning")


if __name__ == "__main__":
    app()

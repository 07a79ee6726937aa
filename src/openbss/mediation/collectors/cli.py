"""`openbss mediation ...`: collectors an operator runs as services.

- `watch DIR`: a spool directory of CDR files (layout in `collectors.spool`), one table row per file;
- `consume`: a NATS JetStream pull consumer of JSON usage records (format in `mediation.stream`).

Both stop gracefully on SIGTERM or Ctrl-C: the file or batch in hand is finished first.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from openbss.core.errors import InvalidValue
from openbss.db.engine import migrated_engine
from openbss.mediation.collectors.formats import FORMATS
from openbss.mediation.collectors.spool import FileResult

if TYPE_CHECKING:  # the NATS client is imported by `consume` only
    from openbss.mediation.stream import Totals

mediation_app = typer.Typer(help="Mediation: collect usage from spool directories and streams.", no_args_is_help=True)
console = Console()



def _stop_on_signals():
    from openbss.jobs.relay import stop_on_signals

    return stop_on_signals()


def _report(results: list[FileResult]) -> None:
    """One table row per file, then each set-aside file's reason in full (a column would be cut on a
    terminal of 80 columns, and the reason is what the operator acts on)."""
    table = Table(title="spool")
    table.add_column("file", overflow="fold")
    table.add_column("outcome", no_wrap=True)
    for name in ("stored", "duplicates", "rejected", "skipped"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in results:
        table.add_row(r.name, r.outcome, str(r.accepted), str(r.duplicates), str(len(r.rejected)), str(r.skipped))
    console.print(table)
    for r in results:
        if r.reason:
            console.print(f"{r.name}: {r.outcome}: {r.reason}", markup=False, highlight=False, soft_wrap=True)


@mediation_app.command()
def watch(
    directory: Path = typer.Argument(..., metavar="DIR", file_okay=False,
                                     help="the spool directory switches drop files into"),
    format: str = typer.Option(..., "--format", help=f"file format: {', '.join(FORMATS)}"),
    source: str = typer.Option(None, help="the collector the records come from (default: the format's name; pgw for ber)"),
    tz: str = typer.Option(None, help="IANA time zone of a switch that logs local time (asterisk, freeswitch)"),
    interval: float = typer.Option(2.0, min=0.1, help="seconds between looks at the directory"),
    once: bool = typer.Option(False, "--once", help="process the files waiting now, then exit"),
    strict: bool = typer.Option(False, help="with --once: exit with status 1 if any file failed"),
) -> None:
    """Store each file dropped into DIR exactly once and archive it (files left by a crash are finished first).

    Runs until SIGTERM or Ctrl-C unless --once."""
    from openbss.core.clock import SystemClock
    from openbss.mediation.collectors.formats import decoder
    from openbss.mediation.collectors.spool import Spool

    try:
        decode = decoder(format, source=source, tz=tz)
    except InvalidValue as exc:
        raise typer.BadParameter(exc.message) from None
    spool = Spool(migrated_engine(), directory, decode, SystemClock(), actor="mediation-watch")

    if once:
        results = spool.process_pending()
        if results:
            _report(results)
        else:
            console.print(f"no files waiting in {directory}")
        if strict and any(r.outcome == "failed" for r in results):
            raise typer.Exit(1)
        return
    console.print(f"watching {directory} ({decode.format.name}, source {decode.source}) every {interval:g} s; "
                  "Ctrl-C stops")
    spool.watch(_stop_on_signals(), interval, _report)


def _summary(totals: Totals, records: int, seconds: float) -> str:
    """The totals so far and the rate of the last `records` in `seconds`."""
    return (f"{records / max(seconds, 1e-9):,.0f} records/s; so far {totals.records} records in {totals.messages} "
            f"messages: accepted {totals.accepted}, duplicates {totals.duplicates}, rejected {totals.rejected}"
            + (f", batches retried {totals.retried_batches}" if totals.retried_batches else ""))


@mediation_app.command()
def consume(
    server: str = typer.Option("nats://127.0.0.1:4222", help="NATS server URL(s), comma separated"),
    stream: str = typer.Option("USAGE", help="JetStream stream name"),
    subject: str = typer.Option("usage.>", help="subjects to consume (the stream's subjects when it is created)"),
    durable: str = typer.Option("rating", help="durable consumer name: workers with the same name share the work"),
    batch: int = typer.Option(1000, min=1, help="messages per fetch, stored in one transaction"),
    max_wait: float = typer.Option(1.0, min=0.01, help="seconds a fetch waits for messages"),
    ack_wait: float = typer.Option(30.0, min=1.0, help="seconds before an unacknowledged batch is redelivered"),
    create_stream: bool = typer.Option(True, "--create-stream/--no-create-stream",
                                       help="create the stream (file storage) when missing"),
    report_every: float = typer.Option(10.0, min=0.1, help="seconds between summary lines"),
    once: bool = typer.Option(False, "--once", help="exit when a fetch finds no message"),
) -> None:
    """Rate and store JSON usage records from a NATS JetStream stream; acknowledged only after the commit.

    Runs until SIGTERM or Ctrl-C unless --once; any number of workers may share one durable consumer."""
    import asyncio

    import nats.errors
    import nats.js.errors

    from openbss.core.clock import SystemClock
    from openbss.mediation import stream as intake

    engine = migrated_engine()
    # A service stops on SIGTERM or Ctrl-C after the batch in hand; --once is stopped as any command is.
    stop = threading.Event() if once else _stop_on_signals()
    started = time.monotonic()
    last = {"at": started, "records": 0}

    def on_batch(totals: Totals) -> None:
        now = time.monotonic()
        if now - last["at"] >= report_every:
            console.print(_summary(totals, totals.records - last["records"], now - last["at"]), highlight=False,
                          soft_wrap=True)
            last.update(at=now, records=totals.records)

    async def nats_error(exc: Exception) -> None:
        console.print(f"nats {server}: {type(exc).__name__}: {exc}", markup=False, highlight=False, soft_wrap=True)

    async def main():
        # A service waits for the server (started before NATS, or NATS restarting); --once gives up soon.
        nc = await nats.connect(server.split(","), connect_timeout=5, max_reconnect_attempts=3 if once else -1,
                                error_cb=nats_error)
        try:
            if create_stream:
                await intake.ensure_stream(nc, stream, subject)
            return await intake.consume(engine, nc, stream=stream, subject=subject, durable=durable,
                                        clock=SystemClock(), stop=stop, batch=batch, max_wait=max_wait, once=once,
                                        ack_wait=ack_wait, on_batch=on_batch)
        finally:
            await nc.drain()

    console.print(f"consuming {stream} ({subject}) as {durable} from {server}; Ctrl-C stops")
    try:
        totals = asyncio.run(main())
    except nats.errors.NoServersError:
        console.print(f"no NATS server answered at {server}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except nats.js.errors.NotFoundError:
        console.print(f"no stream {stream} on {server} (--create-stream creates it)", markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print("done: " + _summary(totals, totals.records, time.monotonic() - started), highlight=False,
                  soft_wrap=True)

"""`openbss charging serve`: the Diameter Gy/Ro credit-control server (docs/charging.md)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal

import typer

charging_app = typer.Typer(help="Online charging: the Diameter credit-control server.", no_args_is_help=True)


@charging_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(3868, min=1, max=65535, help="TCP port (3868 is Diameter's)"),
    origin_host: str = typer.Option("ocs.openbss.local", help="our Origin-Host (the FQDN peers configure)"),
    origin_realm: str = typer.Option("openbss.local", help="our Origin-Realm"),
    validity: int = typer.Option(300, min=1, help="Validity-Time of a grant in seconds: unreported grants are "
                                                  "released after it"),
    voice_quota: int = typer.Option(300, min=1, help="seconds granted when a voice request names no amount"),
    data_quota: int = typer.Option(10_000_000, min=1, help="bytes granted when a data request names no amount"),
    redirect_url: str = typer.Option(None, help="send data subscribers out of credit to this URL (a top-up "
                                                "page) instead of ending their session"),
    batch: int = typer.Option(256, min=1, help="most requests committed in one transaction"),
    processes: int = typer.Option(1, min=1, help="server processes sharing the port (SO_REUSEPORT): one per core "
                                                 "uses them all; the kernel spreads peer connections over them"),
) -> None:
    """Answer Credit-Control-Requests (CCR-I/U/T/E) from PGWs, S-CSCFs and SMSCs against the balances in the
    database; an answer that grants or debits is sent only after its transaction committed."""
    from openbss.charging.diameter.ocs import OcsConfig
    from openbss.db.engine import migrated_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = OcsConfig(origin_host, origin_realm, validity, {"voice": voice_quota, "data": data_quota, "sms": 1},
                       redirect_url)
    migrated_engine()  # once, before any server process opens its pool
    if processes == 1:
        _serve(host, port, config, batch, reuse_port=False)
        return
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_serve, args=(host, port, config, batch, True), daemon=True)
                for _ in range(processes)]
    for child in children:
        child.start()

    def stop(*_) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()


def _serve(host: str, port: int, config, batch: int, reuse_port: bool) -> None:
    """One server process: its own event loop, group-commit thread and connection pool; stops on SIGINT/SIGTERM."""
    from openbss.charging.diameter.server import CreditControlServer
    from openbss.config import load_settings
    from openbss.db.engine import get_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = CreditControlServer(get_engine(load_settings()), config, max_batch=batch)

    async def run() -> None:
        task = asyncio.ensure_future(server.serve(host, port, reuse_port=reuse_port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(run())

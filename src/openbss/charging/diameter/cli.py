"""`openbss charging serve`: the Diameter Gy/Ro credit-control server (docs/charging.md)."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import signal
import subprocess
import sys
from datetime import timedelta

import typer

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies

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
    keep_answers: float = typer.Option(24.0, min=0.01, help="hours a stored answer is kept to answer a repeated "
                                                            "request without charging it again"),
    processes: int = typer.Option(1, min=1, help="server processes sharing the port (SO_REUSEPORT): one per core "
                                                 "uses them all; the kernel spreads peer connections over them"),
    shared_port: bool = typer.Option(False, hidden=True, help="one of the processes of --processes N"),
) -> None:
    """Answer Credit-Control-Requests (CCR-I/U/T/E) from PGWs, S-CSCFs and SMSCs against the balances in the
    database; an answer that grants or debits is sent only after its transaction committed."""
    from openbss.charging.diameter.ocs import OcsConfig
    from openbss.charging.diameter.server import CreditControlServer
    from openbss.db.engine import migrated_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = migrated_engine()
    if processes > 1:  # the same command once per process, each on the shared port, stopped with this one
        args = [sys.executable, "-m", "openbss.cli", "charging", "serve", "--host", host, "--port", str(port),
                "--origin-host", origin_host, "--origin-realm", origin_realm, "--validity", str(validity),
                "--voice-quota", str(voice_quota), "--data-quota", str(data_quota), "--batch", str(batch),
                "--keep-answers", str(keep_answers),
                *(["--redirect-url", redirect_url] if redirect_url else []), "--shared-port"]
        children = [subprocess.Popen(args) for _ in range(processes)]

        def stop(*_) -> None:
            for child in children:
                child.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        codes = [child.wait() for child in children]
        raise typer.Exit(max(codes))
    if shared_port:  # it ends with the process that started it, however that one ends
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    config = OcsConfig(origin_host, origin_realm, validity, {"voice": voice_quota, "data": data_quota, "sms": 1},
                       redirect_url, timedelta(hours=keep_answers))
    server = CreditControlServer(engine, config, max_batch=batch)

    async def run() -> None:
        task = asyncio.ensure_future(server.serve(host, port, reuse_port=shared_port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(run())

"""`make conformance`: a fresh embedded PostgreSQL and server, every claimed TM Forum CTK, a table per API.
Exits 1 on any failure. `python -m tests.conformance.run TMF629 ...` runs just those kits (claimed or not)."""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from openbss.db import embedded, migrate
from tests.conformance.ctk import CLAIMED, KITS, SEEDS, live_api, run_kit


def main(apis: list[str]) -> int:
    console = Console()
    unknown = [a for a in apis if a not in KITS]
    if unknown:
        console.print(f"unknown kit(s) {', '.join(unknown)}; known: {', '.join(KITS)}")
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="openbss-ctk-") as tmp:
        warnings.simplefilter("ignore")
        server = embedded.start(Path(tmp) / "pgdata")
        try:
            for api in apis:  # each kit on its own fresh database, as in the test suite
                name = f"ctk_{api.lower()}"
                embedded.ensure_database(embedded.admin_uri(server), name)
                engine = sa.create_engine(embedded.sqlalchemy_url(server, name))
                migrate.upgrade(engine)
                with live_api(engine) as live:
                    if api in SEEDS:
                        SEEDS[api](engine)
                    results.append(run_kit(api, live.port))
                engine.dispose()
        finally:
            server.cleanup()
    table = Table(title="TM Forum CTK conformance")
    for col in ("API", "requests", "assertions", "failures"):
        table.add_column(col, justify="left" if col == "API" else "right")
    for r in results:
        table.add_row(r.api, str(r.requests), str(r.assertions), f"[red]{r.failed}[/]" if r.failed else "0")
    console.print(table)
    for r in results:
        for failure in r.failures:
            console.print(f"{r.api} {failure}")
    return 1 if any(r.failed for r in results) or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(CLAIMED)))

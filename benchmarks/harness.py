"""Shared benchmark plumbing: a scratch embedded PostgreSQL, and the JSON result line."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from openbss.db import embedded, migrate


@contextmanager
def scratch_database() -> Iterator[sa.Engine]:
    """A migrated database on a throw-away embedded server, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="openbss-bench-") as tmp:
        server = embedded.start(Path(tmp) / "pgdata")
        try:
            embedded.ensure_database(embedded.admin_uri(server), "bench")
            engine = sa.create_engine(embedded.sqlalchemy_url(server, "bench"))
            migrate.upgrade(engine)
            yield engine
            engine.dispose()
        finally:
            server.cleanup()


def report(name: str, unit: str, value: float, reference_name: str, reference_value: float, **more) -> None:
    def figure(x: float) -> float:  # one decimal, but 4 significant digits for small figures (a tiny benchmark run)
        return round(x, 1) if abs(x) >= 100 else float(f"{x:.4g}")

    ratio = value / reference_value

    print(json.dumps({
        "name": name, "unit": unit, "value": figure(value),
        "reference_name": reference_name, "reference_value": figure(reference_value),
        "ratio": round(ratio, 4) if abs(ratio) >= 0.1 else float(f"{ratio:.3g}"), **more,
    }))

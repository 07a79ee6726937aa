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
    print(json.dumps({
        "name": name, "unit": unit, "value": round(value, 1),
        "reference_name": reference_name, "reference_value": round(reference_value, 1),
        "ratio": round(value / reference_value, 4), **more,
    }))

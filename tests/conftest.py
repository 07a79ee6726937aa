"""Test harness: one real PostgreSQL per test session, a fresh database per test.

With OPENBSS_TEST_DATABASE_URL unset, an embedded PostgreSQL is started in a temporary directory and
deleted afterwards; otherwise that server is used (the URL must allow CREATE DATABASE). The schema is
migrated once into a template database; each test gets its own copy (CREATE DATABASE ... TEMPLATE), so
tests are isolated even though the code under test commits.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy as sa

from openbss.config import load_settings
from openbss.core.clock import FixedClock
from openbss.db import embedded, migrate
from openbss.db.engine import normalize_url
from openbss.db.uow import unit_of_work

TEMPLATE = "openbss_template"
_counter = itertools.count()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def admin_url():
    external = os.environ.get("OPENBSS_TEST_DATABASE_URL")
    if external:
        yield normalize_url(external).replace("postgresql+psycopg://", "postgresql://")
        return
    with tempfile.TemporaryDirectory(prefix="openbss-test-pg-") as tmp:
        server = embedded.start(Path(tmp) / "pgdata")
        yield embedded.admin_uri(server)
        server.cleanup()


@pytest.fixture(scope="session")
def template_url(admin_url):
    name = f"{TEMPLATE}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(normalize_url(_with_database(admin_url, name)), poolclass=sa.NullPool)
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(admin_url, template_url):
    name = f"openbss_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_url}"')
    eng = sa.create_engine(normalize_url(_with_database(admin_url, name)), pool_size=5)
    yield eng
    eng.dispose()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def event_sink():
    """Emitted domain events go to the outbox in tests as in production (the entry points install the sink)."""
    from openbss.api.events import install

    install(load_settings({}))


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 10, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def uow(engine, clock):
    """`with uow() as u:` opens a unit of work on the test database acting as 'test'."""

    @contextmanager
    def factory(actor: str = "test"):
        with unit_of_work(engine, actor=actor, clock=clock) as u:
            yield u

    return factory


@pytest.fixture
def settings(tmp_path):
    return load_settings({"OPENBSS_HOME": str(tmp_path / "home")})


@pytest.fixture
def api_key(uow):
    from openbss.auth.service import create_api_key

    with uow() as u:
        return create_api_key(u, "test-admin", "admin")


@pytest.fixture
def client(engine, settings, clock, api_key):
    """An HTTP client on the full app, authenticated as an admin."""
    from fastapi.testclient import TestClient

    from openbss.api.app import create_app

    app = create_app(engine=engine, settings=settings, clock=clock)
    with TestClient(app, base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {api_key}"
        yield c


@pytest.fixture
def run_cli(engine):
    """`run_cli(typer_app, [args...])` invokes a command against this test's database."""
    from typer.testing import CliRunner

    from openbss.db.engine import set_engine

    runner = CliRunner()
    set_engine(engine)
    yield lambda app, args, **kwargs: runner.invoke(app, args, **kwargs)
    set_engine(None)

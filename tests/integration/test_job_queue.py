"""The job queue's recovery of jobs whose worker died: every worker and the bill run command look for them, so
two may find the same job; the second must let it be, not fail."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from openbss.db import queue


def _stalled_job(engine, uow) -> int:
    """A job in "doing" whose worker last beat an hour ago (it was killed)."""
    with uow() as u:
        [job_id] = queue.defer(u, "billing.test_task", "billrun", [{"period": "2026-10"}])
    with engine.begin() as conn:
        worker = conn.execute(sa.text("INSERT INTO procrastinate_workers (last_heartbeat) "
                                      "VALUES (now() - interval '1 hour') RETURNING id")).scalar_one()
        conn.execute(sa.text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE id = :j"),
                     {"w": worker, "j": job_id})
    return job_id


def _status(engine, job_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT status::text FROM procrastinate_jobs WHERE id = :j"),
                            {"j": job_id}).scalar_one()


def test_a_stalled_job_is_queued_again_once_when_two_find_it(engine, uow, monkeypatch):
    job_id = _stalled_job(engine, uow)

    async def found_before_the_other_retried(**_):
        return stale  # what the slower process read before the faster one put the job back

    async def read() -> list:
        with queue.app.replace_connector(queue._connector(engine)):
            async with queue.app.open_async():
                return list(await queue.app.job_manager.get_stalled_jobs(queue="billrun",
                                                                          seconds_since_heartbeat=queue.STALLED))

    stale = asyncio.run(read())
    assert [j.id for j in stale] == [job_id]
    assert queue.retry_stalled(engine, ["billrun"]) == 1  # the faster process
    assert _status(engine, job_id) == "todo"
    monkeypatch.setattr(queue.app.job_manager, "get_stalled_jobs", found_before_the_other_retried)
    assert queue.retry_stalled(engine, ["billrun"]) == 0  # the slower one: nothing to do, no error
    assert _status(engine, job_id) == "todo"

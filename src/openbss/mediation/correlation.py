"""Correlation of partial records: a long call split by the switch is rated once, as one record.

Switches cut long calls into partial records (3GPP MSC CDRs: recordSequenceNumber 1, 2, ... with
causeForTermination "partialRecord" on all but the last; softswitches: a "long call" record every N
minutes). Rating each part alone would charge the connect fee per part and round the increments and the
minimum per part, so `ingest_lines` hands the partial records (`UsageRecord.part_of` set) to `take_parts`
before deduplication:

- Each part is held in `usage_partial`, unique per (source, part_of, part): a part sent again is a
  duplicate, and so is a part of a call already stored as usage (under the record key `part_of`).
- A call is complete when the part marked last has arrived and every part from 1 to it is held, in
  whatever order they came. Its parts are deleted and `model.merged_call` makes the one record that goes
  on through the pipeline (dedupe, enrich, rate, store): record key `part_of`, service id, usage type and
  destination of part 1, dated at part 1's start, the parts' quantities summed.
- A call whose parts cannot be one call (a part with another service id, usage type or destination than
  part 1; two parts marked last; a part after the last), or whose merged record is rejected (no
  subscription, no price), goes to the quarantine as its parts, each with the call's reason and its own
  payload: reprocessing them holds and merges them again, so nothing is lost. The parts of the batch are
  reported as its rejections (the caller quarantines them, as it does all its rejections); parts held from
  earlier batches are quarantined here, with the line and origin they came with.
- Calls that never complete (a lost last part) stay held until an operator lists them (`held_calls`,
  `openbss usage partials`) and flushes them (`flush_incomplete`) to the quarantine, with the reason
  "incomplete: parts 1,2 of ? held since ..."; reprocessing those entries once the missing part has
  arrived merges the call.
- Taking a part closes its open quarantine entry (reprocessed, resolution "held", "merged" with the
  call's usage, or "duplicate"), as storing a whole record closes its entry.

Two transactions holding parts of one call are serialized by an advisory lock per (source, part_of),
taken in sorted order (no deadlock between batches sharing calls): the second sees the first's parts, so a
call is merged exactly once and never left incomplete by two halves committed side by side.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert

from openbss.audit import service as audit
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork
from openbss.mediation.model import (
    HeldCall,
    Problem,
    Rejection,
    UsageRecord,
    incomplete_reason,
    merged_call,
    record_problem,
)
from openbss.mediation.quarantine import quarantine_records
from openbss.mediation.tables import usage, usage_partial, usage_quarantine

CallKey = tuple[str, str]  # (source, part_of)
_p = usage_partial.c


@dataclass(frozen=True)
class HeldPart:
    record: UsageRecord
    line: int | None
    origin: str
    received_at: datetime


@dataclass(frozen=True)
class Call:
    """A complete call: the merged record, reported under `line` (its first part in this batch), all its
    parts, and those of them that came in this batch, with their lines."""

    record: UsageRecord
    line: int
    parts: list[HeldPart]
    batch: list[tuple[int, UsageRecord]]


@dataclass
class Correlated:
    """What `take_parts` did with a batch's partial records."""

    calls: list[Call] = field(default_factory=list)  # complete: their records go on through the pipeline
    rejected: list[Rejection] = field(default_factory=list)  # the batch's parts of calls that cannot be merged
    taken: list[tuple[int, UsageRecord]] = field(default_factory=list)  # held now (maybe merged already)
    duplicates: list[tuple[int, UsageRecord]] = field(default_factory=list)


def _key(r: UsageRecord) -> CallKey:
    return (r.source, r.part_of)


def _lock(uow: UnitOfWork, keys: Iterable[CallKey]) -> None:
    for source, part_of in sorted(set(keys)):
        uow.advisory_lock("usage-partial", f"{source}:{part_of}")


def _pairs(keys: Iterable[CallKey]) -> sa.Select:
    """(source, part_of) of each call as rows: one array parameter per column, whatever the batch size."""
    keys = list(keys)
    pairs = sa.func.unnest(sa.bindparam("sources", [s for s, _ in keys], type_=ARRAY(sa.Text)),
                           sa.bindparam("calls", [c for _, c in keys], type_=ARRAY(sa.Text))
                           ).table_valued("source", "part_of").render_derived()  # fmt: skip
    return sa.select(pairs.c.source, pairs.c.part_of)


def _stored_calls(uow: UnitOfWork, keys: set[CallKey]) -> dict[CallKey, uuid.UUID]:
    """The usage already stored under each call's (source, part_of)."""
    if not keys:
        return {}
    rows = uow.conn.execute(sa.select(usage.c.source, usage.c.record_key, usage.c.id).where(
        sa.tuple_(usage.c.source, usage.c.record_key).in_(_pairs(keys))))
    return {(r.source, r.record_key): r.id for r in rows}


def _part_row(uow: UnitOfWork, line: int, r: UsageRecord, origin: str | None) -> dict:
    return {"id": new_id(), "created_at": uow.now(), "source": r.source, "part_of": r.part_of, "part": r.part,
            "last_part": r.last_part, "record_key": r.record_key, "service_id": r.service_id,
            "usage_type": r.usage_type, "usage_date": r.usage_date, "quantity": r.quantity,
            "destination": r.destination, "line": line, "origin": origin or r.source}  # fmt: skip


def _held(row: sa.Row) -> HeldPart:
    record = UsageRecord(row.source, row.record_key, row.service_id, row.usage_type, row.usage_date, row.quantity,
                         row.destination, row.part_of, row.part, row.last_part)  # fmt: skip
    return HeldPart(record, row.line, row.origin, row.created_at)


def _call_condition(keys: Iterable[CallKey]) -> sa.ColumnElement[bool]:
    return sa.tuple_(_p.source, _p.part_of).in_(_pairs(keys))


def _held_parts(uow: UnitOfWork, keys: set[CallKey]) -> dict[CallKey, list[HeldPart]]:
    rows = uow.conn.execute(sa.select(usage_partial).where(_call_condition(keys))
                            .order_by(_p.source, _p.part_of, _p.part))  # fmt: skip
    return {key: [_held(r) for r in group] for key, group in itertools.groupby(rows, key=lambda r: (r.source, r.part_of))}


def _release(uow: UnitOfWork, keys: Iterable[CallKey]) -> None:
    keys = list(keys)
    if keys:
        uow.conn.execute(sa.delete(usage_partial).where(_call_condition(keys)))


def quarantine_call(
    uow: UnitOfWork, parts: Sequence[HeldPart], batch: Sequence[tuple[int, UsageRecord]], problem: Problem
) -> list[Rejection]:
    """Send a call that cannot be stored to the quarantine as its parts, each with the call's problem.
    Returns the rejections of the parts that came in this batch (`batch`, by line: the caller quarantines
    them with its other rejections); the parts held from earlier batches are quarantined here, under the
    line and origin they came with. The caller stops holding the parts."""
    in_batch = {r.part for _, r in batch}
    earlier = sorted((p for p in parts if p.record.part not in in_batch), key=lambda p: p.origin)
    for origin, group in itertools.groupby(earlier, key=lambda p: p.origin):
        quarantine_records(uow, [(Rejection.of(p.line, problem), p.record) for p in group], origin=origin)
    return [Rejection.of(line, problem) for line, _ in sorted(batch, key=lambda b: b[0])]


def take_parts(
    uow: UnitOfWork, numbered: Sequence[tuple[int, UsageRecord]], *, now: datetime, origin: str | None = None
) -> Correlated:
    """Hold a batch's valid partial records and merge the calls they complete (see the module doc); `now` is
    the moment of intake, against which a merged record is validated (its summed quantity must fit)."""
    out = Correlated()
    if not numbered:
        return out
    keys = {_key(r) for _, r in numbered}
    _lock(uow, keys)
    done = _stored_calls(uow, keys)
    new = [(line, r) for line, r in numbered if _key(r) not in done]
    out.duplicates = [(line, r) for line, r in numbered if _key(r) in done]
    inserted = set()
    if new:
        stmt = insert(usage_partial).on_conflict_do_nothing(index_elements=["source", "part_of", "part"])
        inserted = {(s, c, n) for s, c, n in uow.conn.execute(
            stmt.returning(_p.source, _p.part_of, _p.part),
            [_part_row(uow, line, r, origin) for line, r in new])}  # fmt: skip
    for line, r in new:
        if (r.source, r.part_of, r.part) in inserted:
            inserted.discard((r.source, r.part_of, r.part))  # a part repeated in the batch: the first is taken
            out.taken.append((line, r))
        else:
            out.duplicates.append((line, r))
    batch_of: dict[CallKey, list[tuple[int, UsageRecord]]] = {}
    for line, r in out.taken:
        batch_of.setdefault(_key(r), []).append((line, r))
    held = _held_parts(uow, set(batch_of))
    finished = []
    for key, parts in held.items():
        state = merged_call([p.record for p in parts])
        if state is None:
            continue
        if isinstance(state, UsageRecord):
            state = record_problem(state, now) or state
        finished.append(key)
        if isinstance(state, Problem):
            out.rejected += quarantine_call(uow, parts, batch_of[key], state)
        else:
            out.calls.append(Call(state, min(line for line, _ in batch_of[key]), parts, batch_of[key]))
    _release(uow, finished)
    return out


def settle_entries(
    uow: UnitOfWork, correlated: Correlated, rejected_lines: set[int], stored: Mapping[CallKey, uuid.UUID]
) -> None:
    """Close the open quarantine entries of the batch's parts that were not rejected: "held" (waiting for the
    rest of their call), "merged" (into the call now stored, `stored`: its usage), or "duplicate"."""
    merged = {(c.record.source, c.record.record_key) for c in correlated.calls}
    outcomes = [(r, "merged" if _key(r) in merged else "held") for line, r in correlated.taken
                if line not in rejected_lines]
    outcomes += [(r, "duplicate") for line, r in correlated.duplicates if line not in rejected_lines]
    if not outcomes:
        return
    columns = {"source": [r.source for r, _ in outcomes], "record_key": [r.record_key for r, _ in outcomes],
               "resolution": [how for _, how in outcomes]}  # fmt: skip
    settled = sa.func.unnest(
        *(sa.bindparam(name, values, type_=ARRAY(sa.Text)) for name, values in columns.items()),
        sa.bindparam("usage_ids", [stored.get(_key(r)) for r, _ in outcomes], type_=ARRAY(sa.UUID)),
    ).table_valued(*columns, "usage_id").render_derived()
    q = usage_quarantine.c
    uow.conn.execute(
        sa.update(usage_quarantine)
        .where(q.status == "open", q.source == settled.c.source, q.record_key == settled.c.record_key)
        .values(status="reprocessed", resolution=settled.c.resolution, usage_id=settled.c.usage_id,
                resolved_at=uow.now())
    )


def stored_calls(uow: UnitOfWork, calls: Iterable[Call]) -> dict[CallKey, uuid.UUID]:
    """The usage stored for these calls (keyed by (source, part_of))."""
    return _stored_calls(uow, {(c.record.source, c.record.record_key) for c in calls})


def _calls_query(older_than: timedelta | None, now: datetime, source: str | None) -> sa.Select:
    last_part = sa.func.max(_p.part).filter(_p.last_part)
    query = (
        sa.select(_p.source, _p.part_of, sa.func.min(_p.service_id).label("service_id"),
                  sa.func.min(_p.usage_type).label("usage_type"),
                  sa.func.array_agg(aggregate_order_by(_p.part, _p.part)).label("parts"), last_part.label("last"),
                  sa.func.sum(_p.quantity).label("quantity"), sa.func.min(_p.created_at).label("first_received"),
                  sa.func.max(_p.created_at).label("last_received"))
        .group_by(_p.source, _p.part_of)
        .order_by(sa.func.min(_p.created_at), _p.source, _p.part_of)
    )  # fmt: skip
    if source is not None:
        query = query.where(_p.source == source)
    if older_than is not None:
        query = query.having(sa.func.max(_p.created_at) < now - older_than)
    return query


def held_calls(
    uow: UnitOfWork, *, older_than: timedelta | None = None, source: str | None = None, limit: int = 1000
) -> list[HeldCall]:
    """Calls with held parts, the longest waiting first; with `older_than`, only those whose latest part
    arrived longer ago than that (a call still sending parts every few minutes is not stuck)."""
    rows = uow.conn.execute(_calls_query(older_than, uow.now(), source).limit(limit))
    return [HeldCall(r.source, r.part_of, r.service_id, r.usage_type, list(r.parts), r.last, r.quantity,
                     r.first_received, r.last_received) for r in rows]  # fmt: skip


def flush_incomplete(
    uow: UnitOfWork, *, older_than: timedelta, source: str | None = None, limit: int = 10_000
) -> list[HeldCall]:
    """Send the calls whose latest part arrived longer ago than `older_than` to the quarantine, as their parts
    with the reason "incomplete: parts 1,2 of ? held since ...", and stop holding them; returns those calls.
    Each call is locked and read again, so a part arriving meanwhile is flushed with it or waits for it."""
    candidates = held_calls(uow, older_than=older_than, source=source, limit=limit)
    keys = {(c.source, c.part_of) for c in candidates}
    _lock(uow, keys)
    calls = [c for c in held_calls(uow, older_than=older_than, source=source, limit=limit)
             if (c.source, c.part_of) in keys]  # fmt: skip
    parts = _held_parts(uow, {(c.source, c.part_of) for c in calls})
    for call in calls:
        reason = incomplete_reason(call.parts, call.last, call.first_received)
        quarantine_call(uow, parts[(call.source, call.part_of)], (), Problem("partOf", call.part_of, reason))
    _release(uow, parts)
    if calls:
        audit.record(uow, "usagePartial.flushed", "usagePartial", new_id(),
                     after={"olderThan": str(older_than), "calls": [[c.source, c.part_of] for c in calls],
                            "parts": sum(len(c.parts) for c in calls)})  # fmt: skip
    return calls

"""The usage quarantine: every record the pipeline could not store, with the field, value and reason,
kept until the cause is fixed and the record reprocessed (`mediation.service.reprocess`) or discarded.

Two kinds of entry:

- a decoded record that was rejected (validation, unknown subscriber, no subscription at its date, no
  price): `payload` holds its fields as JSON strings, so reprocessing rebuilds exactly that record;
- input that could not be decoded at all (a truncated CSV line, a message that is not JSON): `raw`
  holds its text. It cannot be reprocessed (there is no record to rebuild); it is discarded once
  seen to, and the corrected input is sent again.

`origin` says where the record came in: "api", "csv:<file name>", "spool:<file name>", "radius",
"nats"... (default: the source). Quarantining the same record again while its entry is still open,
as when the same bad file is imported twice, updates that entry (latest line, origin, payload, field,
value and reason) instead of adding a second: one open entry per (source, record key), and per
(source, raw text) for undecodable input. Entries are stored in the caller's transaction, so a
rejection is recorded exactly when the records beside it are.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from openbss.audit import service as audit
from openbss.core.errors import InvalidValue, NotFound
from openbss.core.ids import new_id
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.mediation.model import (
    QUARANTINE_STATUSES,
    QuarantineEntry,
    Rejection,
    UsageRecord,
    record_payload,
)
from openbss.mediation.tables import usage_quarantine as q

# What a repeated quarantine refreshes in the open entry.
_REFRESHED = ("line", "origin", "payload", "raw", "field", "value", "reason")


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _row(uow: UnitOfWork, source: str, origin: str, r: Rejection, **content) -> dict:
    return {
        "id": new_id(),
        "created_at": uow.now(),
        "source": source,
        "line": r.line,
        "origin": origin,
        "field": r.field,
        "value": _text(r.value),
        "reason": r.reason,
        "status": "open",
        **content,
    }


def _upsert(uow: UnitOfWork, rows: list[dict], keys: list, where: str) -> None:
    stmt = insert(q)
    uow.conn.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            index_where=sa.text(where),
            set_={name: stmt.excluded[name] for name in _REFRESHED},
        ),
        rows,
    )


def quarantine_records(
    uow: UnitOfWork, entries: Iterable[tuple[Rejection, UsageRecord]], *, origin: str | None = None
) -> None:
    """Quarantine decoded records with why each was rejected (`origin` defaults to each record's source)."""
    rows: dict[tuple[str, str], dict] = {}
    for rejection, record in entries:
        row = _row(uow, record.source, origin or record.source, rejection,
                   record_key=record.record_key, payload=record_payload(record))  # fmt: skip
        rows[(record.source, record.record_key)] = row  # a key repeated in one batch: one entry, the last
    if rows:
        _upsert(uow, list(rows.values()), [q.c.source, q.c.record_key],
                "status = 'open' AND record_key IS NOT NULL")  # fmt: skip


def quarantine_raw(
    uow: UnitOfWork, source: str, entries: Sequence[tuple[Rejection, str]], *, origin: str | None = None
) -> None:
    """Quarantine input that could not be decoded into a record: each rejection with the raw text (the
    line or the message) it was read from. `origin` defaults to `source`."""
    rows = {raw: _row(uow, source, origin or source, rejection, raw=raw) for rejection, raw in entries}
    if rows:
        _upsert(uow, list(rows.values()), [q.c.source, sa.func.md5(q.c.raw)],
                "status = 'open' AND payload IS NULL")  # fmt: skip


def _entry(row: sa.Row) -> QuarantineEntry:
    return QuarantineEntry(**row._mapping)


def _conditions(status: str | None, source: str | None) -> list:
    if status is not None and status not in QUARANTINE_STATUSES:
        raise InvalidValue("status", status, f"must be one of {', '.join(QUARANTINE_STATUSES)}")
    return [c for c in (status and q.c.status == status, source and q.c.source == source) if c is not None]


def list_quarantine(
    uow: UnitOfWork, *, status: str | None = None, source: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[QuarantineEntry], int]:
    """Entries, oldest first, and how many match."""
    rows, total = paged(uow.conn, sa.select(q).where(*_conditions(status, source)), offset, limit, q.c.id)
    return [_entry(r) for r in rows], total


def reason_counts(
    uow: UnitOfWork, *, status: str | None = None, source: str | None = None
) -> list[tuple[str, str, int]]:
    """(field, reason, entries) for the matching entries, most frequent first."""
    count = sa.func.count().label("entries")
    rows = uow.conn.execute(
        sa.select(q.c.field, q.c.reason, count)
        .where(*_conditions(status, source))
        .group_by(q.c.field, q.c.reason)
        .order_by(count.desc(), q.c.field, q.c.reason)
    )
    return [(r.field, r.reason, r.entries) for r in rows]


def open_entries(
    uow: UnitOfWork,
    *,
    ids: Sequence[uuid.UUID] | None = None,
    source: str | None = None,
    reason_contains: str | None = None,
    limit: int = 10_000,
) -> list[QuarantineEntry]:
    """Open entries to reprocess, oldest first, locked until the transaction ends (two operators
    reprocessing at once do not handle one entry twice: the second skips what the first holds)."""
    conditions = [q.c.status == "open", *_conditions(None, source)]
    if ids is not None:
        conditions.append(q.c.id.in_(list(ids)))
    if reason_contains:
        conditions.append(q.c.reason.contains(reason_contains, autoescape=True))
    rows = uow.conn.execute(
        sa.select(q).where(*conditions).order_by(q.c.id).limit(limit).with_for_update(skip_locked=True)
    )
    return [_entry(r) for r in rows]


def resolve(
    uow: UnitOfWork, entry_id: uuid.UUID, status: str, resolution: str, usage_id: uuid.UUID | None = None
) -> None:
    """Close an entry if it is still open (reprocessed or discarded); the caller audits."""
    uow.conn.execute(
        sa.update(q)
        .where(q.c.id == entry_id, q.c.status == "open")
        .values(status=status, resolution=resolution, usage_id=usage_id, resolved_at=uow.now())
    )


def still_failing(uow: UnitOfWork, entry_id: uuid.UUID, rejection: Rejection) -> None:
    """An entry that failed again stays open with the new field, value and reason."""
    uow.conn.execute(
        sa.update(q)
        .where(q.c.id == entry_id)
        .values(field=rejection.field, value=_text(rejection.value), reason=rejection.reason)
    )


def discard(uow: UnitOfWork, ids: Sequence[uuid.UUID], why: str) -> int:
    """Close open entries without storing them (raw input resent corrected, or a record not to bill);
    returns how many were open. `why` is kept as the entry's resolution and in the audit trail."""
    if not why.strip():
        raise InvalidValue("reason", why, "must say why the entries are discarded")
    entries = open_entries(uow, ids=ids, limit=len(ids))
    for entry in entries:
        resolve(uow, entry.id, "discarded", why)
    if entries:
        audit.record(uow, "usageQuarantine.discarded", "usageQuarantine", new_id(),
                     after={"entries": [e.id for e in entries], "reason": why})  # fmt: skip
    return len(entries)


def get_entry(uow: UnitOfWork, entry_id: uuid.UUID) -> QuarantineEntry:
    row = uow.conn.execute(sa.select(q).where(q.c.id == entry_id)).first()
    if row is None:
        raise NotFound("usageQuarantine", str(entry_id))
    return _entry(row)

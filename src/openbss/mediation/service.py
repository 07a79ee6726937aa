"""Use cases for usage: intake (API, batches, CSV files), rating on the way in, and the bill run's claim.

CSV files (`openbss usage import FILE`) are UTF-8 (a BOM is allowed) with a header line naming at least
these columns, in any order; other columns are ignored:

    record_key,service_id,usage_type,start_time,quantity
    cdr-0001,+4915112345678,voice,2026-09-15T10:00:00+02:00,60
    cdr-0002,+4915112345678,data,2026-09-15T10:05:00Z,1500000

`record_key` is unique within the import's source (the key of idempotency: re-importing a file stores
nothing twice); `usage_type` is voice (quantity in seconds), sms (messages) or data (bytes);
`start_time` is ISO 8601 with a UTC offset or `Z`; `quantity` is a decimal with at most 6 decimals.
A row that cannot be read or rated is reported with its line number (the header is line 1) and the
other rows are imported. Each batch of rows commits on its own, so an interrupted import keeps what it
committed and a re-run skips it.
"""

from __future__ import annotations

import csv
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert

from openbss.audit import service as audit
from openbss.catalog import service as catalog
from openbss.catalog.model import USAGE_UNITS, Price
from openbss.core.clock import Clock
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.mediation.model import (
    IngestResult,
    Problem,
    Rejection,
    Usage,
    UsageRecord,
    UsageTotal,
    record_problem,
)
from openbss.mediation.tables import usage
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.party import service as party
from openbss.rating.model import rate

USAGE_FILTERS = {"usageType": usage.c.usage_type, "status": usage.c.status}
# How each interface names the record's fields in the errors it returns.
API_FIELDS = {
    "source": "usageCharacteristic.source",
    "recordKey": "usageCharacteristic.recordKey",
    "serviceId": "usageCharacteristic.serviceId",
    "quantity": "usageCharacteristic.quantity",
}
CSV_COLUMNS = {
    "recordKey": "record_key",
    "serviceId": "service_id",
    "usageType": "usage_type",
    "usageDate": "start_time",
    "quantity": "quantity",
}
# Columns the bulk insert fills; `invoice_id` stays NULL until a bill run claims the row.
_INSERTED = [c for c in usage.c if c.name != "invoice_id"]


class _Tariffs:
    """Product and price look-ups for one batch: the products of all its service ids and their accounts'
    currencies are read in one query each, prices once per (offering, usage type, currency) while valid."""

    def __init__(self, uow: UnitOfWork, service_ids: Iterable[str]):
        self.uow = uow
        self.products = ordering.products_by_service_id(uow, service_ids)
        self.currencies = party.account_currencies(
            uow, {p.account_id for products in self.products.values() for p in products}
        )
        self.prices: dict[tuple[uuid.UUID, str, str], Price] = {}

    def product(self, service_id: str, at: datetime) -> Product:
        found = ordering.active_at(self.products.get(service_id, ()), at)
        if found is None:
            raise InvalidValue("serviceId", service_id, f"has no active subscription at {at.isoformat()}")
        return found

    def price(self, product: Product, usage_type: str, at: datetime) -> Price:
        key = (product.offering_id, usage_type, self.currencies[product.account_id])
        cached = self.prices.get(key)
        if cached is not None and cached.is_valid_at(at):
            return cached
        self.prices[key] = catalog.usage_price(self.uow, *key, at)
        return self.prices[key]

    def rated(self, r: UsageRecord) -> dict:
        """The row to store for a valid record; InvalidValue when it has no subscription or no price."""
        product = self.product(r.service_id, r.usage_date)
        price = self.price(product, r.usage_type, r.usage_date)
        charge = rate(r.quantity, price)
        return {
            "id": new_id(),
            "created_at": self.uow.now(),
            "account_id": product.account_id,
            "product_id": product.id,
            # Spelled out: dataclasses.asdict deep-copies every value, a third of the time of a bulk import.
            "source": r.source,
            "record_key": r.record_key,
            "service_id": r.service_id,
            "usage_type": r.usage_type,
            "usage_date": r.usage_date,
            "quantity": r.quantity,
            "unit": USAGE_UNITS[r.usage_type],
            "charge": charge.amount,
            "currency": charge.currency,
            "price_id": price.id,
            "status": "rated",
        }


def _usage(row: sa.Row) -> Usage:
    m = dict(row._mapping)
    m["charge"] = Money(m["charge"], m.pop("currency"))
    return Usage(**m)


def _insert_new(uow: UnitOfWork, rows: list[dict]) -> list[uuid.UUID]:
    """Insert rows in one statement (one array parameter per column, so no parameter-count limit) and
    return the ids stored; a row whose (source, record_key) is already stored, or is repeated in `rows`,
    is skipped by the unique constraint."""
    arrays = [sa.bindparam(c.name, [r[c.name] for r in rows], type_=ARRAY(c.type)) for c in _INSERTED]
    source = sa.func.unnest(*arrays).table_valued(*(c.name for c in _INSERTED)).render_derived()
    stmt = (
        insert(usage)
        .from_select([c.name for c in _INSERTED], sa.select(source))
        .on_conflict_do_nothing(index_elements=["source", "record_key"])
        .returning(usage.c.id)
    )
    return list(uow.conn.execute(stmt).scalars())


def _rated(tariffs: _Tariffs, record: UsageRecord) -> dict | Problem:
    problem = record_problem(record)
    if problem is not None:
        return problem
    try:
        return tariffs.rated(record)
    except InvalidValue as exc:
        return Problem.of(exc)


def ingest_lines(uow: UnitOfWork, numbered: Iterable[tuple[int, UsageRecord]]) -> IngestResult:
    """Rate and store (line, record) pairs in one statement; bad records are reported by line."""
    numbered = list(numbered)
    tariffs = _Tariffs(uow, {r.service_id for _, r in numbered if isinstance(r.service_id, str)})
    rows: list[dict] = []
    rejected: list[Rejection] = []
    for line, record in numbered:
        rated = _rated(tariffs, record)
        if isinstance(rated, Problem):
            rejected.append(Rejection(line, rated.field, rated.value, rated.reason))
        else:
            rows.append(rated)
    inserted = len(_insert_new(uow, rows)) if rows else 0
    result = IngestResult(inserted, len(rows) - inserted, rejected)
    if rows or rejected:
        audit.record(
            uow,
            "usage.ingested",
            "usageBatch",
            new_id(),
            after={"accepted": result.accepted, "duplicates": result.duplicates, "rejected": len(rejected)},
        )
    return result


def ingest(uow: UnitOfWork, records: Sequence[UsageRecord], *, first_line: int = 1) -> IngestResult:
    """Rate and store a batch; bad records are reported (record i as line first_line + i), good ones kept."""
    return ingest_lines(uow, zip(itertools.count(first_line), records))


def renamed(result: IngestResult, names: Mapping[str, str]) -> IngestResult:
    """The result with rejection fields named as the caller's interface names them (CSV column, API path)."""
    return replace(result, rejected=[replace(r, field=names.get(r.field, r.field)) for r in result.rejected])


def find_usage(uow: UnitOfWork, source: str, record_key: str) -> Usage | None:
    row = uow.conn.execute(
        sa.select(usage).where(usage.c.source == source, usage.c.record_key == record_key)
    ).first()
    return None if row is None else _usage(row)


def _same_event(stored: Usage, r: UsageRecord) -> bool:
    facts = (stored.service_id, stored.usage_type, stored.usage_date, stored.quantity)
    return facts == (r.service_id, r.usage_type, r.usage_date, r.quantity)


def ingest_one(uow: UnitOfWork, record: UsageRecord) -> tuple[Usage, bool]:
    """Rate and store one record for the API; returns (usage, created). Sending the same record again
    returns the stored usage with created=False; another record under a key already used is a Conflict,
    since answering it with the stored one would silently lose it. Errors name the field by its API path."""
    row = _rated(_Tariffs(uow, [record.service_id]), record)
    if isinstance(row, Problem):
        raise InvalidValue(API_FIELDS.get(row.field, row.field), row.value, row.reason)
    stored = _insert_new(uow, [row])
    if stored:
        created = get_usage(uow, stored[0])
        audit.record(uow, "usage.created", "usage", created.id, after=asdict(created))
        return created, True
    existing = find_usage(uow, record.source, record.record_key)
    if not _same_event(existing, record):
        raise Conflict(
            f"{API_FIELDS['recordKey']}={record.record_key!r} of source {record.source!r} "
            f"is already stored for another usage ({existing.id})"
        )
    return existing, False


def get_usage(uow: UnitOfWork, usage_id: uuid.UUID) -> Usage:
    row = uow.conn.execute(sa.select(usage).where(usage.c.id == usage_id)).first()
    if row is None:
        raise NotFound("usage", str(usage_id))
    return _usage(row)


def list_usage(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Usage], int]:
    conditions = [USAGE_FILTERS[k] == v for k, v in filters.items() if k in USAGE_FILTERS]
    if "billingAccountId" in filters:
        conditions.append(usage.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    rows, total = paged(uow.conn, sa.select(usage).where(*conditions), offset, limit, usage.c.id)
    return [_usage(r) for r in rows], total


def claim_unbilled_usage(
    uow: UnitOfWork, account_id: uuid.UUID, before: datetime, invoice_id: uuid.UUID
) -> list[UsageTotal]:
    """Mark the account's rated usage dated before `before` as billed on `invoice_id` and return its totals
    per (product, usage type). One statement: the rows summed are exactly the rows marked, so usage
    committed meanwhile is either on this invoice or left for the next one, never billed unseen."""
    claimed = (
        sa.update(usage)
        .where(usage.c.account_id == account_id, usage.c.status == "rated", usage.c.usage_date < before)
        .values(status="billed", invoice_id=invoice_id)
        .returning(usage.c.product_id, usage.c.usage_type, usage.c.unit, usage.c.quantity, usage.c.charge, usage.c.currency)
        .cte("claimed")
    )
    keys = (claimed.c.product_id, claimed.c.usage_type, claimed.c.unit, claimed.c.currency)
    rows = uow.conn.execute(
        sa.select(
            *keys,
            sa.func.count().label("count"),
            sa.func.sum(claimed.c.quantity).label("quantity"),
            sa.func.sum(claimed.c.charge).label("amount"),
        )
        .group_by(*keys)
        .order_by(claimed.c.product_id, claimed.c.usage_type)
    ).all()
    totals = [
        UsageTotal(r.product_id, r.usage_type, r.unit, r.count, r.quantity, Money(r.amount, r.currency)) for r in rows
    ]
    if totals:
        audit.record(
            uow,
            "usage.billed",
            "invoice",
            invoice_id,
            after={"accountId": account_id, "records": sum(t.count for t in totals)},
        )
    return totals


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(line number, row by column name) for each data row; the header is line 1."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS.values() if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidValue("header", ",".join(reader.fieldnames or []), f"lacks the column(s) {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, row


def parse_row(row: Mapping[str, str | None], source: str) -> UsageRecord | Problem:
    """A CSV row as a record, or the problem naming the column that cannot be read."""
    values = {}
    for column in CSV_COLUMNS.values():
        raw = row.get(column)
        if raw is None or not raw.strip():
            return Problem(column, raw, "is missing")
        values[column] = raw.strip()
    try:
        usage_date = datetime.fromisoformat(values["start_time"])
    except ValueError:
        return Problem("start_time", values["start_time"], "is not an ISO 8601 date-time such as 2026-09-15T10:00:00+02:00")
    try:
        quantity = Decimal(values["quantity"])
    except ArithmeticError:
        return Problem("quantity", values["quantity"], "is not a decimal number")
    return UsageRecord(source, values["record_key"], values["service_id"], values["usage_type"], usage_date, quantity)


def import_csv(
    engine: sa.Engine,
    path: Path,
    *,
    source: str,
    clock: Clock,
    batch_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
    actor: str = "usage-import",
) -> IngestResult:
    """Import a CSV file (format in this module's docstring), one unit of work per batch of rows.
    `on_progress` gets the number of data rows read so far after each batch."""
    result = IngestResult(0, 0, [])
    done = 0
    rows = read_csv(path)
    for batch in iter(lambda: list(itertools.islice(rows, batch_size)), []):
        numbered, unreadable = [], []
        for line, row in batch:
            parsed = parse_row(row, source)
            if isinstance(parsed, Problem):
                unreadable.append(Rejection(line, parsed.field, parsed.value, parsed.reason))
            else:
                numbered.append((line, parsed))
        with unit_of_work(engine, actor=actor, clock=clock) as uow:
            ingested = ingest_lines(uow, numbered)
        result = result + renamed(ingested, CSV_COLUMNS) + IngestResult(0, 0, unreadable)
        done += len(batch)
        if on_progress is not None:
            on_progress(done)
    return result

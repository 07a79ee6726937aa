"""Use cases for usage: intake (API, batches, CSV files), rating on the way in, and the bill run's claim.

CSV files (`openbss usage import FILE`, read by `mediation.bulk`) are UTF-8 (a BOM is allowed) with a header line naming at least
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

import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert

from openbss.audit import service as audit
from openbss.catalog.model import USAGE_UNITS
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.bulk import insert_from_arrays
from openbss.db.metadata import QUANTITY
from openbss.db.query import among, paged
from openbss.db.uow import UnitOfWork
from openbss.mediation import correlation
from openbss.mediation import quarantine as quarantine_store
from openbss.mediation.model import (
    IngestResult,
    OnlineUsage,
    Problem,
    Rejection,
    ReprocessResult,
    Usage,
    UsageAdjustment,
    UsageRecord,
    UsageTotal,
    payload_record,
    record_problem,
)
from openbss.mediation.quarantine import quarantine_records
from openbss.mediation.tables import rerate_run, usage, usage_adjustment, usage_billed_through, usage_quarantine
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.party import service as party
from openbss.rating.service import RatedCharge, RatingRequest, rate_records

USAGE_FILTERS = {"usageType": usage.c.usage_type, "status": usage.c.status}
# How each interface names the record's fields in the errors it returns.
API_FIELDS = {
    "source": "usageCharacteristic.source",
    "recordKey": "usageCharacteristic.recordKey",
    "serviceId": "usageCharacteristic.serviceId",
    "quantity": "usageCharacteristic.quantity",
    "destination": "usageCharacteristic.destination",
    "partOf": "usageCharacteristic.partOf",
    "part": "usageCharacteristic.part",
    "lastPart": "usageCharacteristic.lastPart",
}
CSV_COLUMNS = {
    "recordKey": "record_key",
    "serviceId": "service_id",
    "usageType": "usage_type",
    "usageDate": "start_time",
    "quantity": "quantity",
}
# Columns a CSV file may have; an empty cell is the same as no column. A partial record (a long call split
# by the switch) has `part_of` (the call's id), `part` (its number from 1) and `last_part` (true/false, 1/0).
CSV_OPTIONAL_COLUMNS = {"destination": "destination", "partOf": "part_of", "part": "part", "lastPart": "last_part"}
_CSV_FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}
T = TypeVar("T")


class ConcurrentIngest(Conflict):
    """Another transaction stored some of the same (source, record_key) between this one's duplicate check
    and its insert. Retryable: roll back and run the batch again, and those records count as duplicates
    (rating must not see them twice, as it may consume allowances)."""

    def __init__(self, expected: int, stored: int):
        super().__init__(
            f"{expected - stored} of {expected} usage records were stored by a concurrent transaction; retry"
        )


def retry_concurrent(attempt: Callable[[], T]) -> T:
    """Run `attempt` (which opens its own unit of work), once more if it lost a race to store the same records."""
    try:
        return attempt()
    except ConcurrentIngest:
        return attempt()


class _Subscriptions:
    """Enrichment for one batch: the products of all its service ids and their accounts' currencies, read in
    one query each."""

    def __init__(self, uow: UnitOfWork, service_ids: Iterable[str]):
        self.products = ordering.products_by_service_id(uow, service_ids)
        self.currencies = party.account_currencies(
            uow, {p.account_id for products in self.products.values() for p in products}
        )

    def product(self, service_id: str, at: datetime) -> Product:
        """The subscription the usage belongs to; InvalidValue telling an unknown subscriber from a known one
        without a subscription at that moment."""
        products = self.products.get(service_id, ())
        found = ordering.active_at(products, at)
        if found is not None:
            return found
        if not products:
            raise InvalidValue("serviceId", service_id, "is not the service id of any subscription")
        first = min(p.start_at for p in products)
        if at < first:
            raise InvalidValue("usageDate", at.isoformat(),
                               f"is before the subscription of serviceId {service_id!r} started ({first.isoformat()})")
        raise InvalidValue("usageDate", at.isoformat(), f"is when serviceId {service_id!r} had no active subscription")


def _row(uow: UnitOfWork, r: UsageRecord, product: Product, rated: RatedCharge) -> dict:
    return {
        "id": new_id(),
        "created_at": uow.now(),
        "account_id": product.account_id,
        "product_id": product.id,
        # Spelled out: dataclasses.asdict deep-copies every value, a third of the time of a bulk import.
        "source": r.source,
        "record_key": r.record_key,
        "service_id": r.service_id,
        "destination": r.destination,
        "usage_type": r.usage_type,
        "usage_date": r.usage_date,
        "quantity": r.quantity,
        "unit": USAGE_UNITS[r.usage_type],
        "charge": rated.charge.amount,
        "currency": rated.charge.currency,
        "price_id": rated.price_id,
        "status": "rated",
        "late": False,
        "zone": rated.zone,
        "band": rated.band,
        "allowance_used": rated.allowance_used,
    }


def _rate(uow: UnitOfWork, numbered: Sequence[tuple[int, UsageRecord]]) -> tuple[list[dict], list[Rejection]]:
    """Enrich (subscription and account at the event time) and rate (`rating.service.rate_records`, which may
    consume allowances): the rows to store, and the records without a subscription, a price or a rate. Only
    new records (validated and deduplicated) come here."""
    subscriptions = _Subscriptions(uow, {r.service_id for _, r in numbered})
    requests: list[tuple[int, RatingRequest]] = []
    rejected: list[Rejection] = []
    for line, record in numbered:
        try:
            product = subscriptions.product(record.service_id, record.usage_date)
        except InvalidValue as exc:
            rejected.append(Rejection.of(line, Problem.of(exc)))
            continue
        requests.append((line, RatingRequest(record, product, subscriptions.currencies[product.account_id])))
    rows: list[dict] = []
    for (line, request), rated in zip(requests, rate_records(uow, [r for _, r in requests]), strict=True):
        if isinstance(rated, Problem):
            rejected.append(Rejection.of(line, rated))
        else:
            rows.append(_row(uow, request.record, request.product, rated))
    return rows, rejected


def _usage(row: sa.Row) -> Usage:
    return _usage_of(dict(row._mapping))


def _usage_of(m: dict) -> Usage:
    m["charge"] = Money(m["charge"], m.pop("currency"))
    return Usage(**m)


def _insert_new(uow: UnitOfWork, rows: list[dict]) -> list[uuid.UUID]:
    """Insert rows (every column but `invoice_id`, which stays NULL until a bill run claims the row) in one
    statement (one array parameter per column, so no parameter-count limit) and
    return the ids stored; a row whose (source, record_key) is already stored is skipped by the unique
    constraint (the caller checked for those before rating: a skipped row means a concurrent insert)."""
    stmt = (insert_from_arrays(usage, rows).on_conflict_do_nothing(index_elements=["source", "record_key"])
            .returning(usage.c.id))
    return list(uow.conn.execute(stmt).scalars())


def store_online_usage(uow: UnitOfWork, charged: Sequence[OnlineUsage]) -> int:
    """Store usage the online charging system charged, already rated (TMF635 shows it, the bill run takes the
    postpaid part); a (source, record key) stored before is skipped. Returns how many were stored."""
    rows = [{
        "id": new_id(), "created_at": uow.now(), "account_id": c.account_id, "product_id": c.product_id,
        "source": c.record.source, "record_key": c.record.record_key, "service_id": c.record.service_id,
        "destination": c.record.destination, "usage_type": c.record.usage_type, "usage_date": c.record.usage_date,
        "quantity": c.record.quantity, "unit": USAGE_UNITS[c.record.usage_type], "charge": c.charge.amount,
        "currency": c.charge.currency, "price_id": c.price_id, "status": "prepaid" if c.prepaid else "rated",
        "late": False, "zone": None, "band": None, "allowance_used": c.allowance_used,
    } for c in charged]
    if not rows:
        return 0
    billable = [r for r in rows if r["status"] == "rated"]
    if billable:
        _mark_late(uow, billable)
    return len(_insert_new(uow, rows))


def stored_usage_ids(uow: UnitOfWork, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """The usage already stored under each of these (source, record_key), in one query."""
    keys = set(keys)
    if not keys:
        return {}
    sources, record_keys = {s for s, _ in keys}, {k for _, k in keys}
    rows = uow.conn.execute(
        sa.select(usage.c.source, usage.c.record_key, usage.c.id).where(
            usage.c.source == sa.any_(sa.bindparam("sources", list(sources), type_=ARRAY(sa.Text))),
            usage.c.record_key == sa.any_(sa.bindparam("keys", list(record_keys), type_=ARRAY(sa.Text))),
        )
    )
    return {(r.source, r.record_key): r.id for r in rows if (r.source, r.record_key) in keys}


def billed_through(uow: UnitOfWork, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """How far each account's usage was billed (accounts never billed are absent)."""
    t = usage_billed_through
    accounts = sa.bindparam("accounts", list(set(account_ids)), type_=ARRAY(sa.UUID))
    return dict(uow.conn.execute(sa.select(t.c.account_id, t.c.billed_until).where(t.c.account_id == sa.any_(accounts))
                                 ).all())


def _mark_late(uow: UnitOfWork, rows: list[dict]) -> None:
    """Flag rows dated before their account's usage was billed through: they go on the next invoice."""
    billed = billed_through(uow, (r["account_id"] for r in rows))
    for r in rows:
        until = billed.get(r["account_id"])
        r["late"] = until is not None and r["usage_date"] < until


def _store(uow: UnitOfWork, rows: list[dict]) -> list[uuid.UUID]:
    """Mark late rows and insert them all, or raise ConcurrentIngest if another transaction stored some."""
    if not rows:
        return []
    _mark_late(uow, rows)
    ids = _insert_new(uow, rows)
    if len(ids) < len(rows):
        raise ConcurrentIngest(len(rows), len(ids))
    return ids


def _resolve(uow: UnitOfWork, stored: sa.Select) -> int:
    """Close the open quarantine entries of records now stored (resent corrected, or reprocessed); `stored`
    selects (id, source, record_key) of usage."""
    stored = stored.subquery()
    q = usage_quarantine
    return uow.conn.execute(
        sa.update(q)
        .where(q.c.status == "open", q.c.source == stored.c.source, q.c.record_key == stored.c.record_key)
        .values(status="reprocessed", resolution="stored", usage_id=stored.c.id, resolved_at=uow.now())
    ).rowcount


def _resolve_resent(uow: UnitOfWork, ids: list[uuid.UUID]) -> int:
    if not ids:
        return 0
    return _resolve(uow, sa.select(usage.c.id, usage.c.source, usage.c.record_key).where(
        usage.c.id == sa.any_(sa.bindparam("ids", ids, type_=ARRAY(sa.UUID)))))


def resolve_stored(uow: UnitOfWork, source: str) -> int:
    """Close the open quarantine entries of `source` whose record is now stored (after a bulk COPY): driven by
    the few open entries, each found by the (source, record_key) index."""
    q = usage_quarantine
    open_keys = sa.select(q.c.record_key).where(q.c.status == "open", q.c.source == source)
    return _resolve(uow, sa.select(usage.c.id, usage.c.source, usage.c.record_key).where(
        usage.c.source == source, usage.c.record_key.in_(open_keys)))


def ingest_lines(
    uow: UnitOfWork,
    numbered: Iterable[tuple[int, UsageRecord]],
    *,
    origin: str | None = None,
    quarantine: bool = True,
) -> IngestResult:
    """The pipeline for decoded (line, record) pairs, in the caller's transaction: validate, drop
    duplicates (repeats in the batch after the first, and keys already stored), enrich and rate only
    the new records, mark late ones, store them in one statement. Rejected records are reported by line
    and, with `quarantine`, kept in the quarantine (`origin` says where they came in; default their
    source). Raises ConcurrentIngest (retryable) when another transaction stored some of the same
    keys meanwhile."""
    now = uow.now()
    rejected: list[Rejection] = []
    fresh: dict[tuple[str, str], tuple[int, UsageRecord]] = {}
    duplicates = 0
    by_line: dict[int, UsageRecord] = {}
    partial: list[tuple[int, UsageRecord]] = []
    for line, record in numbered:
        by_line[line] = record
        problem = record_problem(record, now)
        if problem is not None:
            rejected.append(Rejection.of(line, problem))
        elif record.part_of is not None:
            partial.append((line, record))
        elif (record.source, record.record_key) in fresh:
            duplicates += 1
        else:
            fresh[(record.source, record.record_key)] = (line, record)
    # Partial records are held until their call is complete; a complete call goes on as one record.
    correlated = correlation.take_parts(uow, partial, now=now, origin=origin)
    rejected += correlated.rejected
    duplicates += len(correlated.duplicates)
    calls = {}
    for call in correlated.calls:
        key = (call.record.source, call.record.record_key)
        if key in fresh:  # a whole record of the batch has the call's id as its key: keep the call's parts
            rejected += correlation.quarantine_call(uow, call.parts, call.batch, Problem(
                "partOf", call.record.record_key, "is also the record key of a whole record of this batch"))
        else:
            fresh[key], calls[call.line] = (call.line, call.record), call
    for key in stored_usage_ids(uow, fresh):
        del fresh[key]
        duplicates += 1
    rows, unrated = _rate(uow, list(fresh.values()))
    for r in unrated:  # a call that cannot be rated is quarantined as its parts, so reprocessing merges it again
        call = calls.pop(r.line, None)
        rejected += [r] if call is None else correlation.quarantine_call(
            uow, call.parts, call.batch, Problem(r.field, r.value, r.reason))
    ids = _store(uow, rows)
    resolved = _resolve_resent(uow, ids)
    stored_calls = correlation.stored_calls(uow, calls.values())
    correlation.settle_entries(uow, correlated, {r.line for r in rejected}, stored_calls)
    rejected.sort(key=lambda r: r.line)
    if quarantine and rejected:
        quarantine_records(uow, ((r, by_line[r.line]) for r in rejected), origin=origin)
    merged = sum(1 for c in calls.values() if (c.record.source, c.record.record_key) in fresh)
    result = IngestResult(len(ids), duplicates, rejected, len(correlated.taken), merged)
    if ids or duplicates or rejected or partial:
        parts = {"parts": result.parts, "calls": result.calls} if partial else {}
        audit.record(
            uow,
            "usage.ingested",
            "usageBatch",
            new_id(),
            after={"accepted": result.accepted, "duplicates": result.duplicates, "rejected": len(rejected),
                   "quarantined": len(rejected) if quarantine else 0, "resolvedFromQuarantine": resolved, **parts},
        )  # fmt: skip
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
    facts = (stored.service_id, stored.usage_type, stored.usage_date, stored.quantity, stored.destination)
    return facts == (r.service_id, r.usage_type, r.usage_date, r.quantity, r.destination)


def ingest_one(uow: UnitOfWork, record: UsageRecord) -> tuple[Usage, bool]:
    """Rate and store one record for the API; returns (usage, created). Sending the same record again
    returns the stored usage with created=False; another record under a key already used is a Conflict,
    since answering it with the stored one would silently lose it. Errors name the field by its API path;
    nothing is quarantined, since the client is told and still holds the record."""
    problem = record_problem(record, uow.now())
    if problem is None and record.part_of is not None:  # it cannot become usage on its own, so no usage to answer
        problem = Problem("partOf", record.part_of, "marks a partial record: send it to usage/batch, which holds it "
                          "until its call is complete")
    existing = None if problem else find_usage(uow, record.source, record.record_key)
    if existing is not None:
        if not _same_event(existing, record):
            raise Conflict(
                f"{API_FIELDS['recordKey']}={record.record_key!r} of source {record.source!r} "
                f"is already stored for another usage ({existing.id})"
            )
        return existing, False
    rows, rejected = ([], [Rejection.of(0, problem)]) if problem else _rate(
        uow, [(0, record)])  # fmt: skip
    if rejected:
        raise InvalidValue(API_FIELDS.get(rejected[0].field, rejected[0].field), rejected[0].value, rejected[0].reason)
    [usage_id] = _store(uow, rows)
    _resolve_resent(uow, [usage_id])
    created = get_usage(uow, usage_id)
    audit.record(uow, "usage.created", "usage", created.id, after=asdict(created))
    return created, True


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


def invoice_usage(uow: UnitOfWork, invoice_id: uuid.UUID, account_ids: Sequence[uuid.UUID], limit: int
                  ) -> tuple[list[Usage], int]:
    """The usage billed on `invoice_id` (its call detail) by service id and date, at most `limit` records, and
    how many there are. `account_ids` are the accounts whose usage the invoice may carry (its own and those it
    pays for): they let the lookup use the (account_id, status, usage_date) index."""
    rows = uow.conn.execute(
        sa.select(usage, sa.func.count().over().label("records"))
        .where(usage.c.account_id.in_(account_ids), usage.c.status == "billed", usage.c.invoice_id == invoice_id)
        .order_by(usage.c.service_id, usage.c.usage_date, usage.c.id)
        .limit(limit)
    ).all()
    return [_usage_of({k: v for k, v in r._mapping.items() if k != "records"}) for r in rows], (
        rows[0].records if rows else 0)


def unbilled_quantities(uow: UnitOfWork, account_id: uuid.UUID, start: datetime, end: datetime
                        ) -> dict[tuple[uuid.UUID, str], Decimal]:
    """The account's rated, unbilled usage dated in [start, end), summed per (product, usage type) in one query
    (the `ix_usage_account_status_date` index)."""
    rows = uow.conn.execute(
        sa.select(usage.c.product_id, usage.c.usage_type, sa.func.sum(usage.c.quantity))
        .where(usage.c.account_id == account_id, usage.c.status == "rated", usage.c.usage_date >= start,
               usage.c.usage_date < end)
        .group_by(usage.c.product_id, usage.c.usage_type)
    )
    return {(product_id, usage_type): quantity for product_id, usage_type, quantity in rows}


def unbilled_charges(uow: UnitOfWork, currencies: Mapping[uuid.UUID, str]) -> dict[uuid.UUID, Decimal]:
    """What each account's rated, not yet billed usage and rerating adjustments in its currency (`currencies`:
    account -> currency) add up to, in one statement: what online charging counts against a postpaid credit
    limit besides the open receivable."""
    ids = list(currencies)
    rated = sa.union_all(*(
        sa.select(t.c.account_id, t.c.currency, t.c[column].label("amount"))
        .where(among(t.c.account_id, ids), t.c.status == "rated")
        for t, column in ((usage, "charge"), (usage_adjustment, "amount"))
    )).subquery()
    out = {a: Decimal(0) for a in ids}
    for account_id, currency, amount in uow.conn.execute(
            sa.select(rated.c.account_id, rated.c.currency, sa.func.sum(rated.c.amount))
            .group_by(rated.c.account_id, rated.c.currency)):
        if currency == currencies[account_id]:
            out[account_id] += amount
    return out


def claim_unbilled_usage(
    uow: UnitOfWork, account_id: uuid.UUID, before: datetime, invoice_id: uuid.UUID
) -> list[UsageTotal]:
    """Mark the account's rated usage dated before `before`, and its unbilled rerating adjustments of usage
    dated before `before`, as billed on `invoice_id`; return their totals per (product, usage type, late) for
    usage and per (product, usage type) for adjustments (`UsageTotal.adjustment`), usage first. One statement:
    the rows summed are exactly the rows marked, so usage or adjustments committed meanwhile are either on
    this invoice or left for the next one, never billed unseen nor twice. The account's usage counts as billed
    through `before` from now on: usage dated earlier that arrives later is marked late."""
    claimed = (
        sa.update(usage)
        .where(usage.c.account_id == account_id, usage.c.status == "rated", usage.c.usage_date < before)
        .values(status="billed", invoice_id=invoice_id)
        .returning(usage.c.product_id, usage.c.usage_type, usage.c.unit, usage.c.late, usage.c.quantity,
                   usage.c.charge, usage.c.currency)
        .cte("claimed")
    )  # fmt: skip
    a = usage_adjustment.c
    adjusted = (
        sa.update(usage_adjustment)
        .where(a.account_id == account_id, a.status == "rated", a.usage_date < before)
        .values(status="billed", invoice_id=invoice_id)
        .returning(a.product_id, a.usage_type, a.unit, a.amount, a.currency)
        .cte("adjusted")
    )  # fmt: skip
    keys = (claimed.c.product_id, claimed.c.usage_type, claimed.c.unit, claimed.c.late, claimed.c.currency)
    adjustment_keys = (adjusted.c.product_id, adjusted.c.usage_type, adjusted.c.unit, adjusted.c.currency)
    both = sa.union_all(
        sa.select(*keys, sa.false().label("adjustment"), sa.func.count().label("count"),
                  sa.func.sum(claimed.c.quantity).label("quantity"), sa.func.sum(claimed.c.charge).label("amount"))
        .group_by(*keys),
        sa.select(*adjustment_keys[:3], sa.false().label("late"), adjustment_keys[3], sa.true().label("adjustment"),
                  sa.func.count().label("count"), sa.cast(0, QUANTITY).label("quantity"),
                  sa.func.sum(adjusted.c.amount).label("amount"))
        .group_by(*adjustment_keys),
    ).subquery()
    rows = uow.conn.execute(
        sa.select(both).order_by(both.c.product_id, both.c.usage_type, both.c.adjustment, both.c.late)
    ).all()
    billed = insert(usage_billed_through).values(account_id=account_id, billed_until=before)
    uow.conn.execute(
        billed.on_conflict_do_update(
            index_elements=["account_id"],
            set_={"billed_until": sa.func.greatest(usage_billed_through.c.billed_until, billed.excluded.billed_until)},
        )
    )
    totals = [
        UsageTotal(r.product_id, r.usage_type, r.unit, r.count, r.quantity, Money(r.amount, r.currency), r.late,
                   r.adjustment)
        for r in rows
    ]
    if totals:
        audit.record(
            uow,
            "usage.billed",
            "invoice",
            invoice_id,
            after={"accountId": account_id, "records": sum(t.count for t in totals if not t.adjustment),
                   "late": sum(t.count for t in totals if t.late),
                   "adjustments": sum(t.count for t in totals if t.adjustment)},
        )  # fmt: skip
    return totals


# `claim_unbilled_usage` for a batch of accounts in one statement: every account's usage and adjustments dated
# before its own `before` are marked for its own invoice, through a mapping unnested from three arrays.
_CLAIM_FOR_ACCOUNTS = sa.text("""
WITH m AS (
  SELECT * FROM unnest(CAST(:accounts AS uuid[]), CAST(:befores AS timestamptz[]), CAST(:invoices AS uuid[]))
    AS m(account_id, before, invoice_id)
), claimed AS (
  UPDATE usage u SET status = 'billed', invoice_id = m.invoice_id FROM m
  WHERE u.account_id = m.account_id AND u.status = 'rated' AND u.usage_date < m.before
  RETURNING u.account_id, u.product_id, u.usage_type, u.unit, u.late, u.quantity, u.charge, u.currency
), adjusted AS (
  UPDATE usage_adjustment a SET status = 'billed', invoice_id = m.invoice_id FROM m
  WHERE a.account_id = m.account_id AND a.status = 'rated' AND a.usage_date < m.before
  RETURNING a.account_id, a.product_id, a.usage_type, a.unit, a.amount, a.currency
)
SELECT * FROM (
  SELECT account_id, product_id, usage_type, unit, late, currency, false AS adjustment, count(*) AS count,
         sum(quantity) AS quantity, sum(charge) AS amount
  FROM claimed GROUP BY account_id, product_id, usage_type, unit, late, currency
  UNION ALL
  SELECT account_id, product_id, usage_type, unit, false, currency, true, count(*), CAST(0 AS NUMERIC(24, 6)),
         sum(amount)
  FROM adjusted GROUP BY account_id, product_id, usage_type, unit, currency
) t ORDER BY account_id, product_id, usage_type, adjustment, late
""")


def claim_unbilled_usage_for_accounts(
    uow: UnitOfWork, claims: Mapping[uuid.UUID, tuple[datetime, uuid.UUID]]
) -> dict[uuid.UUID, list[UsageTotal]]:
    """Phase one of `claim_unbilled_usage` for many accounts at once ({account: (before, invoice_id)}): mark the
    rows and return their totals per account (accounts with none are absent), in one statement. A bill run batch
    then generates its invoices, gives back the claims of the accounts whose invoice failed
    (`release_usage_claims`) and records the others (`record_usage_claims`): together the same effect as one
    `claim_unbilled_usage` per kept account."""
    if not claims:
        return {}
    accounts = list(claims)
    rows = uow.conn.execute(_CLAIM_FOR_ACCOUNTS, {
        "accounts": accounts, "befores": [claims[a][0] for a in accounts], "invoices": [claims[a][1] for a in accounts],
    })
    found: dict[uuid.UUID, list[UsageTotal]] = {}
    for r in rows:
        found.setdefault(r.account_id, []).append(UsageTotal(
            r.product_id, r.usage_type, r.unit, r.count, r.quantity, Money(r.amount, r.currency), r.late, r.adjustment
        ))
    return found


def release_usage_claims(uow: UnitOfWork, invoice_ids: Iterable[uuid.UUID]) -> None:
    """Give back usage and adjustments claimed (`claim_unbilled_usage_for_accounts`) for invoices that will not
    be written: they are rated and unbilled again, as if never claimed."""
    ids = list(invoice_ids)
    if not ids:
        return
    for table in (usage, usage_adjustment):
        uow.conn.execute(
            sa.update(table).where(table.c.invoice_id.in_(ids), table.c.status == "billed")
            .values(status="rated", invoice_id=None)
        )


def record_usage_claims(
    uow: UnitOfWork, claims: Mapping[uuid.UUID, tuple[datetime, uuid.UUID]],
    totals: Mapping[uuid.UUID, Sequence[UsageTotal]],
) -> None:
    """Phase two for the kept claims: each account counts as billed through its `before` (usage dated earlier
    that arrives later is late), and each invoice with usage gets its "usage.billed" audit record."""
    if not claims:
        return
    billed = insert_from_arrays(usage_billed_through, [{"account_id": a, "billed_until": before}
                                                       for a, (before, _) in claims.items()])
    uow.conn.execute(billed.on_conflict_do_update(
        index_elements=["account_id"],
        set_={"billed_until": sa.func.greatest(usage_billed_through.c.billed_until, billed.excluded.billed_until)},
    ))
    audit.record_many(uow, "usage.billed", "invoice", [
        (invoice_id, {"accountId": account_id, "records": sum(t.count for t in found if not t.adjustment),
                      "late": sum(t.count for t in found if t.late),
                      "adjustments": sum(t.count for t in found if t.adjustment)})
        for account_id, (_, invoice_id) in claims.items() if (found := totals.get(account_id))
    ])


def usage_to_rerate(
    uow: UnitOfWork, start: datetime, end: datetime, account_id: uuid.UUID | None, after: uuid.UUID | None,
    limit: int,
) -> list[tuple[Usage, Money]]:
    """The next `limit` usage records (billed or not) dated in [start, end), of one account or all, in id
    order after `after` (keyset paging: one batch per call, never the whole range in memory), each with its
    charge so far: its rated charge plus the rerating adjustments it already has."""
    a = usage_adjustment.c
    adjusted = (sa.select(sa.func.coalesce(sa.func.sum(a.amount), 0)).where(a.usage_id == usage.c.id)
                .scalar_subquery().label("adjusted"))
    # prepaid usage was paid from a balance at the price of the day: a new price would need a balance adjustment
    conditions = [usage.c.usage_date >= start, usage.c.usage_date < end, usage.c.status != "prepaid"]
    if account_id is not None:
        conditions.append(usage.c.account_id == account_id)
    if after is not None:
        conditions.append(usage.c.id > after)
    rows = uow.conn.execute(sa.select(usage, adjusted).where(*conditions).order_by(usage.c.id).limit(limit)).all()
    result = []
    for row in rows:
        m = dict(row._mapping)
        so_far = Money(m["charge"] + m.pop("adjusted"), m["currency"])
        result.append((_usage_of(m), so_far))
    return result


def save_rerate_run(uow: UnitOfWork, run_id: uuid.UUID, *, start: datetime, end: datetime,
                    account_id: uuid.UUID | None, examined: int = 0, changed: int = 0, priced_on_totals: int = 0,
                    failed: int = 0, totals: Mapping[str, Decimal] | None = None) -> None:
    """Store a rerating run, or update its figures (a run is stored before its adjustments, which name it)."""
    values = {"examined": examined, "changed": changed, "priced_on_totals": priced_on_totals, "failed": failed,
              "totals": {c: str(v) for c, v in (totals or {}).items()}}
    stmt = insert(rerate_run).values(id=run_id, created_at=uow.now(), actor=uow.actor, start_at=start, end_at=end,
                                     account_id=account_id, **values)
    uow.conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))


def add_usage_adjustments(uow: UnitOfWork, adjustments: Sequence[UsageAdjustment]) -> None:
    """Store rerating adjustments in one statement."""
    if not adjustments:
        return
    now = uow.now()
    uow.conn.execute(sa.insert(usage_adjustment), [
        {"id": x.id, "created_at": now, "usage_id": x.usage_id, "rerate_run_id": x.rerate_run_id,
         "account_id": x.account_id, "product_id": x.product_id, "usage_type": x.usage_type, "unit": x.unit,
         "usage_date": x.usage_date, "amount": x.amount.amount, "currency": x.amount.currency,
         "old_charge": x.old_charge.amount, "new_charge": x.new_charge.amount, "old_price_id": x.old_price_id,
         "new_price_id": x.new_price_id, "status": x.status, "invoice_id": x.invoice_id}
        for x in adjustments])


def usage_adjustments(uow: UnitOfWork, usage_id: uuid.UUID) -> list[UsageAdjustment]:
    """The rerating adjustments of one usage record, oldest first."""
    a = usage_adjustment.c
    rows = uow.conn.execute(sa.select(usage_adjustment).where(a.usage_id == usage_id).order_by(a.id)).all()
    return [UsageAdjustment(r.id, r.usage_id, r.rerate_run_id, r.account_id, r.product_id, r.usage_type, r.unit,
                            r.usage_date, Money(r.amount, r.currency), Money(r.old_charge, r.currency),
                            Money(r.new_charge, r.currency), r.old_price_id, r.new_price_id, r.status, r.invoice_id)
            for r in rows]


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
    destination, part_of, part, last_part = ((row.get(CSV_OPTIONAL_COLUMNS[name]) or "").strip() or None
                                             for name in ("destination", "partOf", "part", "lastPart"))
    if part is not None and not part.isdecimal():
        return Problem("part", part, "is not a whole number")
    if (last_part or "").lower() not in _CSV_FLAGS:
        return Problem("last_part", last_part, "is not true or false")
    return UsageRecord(
        source, values["record_key"], values["service_id"], values["usage_type"], usage_date, quantity, destination,
        part_of, None if part is None else int(part), _CSV_FLAGS[(last_part or "").lower()],
    )


def reprocess(
    uow: UnitOfWork,
    *,
    ids: Sequence[uuid.UUID] | None = None,
    source: str | None = None,
    reason_contains: str | None = None,
    limit: int = 10_000,
) -> ReprocessResult:
    """Run open quarantine entries through the pipeline again, after their cause was fixed (a subscription
    created, a price added). Records now stored become 'reprocessed' with their usage; records found
    already stored (sent again meanwhile) become 'reprocessed' pointing at that usage; records that still
    fail stay open with the new reason. Entries of undecodable input (raw text, no record) cannot be
    rebuilt: they are counted as `raw_only` and left open for `discard`."""
    entries = quarantine_store.open_entries(uow, ids=ids, source=source, reason_contains=reason_contains, limit=limit)
    records = {i: (e, payload_record(e.payload)) for i, e in enumerate(entries) if e.payload is not None}
    result = ingest_lines(uow, ((i, r) for i, (_, r) in records.items()), quarantine=False)
    failed = {r.line: r for r in result.rejected}
    for line, rejection in failed.items():
        quarantine_store.still_failing(uow, records[line][0].id, rejection)
    # Stored just now: closed by ingest_lines (`_resolve_resent`). Still open: it was stored before. Partial
    # records' entries were closed by correlation (held, merged or duplicate).
    passed = [(e, r) for line, (e, r) in records.items() if line not in failed and r.part_of is None]
    stored = stored_usage_ids(uow, ((r.source, r.record_key) for _, r in passed))
    duplicates = [(e, stored[(r.source, r.record_key)]) for e, r in passed]
    for entry, usage_id in duplicates:
        quarantine_store.resolve(uow, entry.id, "reprocessed", "duplicate", usage_id)
    outcome = ReprocessResult(result.accepted, len(passed) - (result.accepted - result.calls), len(failed),
                              len(entries) - len(records), len(records) - len(failed) - len(passed))
    if entries:
        audit.record(uow, "usageQuarantine.reprocessed", "usageQuarantine", new_id(),
                     after={**asdict(outcome), "entries": [e.id for e in entries]})  # fmt: skip
    return outcome

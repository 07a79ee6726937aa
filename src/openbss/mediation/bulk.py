"""Bulk intake of usage files (`openbss usage import`): a fast lane for ordinary rows, the pipeline for the rest.

Rows are read in chunks with Polars. The rows that whole-column checks prove ordinary take the fast lane:
parsed, enriched (subscription at the event time), rated and marked late as whole columns, then stored with
one COPY. Every other row takes the pipeline (`service.parse_row` and `service.ingest_lines`), the one place
that decides what is wrong with a record and quarantines it; so the lanes cannot disagree on a reason, and
the fast lane only has to give the rows it keeps the pipeline's charge (tests/integration/test_usage_bulk.py
imports the same file both ways and compares every stored row).

A row stays in the fast lane only when all of this is plainly true: its record key occurs once in the chunk;
record key, service id and usage type are present and the type is known; `start_time` is ISO 8601 with an
offset or Z and not after the intake tolerance; `quantity` is a plain decimal below 10^15 with at most 6
decimals; exactly one subscription of the service id is alive at that instant; its usage price valid then is
found; and that price is either per unit without a rate table (quantity x amount / unit size, rounded half-up
to 10^-6 once, in 128-bit integers) or a rate table without an allowance (the vectorized kernel with a whole
quantity and a destination the table knows). Rows of prices with an allowance go to the pipeline, which draws
the buckets in order.

Storage is optimistic: a chunk's fast rows are COPYed into `usage` inside a savepoint. Only if one of their
keys is already stored (a file imported again) does the COPY fail; the chunk then drops the stored keys (one
indexed look-up) and COPYs the rest. A new file pays no look-up. Each chunk commits on its own, as the
pipeline's batches do, so an interrupted import is simply run again.

Line numbers count one line per row after the header (line 1), which is the file's line unless a quoted field
holds a line break; the quarantined text of a pipeline row is the row written back as CSV.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from psycopg import errors as pg_errors

from openbss.audit import service as audit
from openbss.catalog.model import USAGE_UNITS, Price
from openbss.core.clock import Clock
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import RATED_QUANTUM
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.mediation import service
from openbss.mediation.model import FUTURE_TOLERANCE, IngestResult, Problem, Rejection
from openbss.mediation.quarantine import quarantine_raw
from openbss.mediation.tables import usage
from openbss.ordering import service as ordering
from openbss.party import service as party
from openbss.rating import store
from openbss.rating.service import Prices
from openbss.rating.vector import rate_batch

ISO_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%.f%:z"
_PLAIN_QUANTITY = r"^[0-9]{1,15}(\.[0-9]{1,6})?$"  # below 10^15, so 128-bit products cannot overflow
_MICRO = 10**6
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.6f%:z"
# The columns COPY fills, in the table's order; `invoice_id` stays NULL until a bill run claims the row.
_COPIED = [c.name for c in usage.c if c.name != "invoice_id"]
CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class _Lanes:
    fast: pl.DataFrame  # rows ready to COPY, in `_COPIED` columns
    data: bytes  # the same rows as COPY's CSV
    slow: pl.DataFrame  # raw rows (the file's columns and `line`) for the pipeline


def _uuid7(n: int, now: datetime) -> pl.Series:
    """n UUIDv7 (RFC 9562) as text: the chunk's 48-bit Unix milliseconds, version 7, 76 random bits from
    os.urandom, variant 10; one hex string sliced by Polars, no Python per id."""
    ms = f"{int(now.timestamp() * 1000):012x}"
    hexed = pl.Series([os.urandom(10 * n).hex()]).str.extract_all(".{20}").explode().str
    variant = hexed.slice(3, 1).replace_strict({f"{i:x}": "89ab"[i & 3] for i in range(16)})
    return pl.select(pl.concat_str([
        pl.lit(f"{ms[:8]}-{ms[8:]}-7"), hexed.slice(0, 3), pl.lit("-"), variant, hexed.slice(4, 3), pl.lit("-"),
        hexed.slice(7, 12),
    ])).to_series()


def _micro_units(text: pl.Expr) -> pl.Expr:
    """A plain decimal (checked by _PLAIN_QUANTITY) as an exact integer count of 10^-6."""
    whole = text.str.extract(r"^([0-9]+)", 1).cast(pl.Int128)
    fraction = text.str.extract(r"\.([0-9]+)$", 1).fill_null("").str.pad_end(6, "0").cast(pl.Int128)
    return whole * _MICRO + fraction


def _instant(at: datetime) -> pl.Expr:
    return pl.lit(at.astimezone(UTC), dtype=pl.Datetime("us", "UTC"))


def _per_unit_micro(quantity_micro: pl.Expr, price: Price) -> pl.Expr:
    """quantity x amount / unit size in 10^-6, rounded half-up once: `rating.model.rate` in integers."""
    amount, unit = price.amount.amount, price.unit_size
    a_exp, u_exp = max(-amount.as_tuple().exponent, 0), max(-unit.as_tuple().exponent, 0)
    numerator = quantity_micro * int(amount.scaleb(a_exp)) * 10**u_exp
    denominator = 10**a_exp * int(unit.scaleb(u_exp))
    return (2 * numerator + denominator) // (2 * denominator)


def _parsed(chunk: pl.DataFrame, latest: datetime) -> pl.DataFrame:
    text = {column: pl.col(column).str.strip_chars() for column in service.CSV_COLUMNS.values()}
    destination = (pl.col("destination").str.strip_chars() if "destination" in chunk.columns
                   else pl.lit(None, dtype=pl.String))
    frame = chunk.with_columns(
        record_key=text["record_key"], service_id=text["service_id"], usage_type=text["usage_type"],
        usage_date=text["start_time"].str.replace(r"Z$", "+00:00").str.to_datetime(
            ISO_WITH_OFFSET, time_zone="UTC", strict=False),
        quantity=text["quantity"], destination=pl.when(destination != "").then(destination),
    )
    fast = ((pl.col("record_key").str.len_bytes() > 0) & (pl.col("service_id").str.len_bytes() > 0)
            & pl.col("usage_type").is_in(list(USAGE_UNITS)) & pl.col("usage_date").is_not_null()
            & (pl.col("usage_date") <= latest) & pl.col("quantity").str.contains(_PLAIN_QUANTITY)
            & pl.col("record_key").is_unique()
            & (pl.col("part_of").is_null() if "part_of" in chunk.columns else pl.lit(True)))  # partial: correlated
    return frame.with_columns(fast=fast.fill_null(False))


def _enriched(uow: UnitOfWork, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows with the one subscription alive at their usage date (others dropped) and its account."""
    found = ordering.products_by_service_id(uow, rows["service_id"].unique().to_list())
    products = [p for ps in found.values() for p in ps]
    if not products:
        return rows.clear().with_columns(product_id=pl.lit(None, pl.String), account_id=pl.lit(None, pl.String),
                                         offering_id=pl.lit(None, pl.String))
    table = pl.DataFrame({
        "service_id": [p.service_id for p in products], "product_id": [str(p.id) for p in products],
        "account_id": [str(p.account_id) for p in products], "offering_id": [str(p.offering_id) for p in products],
        "start_at": [p.start_at for p in products], "end_at": [p.end_at for p in products],
    }, schema_overrides={"start_at": pl.Datetime("us", "UTC"), "end_at": pl.Datetime("us", "UTC")})
    alive = rows.join(table, on="service_id").filter(
        (pl.col("start_at") <= pl.col("usage_date"))
        & (pl.col("end_at").is_null() | (pl.col("usage_date") < pl.col("end_at"))))
    return alive.filter(pl.col("line").is_unique()).drop("start_at", "end_at")


def _priced(uow: UnitOfWork, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows with the account's currency, `price_id`, `charge_micro`, `zone` and `band` where the fast lane
    can rate them (others dropped)."""
    accounts = party.billing_accounts(uow, {uuid.UUID(a) for a in rows["account_id"].unique()})
    rows = rows.with_columns(
        currency=pl.col("account_id").replace_strict({str(k): a.currency for k, a in accounts.items()}),
        time_zone=pl.col("account_id").replace_strict({str(k): a.time_zone for k, a in accounts.items()}))
    prices, out = Prices(uow), []
    for (offering_id, usage_type, currency), group in rows.group_by("offering_id", "usage_type", "currency"):
        while not group.is_empty():  # one round per price version the group's dates span
            at = group["usage_date"].min()
            try:
                price = prices.get(uuid.UUID(offering_id), usage_type, currency, at)
            except InvalidValue:
                group = group.filter(pl.col("usage_date") != at)  # the pipeline words why
                continue
            valid = ((pl.col("usage_date") >= _instant(price.valid_from)) if price.valid_from else pl.lit(True)) & (
                (pl.col("usage_date") < _instant(price.valid_to)) if price.valid_to else pl.lit(True))
            out.append(_rated(uow, group.filter(valid), price))
            group = group.filter(~valid)
    return pl.concat(out) if out else _none_rated(rows)


def _none_rated(rows: pl.DataFrame) -> pl.DataFrame:
    """No row of `rows` in the fast lane, with the columns a rated chunk has (they go to the pipeline)."""
    return rows.clear().with_columns(price_id=pl.lit(None, pl.String), zone=pl.lit(None, pl.String),
                                     band=pl.lit(None, pl.String), charge_micro=pl.lit(None, pl.Int128))


def _rated(uow: UnitOfWork, rows: pl.DataFrame, price: Price) -> pl.DataFrame:
    """The rows the fast lane rates with `price`, charged; a price with an allowance rates none (its buckets are
    drawn in order by the pipeline), a rate table none it rejects."""
    if price.rate_table is None:
        return rows.with_columns(price_id=pl.lit(str(price.id)), zone=pl.lit(None, pl.String),
                                 band=pl.lit(None, pl.String),
                                 charge_micro=_per_unit_micro(_micro_units(pl.col("quantity")), price))
    if price.included_units > 0:
        return _none_rated(rows)
    version = store.newest(uow, [price.rate_table]).get(price.rate_table)
    rows = rows.filter(pl.col("quantity").str.contains(r"^[0-9]+$") & pl.col("destination").is_not_null()
                       & (pl.col("currency") == (version.currency if version else None)))
    if version is None or rows.is_empty():
        return _none_rated(rows)
    events = rows.select(called=pl.col("destination").str.strip_prefix("+"), usage_type="usage_type",
                         quantity=pl.col("quantity").cast(pl.Int64), start="usage_date", timezone="time_zone")
    rated = rate_batch(store.compiled(uow, version), events)
    return rows.with_columns(price_id=pl.lit(str(price.id)), zone=rated["zone"].cast(pl.String),
                             band=rated["band"].cast(pl.String),
                             charge_micro=rated["amount_micro"].cast(pl.Int128),
                             ok=rated["reject"].is_null()).filter("ok").drop("ok")


def _lanes(uow: UnitOfWork, chunk: pl.DataFrame, source: str) -> _Lanes:
    now = uow.now()
    frame = _parsed(chunk, now + FUTURE_TOLERANCE)
    candidates = frame.filter("fast")
    if not candidates.is_empty():
        candidates = _priced(uow, _enriched(uow, candidates))
    if not candidates.is_empty():
        billed = service.billed_through(uow, {uuid.UUID(a) for a in candidates["account_id"].unique()})
        until = pl.col("account_id").replace_strict({str(k): v for k, v in billed.items()}, default=None,
                                                    return_dtype=pl.Datetime("us", "UTC"))
        candidates = candidates.with_columns(
            id=_uuid7(candidates.height, now), created_at=_instant(now), source=pl.lit(source),
            unit=pl.col("usage_type").replace_strict(USAGE_UNITS),
            charge=pl.col("charge_micro").cast(pl.Decimal(38, 0)) * pl.lit(RATED_QUANTUM),
            status=pl.lit("rated"), late=(pl.col("usage_date") < until).fill_null(False),
            allowance_used=pl.lit(0),
        )
    fast_lines = candidates["line"] if not candidates.is_empty() else pl.Series("line", [], pl.Int64)
    slow = chunk.filter(~pl.col("line").is_in(fast_lines.implode()))
    fast = candidates.select(_COPIED) if not candidates.is_empty() else candidates
    return _Lanes(fast, _csv(fast) if not fast.is_empty() else b"", slow)


def _csv(rows: pl.DataFrame) -> bytes:
    return rows.write_csv(include_header=False, datetime_format=_TIMESTAMP).encode()


def _copy(uow: UnitOfWork, data: bytes) -> None:
    cursor = uow.conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY usage ({', '.join(_COPIED)}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, len(data), 1 << 20):
            copy.write(data[start:start + (1 << 20)])


def _store_fast(uow: UnitOfWork, lanes: _Lanes) -> tuple[int, int]:
    """COPY the fast rows (see the module doc); (stored, duplicates)."""
    rows = lanes.fast
    if rows.is_empty():
        return 0, 0
    try:
        with uow.savepoint():
            _copy(uow, lanes.data)
        return rows.height, 0
    except sa.exc.IntegrityError as exc:
        if not isinstance(exc.orig, pg_errors.UniqueViolation):
            raise
    except pg_errors.UniqueViolation:
        pass
    source = rows["source"][0]
    stored = service.stored_usage_ids(uow, ((source, k) for k in rows["record_key"]))
    new = rows.filter(~pl.col("record_key").is_in(pl.Series([k for _, k in stored]).implode()))
    if not new.is_empty():
        _copy(uow, _csv(new))
    return new.height, rows.height - new.height


def _csv_text(row: dict, columns: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if row[c] is None else row[c] for c in columns])
    return out.getvalue().strip("\r\n")


def _store(uow: UnitOfWork, lanes: _Lanes, columns: list[str], source: str, origin: str) -> IngestResult:
    """One chunk's transaction: the pipeline's rows, then the fast rows' COPY."""
    numbered, unreadable = [], []
    for row in lanes.slow.iter_rows(named=True):
        parsed = service.parse_row(row, source)
        if isinstance(parsed, Problem):
            unreadable.append((Rejection.of(row["line"], parsed), _csv_text(row, columns)))
        else:
            numbered.append((row["line"], parsed))
    quarantine_raw(uow, source, unreadable, origin=origin)
    piped = service.ingest_lines(uow, numbered, origin=origin)
    stored, duplicates = _store_fast(uow, lanes)
    if stored:
        service.resolve_stored(uow, source)
        audit.record(uow, "usage.ingested", "usageBatch", new_id(),
                     after={"accepted": stored, "duplicates": duplicates, "rejected": 0, "lane": "bulk"})
    return (service.renamed(piped, service.CSV_COLUMNS) + IngestResult(stored, duplicates, [])
            + IngestResult(0, 0, [r for r, _ in unreadable]))


def import_csv(engine: sa.Engine, path: Path, *, source: str, clock: Clock, batch_size: int = CHUNK_ROWS,
               on_progress: Callable[[int], None] | None = None, actor: str = "usage-import") -> IngestResult:
    """Import a usage CSV file (format: `mediation.service`), one transaction per chunk of rows; rejected rows
    are quarantined (origin "csv:<file name>"). `on_progress` gets the rows read so far after each chunk.

    Two chunks are in flight: while one is stored (COPY, which keeps the database busy), a helper thread reads
    and prepares the next (Polars, which releases the GIL), each on its own connection."""
    header = pl.read_csv(path, n_rows=0, infer_schema=False).columns
    missing = [c for c in service.CSV_COLUMNS.values() if c not in header]
    if missing:
        raise InvalidValue("header", ",".join(header), f"lacks the column(s) {', '.join(missing)}")
    origin, result, done = f"csv:{path.name}", IngestResult(0, 0, []), 0
    unit = functools.partial(unit_of_work, engine, actor=actor, clock=clock)

    def prepare(chunk: pl.DataFrame) -> _Lanes:
        with unit() as uow:  # reads only: subscriptions, prices, rate tables, how far accounts were billed
            return _lanes(uow, chunk.with_columns(pl.col("line").cast(pl.Int64)), source)

    def store(lanes: _Lanes) -> IngestResult:
        with unit() as uow:
            return _store(uow, lanes, header, source, origin)

    chunks = pl.scan_csv(path, infer_schema=False).with_row_index("line", offset=2).collect_batches(
        chunk_size=batch_size)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-import") as helper:
        chunk = next(chunks, None)
        pending = helper.submit(prepare, chunk) if chunk is not None else None
        while pending is not None:
            lanes, rows = pending.result(), chunk.height
            chunk = next(chunks, None)
            pending = helper.submit(prepare, chunk) if chunk is not None else None
            result = result + service.retry_concurrent(functools.partial(store, lanes))
            done += rows
            if on_progress is not None:
                on_progress(done)
    return result

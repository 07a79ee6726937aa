"""rating: the vectorized rating kernel (rating.vector) over CDRs in memory, against a 20,000-prefix rate table
with time bands (peak, evening, weekend, holiday), per-minute, 30/6 and per-second increments, connect fees,
minimum charges, sms and data per block.

Allowances: CDRs belong to BENCH_SUBSCRIBERS subscribers; a share of them (BENCH_ALLOWANCE_SHARE) has a voice
bucket of BENCH_ALLOWANCE seconds for the month. Their voice rows carry the bucket and the units it has left
before the chunk; the kernel derives each row's `left` from a cumulative sum per bucket, and the units taken
are subtracted from the buckets after each chunk (a join and a group-by, timed with the kernel).

Value: end to end, records/s from a CDR file to rated rows committed in PostgreSQL (`benchmarks.rating_e2e`,
BENCH_E2E_RECORDS rows through `mediation.bulk`); reference: PostgreSQL COPY of the same rows into `usage`, measured
in the same run; ratio = value / reference (target >= 0.7). Also printed: `core_records_per_s`, the records/s of the
timed core part (allowances joined in, `rate_batch`, buckets updated; generation is not timed) over BENCH_RECORDS
CDRs in chunks, so memory stays bounded whatever BENCH_RECORDS is (target >= 2,000,000), with a trivial Polars
column multiply over the same rows as its floor. CDRs come in usage-date order, as a switch writes them.
"""

from __future__ import annotations

import os
import resource
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from decimal import Decimal

import polars as pl

from benchmarks.harness import report
from benchmarks.rating_e2e import end_to_end
from openbss.rating.rules import Band, Rate, RateTable, Zone
from openbss.rating.vector import compile_table, rate_batch

RECORDS = int(os.environ.get("BENCH_RECORDS", "5000000"))
PREFIXES = int(os.environ.get("BENCH_PREFIXES", "20000"))
CHUNK = int(os.environ.get("BENCH_CHUNK", "1000000"))
SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "200000"))
ALLOWANCE_SHARE = float(os.environ.get("BENCH_ALLOWANCE_SHARE", "0.4"))
ALLOWANCE = int(os.environ.get("BENCH_ALLOWANCE", "3000"))  # seconds of voice a month
PREFIXES_PER_ZONE = 10
START = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def voice_rate(z: int) -> Rate:
    peak = Band("peak", D(f"0.{z % 50 + 10:02d}"), start=clock_time(8), end=clock_time(18), days=frozenset(range(5)))
    evening = Band("evening", D("0.05"), start=clock_time(18), days=frozenset(range(5)))
    weekend = Band("weekend", D("0.03"), days=frozenset({5, 6}))
    holiday = Band("holiday", D("0.02"), holidays=True)
    increments = [(60, 60), (30, 6), (1, 1)][z % 3]
    return Rate("voice", D(f"0.0{z % 9 + 1}"), first=increments[0], next=increments[1], connect_fee=D("0.05"),
                minimum=D("0.01") if z % 2 else D(0), rounding=["half_up", "up", "down"][z % 3], places=4 + z % 3,
                bands=(holiday, peak, evening, weekend))


def rate_table() -> RateTable:
    """PREFIXES distinct prefixes of 3 to 7 digits, nested like real numbering plans, 10 per zone."""
    prefixes = [str(100 + i) if i < 800 else f"{100 + i % 800}{i // 800:0{2 + i % 3}d}" for i in range(PREFIXES)]
    prefixes = list(dict.fromkeys(prefixes))
    zones = []
    for z in range(0, len(prefixes), PREFIXES_PER_ZONE):
        zones.append(Zone(f"zone {z // PREFIXES_PER_ZONE}", tuple(prefixes[z:z + PREFIXES_PER_ZONE]), (
            voice_rate(z),
            Rate("sms", D("0.09"), unit=1, first=1, next=1),
            Rate("data", D("0.01"), unit=1_000_000, first=100_000, next=10_000),
        )))
    return RateTable("EUR", tuple(zones), frozenset({date(2026, 12, 25), date(2026, 12, 26)}))


def cdrs(offset: int, size: int, prefixes: pl.Series) -> pl.DataFrame:
    """Deterministic pseudo-random CDRs (hashes of the row number), generated with Polars, not per row."""
    n = pl.int_range(offset, offset + size, dtype=pl.Int64)
    h = n.hash(7)
    prefix = pl.lit(prefixes).gather((h % len(prefixes)).cast(pl.Int64))
    suffix = (n.hash(11) % 10_000_000).cast(pl.String).str.zfill(7)
    kind = (h // 7 % 10).cast(pl.Int64)
    subscriber = n.hash(23) % SUBSCRIBERS
    with_allowance = (subscriber.hash(29) % 1000) < int(ALLOWANCE_SHARE * 1000)
    return pl.select(
        called=prefix + suffix,
        usage_type=pl.when(kind < 7).then(pl.lit("voice")).when(kind < 9).then(pl.lit("data")).otherwise(pl.lit("sms")),
        quantity=pl.when(kind < 7).then(n.hash(13) % 3600).when(kind < 9).then(n.hash(17) % 50_000_000)
        .otherwise(1).cast(pl.Int64),
        # in usage-date order through the month, as a switch writes them
        start=(pl.lit(START) + pl.duration(seconds=n * (31 * 86_400) // max(RECORDS, 1))).dt.replace_time_zone(
            None).dt.replace_time_zone("UTC"),
        timezone=pl.lit("Europe/Berlin"),
        bucket=pl.when(with_allowance & (kind < 7)).then(subscriber.cast(pl.Int64)).otherwise(None),
    )


def with_allowances(batch: pl.DataFrame, buckets: pl.DataFrame) -> pl.DataFrame:
    """The units each row's bucket has left before this batch (buckets not yet touched have all of them)."""
    return batch.join(buckets, on="bucket", how="left").with_columns(
        allowance=pl.when(pl.col("bucket").is_null()).then(None).otherwise(pl.col("left").fill_null(ALLOWANCE))
    ).drop("left")


def consume(buckets: pl.DataFrame, rated: pl.DataFrame) -> pl.DataFrame:
    """Subtract the units the batch took from each bucket."""
    taken = (rated.filter(pl.col("bucket").is_not_null()).group_by("bucket")
             .agg(pl.col("allowance_used").sum().alias("taken"), pl.col("allowance").first()))
    merged = taken.join(buckets, on="bucket", how="full", coalesce=True)
    return merged.select("bucket", left=pl.when(pl.col("taken").is_null()).then(pl.col("left"))
                         .otherwise(pl.col("allowance") - pl.col("taken")))


def main() -> None:
    table = rate_table()
    t = time.perf_counter()
    compiled = compile_table(table)
    compile_s = time.perf_counter() - t
    prefixes = pl.Series(sorted(table.by_prefix))
    kernel_s = reference_s = 0.0
    rated = rejected = 0
    total_micro = 0
    buckets = pl.DataFrame(schema={"bucket": pl.Int64, "left": pl.Int64})
    for offset in range(0, RECORDS, CHUNK):
        batch = cdrs(offset, min(CHUNK, RECORDS - offset), prefixes)
        t = time.perf_counter()
        out = rate_batch(compiled, with_allowances(batch, buckets))
        buckets = consume(buckets, out)
        kernel_s += time.perf_counter() - t
        t = time.perf_counter()
        batch.select(pl.col("quantity") * 2_000)  # the reference: one trivial column multiply over the rows
        reference_s += time.perf_counter() - t
        rejected += out["reject"].is_not_null().sum()
        rated += out.height
        total_micro += out["amount_micro"].sum() or 0
    assert rated == RECORDS and rejected == 0, (rated, rejected)
    e2e = end_to_end(table)
    report("rating", "records/s", e2e["end_to_end"], "postgres COPY of the same rated rows into usage, rows/s",
           e2e["copy"], core_records_per_s=round(RECORDS / kernel_s, 1),
           core_reference_column_multiply_rows_per_s=round(RECORDS / reference_s, 1),
           end_to_end_records=e2e["records"], end_to_end_services=e2e["services"],
           end_to_end_charged_total=e2e["charged_total"], records=RECORDS, prefixes=len(table.by_prefix), zones=len(table.zones), chunk=CHUNK,
           compile_table_s=round(compile_s, 3), rated_total=str(Decimal(total_micro).scaleb(-6)),
           peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           subscribers=SUBSCRIBERS, allowance_buckets=buckets.height, allowance_s=ALLOWANCE,
           allowance_used_s=ALLOWANCE * buckets.height - int(buckets["left"].sum() or 0),
           exhausted_buckets=int((buckets["left"] == 0).sum()))


if __name__ == "__main__":
    main()

"""The vectorized rater: `rating.rules` over a Polars batch, with no Python per row.

A table is compiled once into flat arrays; a batch is then rated with whole-column operations:
- longest-prefix match as one sorted search: every prefix is an interval of 15-digit numbers (the number padded
  with zeros); the interval ends cut the line into segments, and each segment keeps, for every number length
  n, the zone of its longest enclosing prefix of at most n digits (a 4-digit number padded with zeros must not
  match a 5-digit prefix);
- the dated rate as a gather on (zone, usage type) per validity slot;
- bands from the local weekday and second of day per time zone in the batch;
- increments by integer ceil division, money in integer micro-units (10^-6), converted to Decimal once;
- allowances (`rules.covered_units`): the units left in a row's bucket before it are the bucket's allowance
  minus the units billed by the bucket's earlier rows (a cumulative sum per bucket, in row order), floored at
  0, so sequential consumption needs no loop.
Results equal `rules.rate_event` exactly (tests/unit/test_rating_vector.py proves it with hypothesis).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from openbss.core.errors import InvalidValue
from openbss.core.money import RATED_PLACES
from openbss.rating.rules import MAX_NUMBER_DIGITS, RateTable

MICRO = 10**RATED_PLACES
_SLOTS = MAX_NUMBER_DIGITS + 1  # number lengths 0..15 per segment
_ROUNDING_CODES = {"down": 0, "up": 1, "half_up": 2}
_HOLIDAY_BIT = 1 << 7  # day masks: bits 0..6 are Monday..Sunday, bit 7 holidays
_WEEKDAY_BITS = pl.Series([1 << d for d in range(7)], dtype=pl.Int64)
_NEVER, _FOREVER = -(2**62), 2**62  # open validity ends, in epoch microseconds
_INT64_SAFE = 2**60
DENSE_DIGITS = 7  # a dense block index of at most 10^7 Int32 (40 MB) replaces the sorted search  # products stay below this, so connect + usage, doubled for half-up, never overflow Int64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INPUT_COLUMNS = ("called", "usage_type", "quantity", "start", "timezone")
ALLOWANCE_COLUMNS = ("bucket", "allowance")


def _micros(value: Decimal) -> int:
    return int(value * MICRO)  # exact: rules._micro allows at most 6 decimals


@dataclass(frozen=True)
class CompiledTable:
    """Flat arrays of one RateTable (see the module doc); build with `compile_table`."""

    table: RateTable
    seg_starts: pl.Series  # Int64, sorted: first 15-digit code of each segment
    seg_zone: pl.Series  # Int32 [segment x 16 + number length] -> zone index, -1 none
    # When no prefix is longer than `block_digits` (<= DENSE_DIGITS), no segment starts inside a block of numbers
    # sharing their first `block_digits` digits, so the segment is a plain gather on those digits (no search).
    block_digits: int | None
    block_segment: pl.Series | None  # Int32 [first block_digits digits] -> segment
    usage_types: dict[str, int]
    candidates: tuple[pl.Series, ...]  # per validity slot: Int32 [zone x types + type] -> rate index, -1 none
    rate: dict[str, pl.Series]  # per rate index: Int64 parameters
    band: dict[str, pl.Series]  # per rate index x bands + band: Int64 parameters (mask 0: no band)
    bands_per_rate: int
    zone_names: pl.Series  # Enum, per zone index
    band_names: pl.Series  # Enum, per rate index x bands + band
    max_price: int  # micro-units, for the overflow guard


def compile_table(table: RateTable) -> CompiledTable:
    prefix_zone = {p: i for i, z in enumerate(table.zones) for p in z.prefixes}
    width = MAX_NUMBER_DIGITS
    cuts = {0}
    for p in prefix_zone:
        low = int(p.ljust(width, "0"))
        cuts.update({low, low + 10 ** (width - len(p))})
    starts = sorted(c for c in cuts if c < 10**width)
    seg_zone: list[int] = []
    for start in starts:
        digits, best = f"{start:0{width}d}", -1
        seg_zone.append(-1)  # length 0: no number
        for n in range(1, _SLOTS):
            best = prefix_zone.get(digits[:n], best)
            seg_zone.append(best)

    block_digits = max((len(p) for p in prefix_zone), default=1)
    block_segment = None
    if block_digits <= DENSE_DIGITS:
        blocks = pl.int_range(0, 10**block_digits, dtype=pl.Int64, eager=True) * 10 ** (width - block_digits)
        block_segment = (pl.Series(starts, dtype=pl.Int64).search_sorted(blocks, side="right") - 1).cast(pl.Int32)
    else:
        block_digits = None

    types = sorted({r.usage_type for z in table.zones for r in z.rates})
    type_code = {t: i for i, t in enumerate(types)}
    rates = [(zi, r) for zi, z in enumerate(table.zones) for r in z.rates]
    slots: dict[int, list[int]] = {}
    for ri, (zi, r) in enumerate(rates):
        slots.setdefault(zi * len(types) + type_code[r.usage_type], []).append(ri)
    depth = max((len(v) for v in slots.values()), default=0)
    keys = len(table.zones) * len(types)
    candidates = []
    for v in range(depth):
        column = [-1] * keys
        for key, found in slots.items():
            if v < len(found):
                column[key] = found[v]
        candidates.append(pl.Series(column, dtype=pl.Int32))

    per_rate = max((len(r.bands) for _, r in rates), default=0)
    bands = {k: [] for k in ("mask", "start", "end", "price")}
    band_name: list[str | None] = []
    for _, r in rates:
        for b in (*r.bands, *[None] * (per_rate - len(r.bands))):
            mask = 0 if b is None else (_HOLIDAY_BIT if b.holidays else sum(1 << d for d in b.days))
            bands["mask"].append(mask)
            bands["start"].append(b.start_second if b else 0)
            bands["end"].append(b.end_second if b else 0)
            bands["price"].append(_micros(b.price) if b else 0)
            band_name.append(b.name if b else None)
    params = {
        "price": [_micros(r.price) for _, r in rates],
        "unit": [r.unit for _, r in rates],
        "first": [r.first for _, r in rates],
        "next": [r.next for _, r in rates],
        "connect": [_micros(r.connect_fee) for _, r in rates],
        "minimum": [_micros(r.minimum) for _, r in rates],
        "quantum": [10 ** (RATED_PLACES - r.places) for _, r in rates],
        "rounding": [_ROUNDING_CODES[r.rounding] for _, r in rates],
        "from": [_NEVER if r.valid_from is None else _epoch(r.valid_from) for _, r in rates],
        "to": [_FOREVER if r.valid_to is None else _epoch(r.valid_to) for _, r in rates],
    }
    zone_enum = pl.Enum(sorted({z.name for z in table.zones}))
    band_enum = pl.Enum(sorted({n for n in band_name if n is not None}))
    prices = params["price"] + bands["price"] + params["connect"] + params["minimum"]
    return CompiledTable(
        table=table,
        seg_starts=pl.Series(starts, dtype=pl.Int64),
        seg_zone=pl.Series(seg_zone, dtype=pl.Int32),
        block_digits=block_digits,
        block_segment=block_segment,
        usage_types=type_code,
        candidates=tuple(candidates),
        rate={k: pl.Series(v, dtype=pl.Int64) for k, v in params.items()},
        band={k: pl.Series(v, dtype=pl.Int64) for k, v in bands.items()},
        bands_per_rate=per_rate,
        zone_names=pl.Series([z.name for z in table.zones], dtype=zone_enum),
        band_names=pl.Series(band_name, dtype=band_enum),
        max_price=max(prices, default=0),
    )


def _epoch(at) -> int:
    """Epoch microseconds of an aware datetime, exactly (no float seconds)."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _offset_changes(tz: ZoneInfo, lo: int, hi: int) -> tuple[list[int], list[int]]:
    """The zone's UTC offset over [lo, hi] epoch seconds as change points and offsets (seconds).

    Offsets change at most a few times a year, so the batch looks them up with one sorted search instead of
    converting every timestamp: sample hourly (no zone changes twice within an hour), bisect each change."""
    def offset(at: int) -> int:
        return int(datetime.fromtimestamp(at, tz).utcoffset().total_seconds())

    points, offsets = [lo], [offset(lo)]
    at = lo
    while at < hi:
        following = min(at + 3600, hi)
        if offset(following) != offsets[-1]:
            before, after = at, following
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (middle, after) if offset(middle) == offsets[-1] else (before, middle)
            points.append(after)
            offsets.append(offset(after))
        at = following
    return points, offsets


def _local_seconds(seconds: pl.Series, zones: pl.Series) -> tuple[pl.Expr, pl.Expr]:
    """Expressions over the columns `seconds` (epoch seconds, UTC) and `timezone`: the local epoch second of each
    row in its own time zone, and whether the time zone is known. The offsets are found eagerly per zone; the
    per-row lookups stay expressions so the caller's query runs them alongside the rest."""
    local, known = pl.lit(0, dtype=pl.Int64), pl.lit(False)
    at = pl.col("seconds")
    for tz in zones.drop_nulls().unique().to_list():
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        inside = seconds.filter(zones == tz)
        points, offsets = _offset_changes(zone, inside.min(), inside.max())
        change = pl.lit(pl.Series(points, dtype=pl.Int64)).search_sorted(at, side="right").cast(pl.Int64) - 1
        shifted = at + pl.lit(pl.Series(offsets, dtype=pl.Int64)).gather(change.clip(lower_bound=0))
        mask = pl.col("timezone") == tz
        local = pl.when(mask).then(shifted).otherwise(local)
        known = known | mask
    return local, known


def _gather(values: pl.Series, index: pl.Expr, missing) -> pl.Expr:
    """values[index], with `missing` where the index is negative (nothing found) or there are no values."""
    if len(values) == 0:
        return pl.lit(missing, dtype=values.dtype)
    return pl.when(index >= 0).then(pl.lit(values).gather(index.clip(lower_bound=0))).otherwise(
        pl.lit(missing, dtype=values.dtype))


def rate_batch(compiled: CompiledTable, events: pl.DataFrame) -> pl.DataFrame:
    """Rate a batch with columns called (str), usage_type (str), quantity (int), start (Datetime with time zone),
    timezone (str, IANA), and optionally bucket (Int64, the row's allowance bucket; null: none) with allowance
    (Int64, the units left in that bucket before the batch; the same on every row of a bucket). Rows take their
    bucket's units in row order: sort a batch by start first to consume in usage order.
    Returns the events with zone, band, billed_quantity, allowance_used, amount_micro (Int64), amount (Decimal,
    6 places) and reject: null, or the field the scalar rater's InvalidValue names (quantity, called,
    usage_type, timezone), checked in the same order; rejected rows have null charges and take no allowance."""
    missing = [c for c in INPUT_COLUMNS if c not in events.columns]
    if missing:
        raise InvalidValue("events", missing, "are missing columns")
    allowances = [c for c in ALLOWANCE_COLUMNS if c in events.columns]
    if allowances and len(allowances) != len(ALLOWANCE_COLUMNS):
        raise InvalidValue("events", allowances, f"must come together: {', '.join(ALLOWANCE_COLUMNS)}")
    c = compiled
    # One select, so Polars runs these independent column expressions on all cores at once.
    # 1 to 15 digits: padded with zeros it parses as an unsigned integer (which refuses any other character
    # but a leading "+", refused by the first-character test).
    called = pl.col("called")
    padded = called.str.pad_end(MAX_NUMBER_DIGITS, "0").cast(pl.UInt64, strict=False)
    number_ok = (padded.is_not_null() & called.str.len_bytes().is_between(1, MAX_NUMBER_DIGITS)
                 & (called.str.slice(0, 1) != "+")).fill_null(False)
    code = pl.when(number_ok).then(padded.cast(pl.Int64)).otherwise(0)
    length = pl.when(number_ok).then(called.str.len_bytes().cast(pl.Int64)).otherwise(0)
    # Zone: the number's segment (a gather on its first digits, or one sorted search), then the segment's zone
    # for the number's length.
    if c.block_segment is not None:
        segment = pl.lit(c.block_segment).gather(code // 10 ** (MAX_NUMBER_DIGITS - c.block_digits)).cast(pl.Int64)
    else:
        segment = pl.lit(c.seg_starts).search_sorted(code, side="right").cast(pl.Int64) - 1
    parsed = events.select(
        zone=pl.lit(c.seg_zone).gather(segment * _SLOTS + length),
        type_code=pl.col("usage_type").replace_strict(c.usage_types, default=-1, return_dtype=pl.Int64),
        quantity=pl.col("quantity").cast(pl.Int64),
        start=pl.col("start").dt.convert_time_zone("UTC"),
    )
    zone_s, type_s, quantity_s, start = parsed["zone"], parsed["type_code"], parsed["quantity"], parsed["start"]

    seconds = start.dt.epoch("us") // 1_000_000  # floor: the scalar path reads whole seconds of local time
    local, tz_known = _local_seconds(seconds, events["timezone"])
    # The rest is one lazy query: Polars fuses the steps and runs independent expressions in parallel.
    col = pl.col
    zone, type_code, quantity, at = col("zone"), col("type_code"), col("quantity"), col("at")

    # Rate: the candidate in each validity slot of (zone, usage type) that is valid at the start.
    key = pl.when((zone >= 0) & (type_code >= 0)).then(zone.cast(pl.Int64) * len(c.usage_types) + type_code
                                                        ).otherwise(-1)
    rate = pl.lit(-1, dtype=pl.Int32)
    for candidates in c.candidates:
        found = pl.lit(candidates).gather(key.clip(lower_bound=0))
        safe = found.clip(lower_bound=0)
        valid = (key >= 0) & (found >= 0) & (pl.lit(c.rate["from"]).gather(safe) <= at) & (
            at < pl.lit(c.rate["to"]).gather(safe))
        rate = pl.when(valid).then(found).otherwise(rate)

    holiday_days = [(d - _EPOCH.date()).days for d in sorted(c.table.holidays)]
    if allowances:
        bucket, allowance = events["bucket"].cast(pl.Int64), events["allowance"].cast(pl.Int64)
    else:
        bucket = allowance = pl.Series([None] * events.height, dtype=pl.Int64)
    frame = pl.DataFrame({"zone": zone_s, "type_code": type_s, "quantity": quantity_s, "at": start.dt.epoch("us"),
                          "seconds": seconds, "timezone": events["timezone"], "bucket": bucket,
                          "allowance": allowance}).lazy()
    frame = frame.with_columns(local=local, tz_known=tz_known)
    # Per row in its own time zone: weekday 0..6 (Monday 0; 1 January 1970 was a Thursday), second of day.
    frame = frame.with_columns(day=col("local") // 86_400, second=col("local") % 86_400).with_columns(
        weekday=(col("day") + 3) % 7)
    frame = frame.with_columns(rate=rate.cast(pl.Int32))
    rate = col("rate")
    reject = (pl.when(quantity.is_null() | (quantity < 0)).then(pl.lit("quantity"))
              .when(zone < 0).then(pl.lit("called"))
              .when(rate < 0).then(pl.lit("usage_type"))
              .when(~col("tz_known")).then(pl.lit("timezone"))
              .otherwise(pl.lit(None, dtype=pl.String)))
    frame = frame.with_columns(reject=reject, r=rate.clip(lower_bound=0).cast(pl.Int64))
    ok, r = col("reject").is_null(), col("r")
    frame = frame.with_columns(**{f"p_{k}": _gather(v, r, 1) for k, v in c.rate.items()})  # 1: safe divisors
    param = {k: col(f"p_{k}") for k in c.rate}

    # Band: the first applying band of the rate (checked last to first so the first wins).
    second = col("second")
    holiday = col("day").is_in(pl.Series(holiday_days, dtype=pl.Int64).implode())
    day_bit = pl.when(holiday).then(_HOLIDAY_BIT).otherwise(pl.lit(_WEEKDAY_BITS).gather(col("weekday").cast(pl.Int64)))
    band = pl.lit(-1, dtype=pl.Int64)
    for b in reversed(range(c.bands_per_rate)):
        index = r * c.bands_per_rate + b
        applies = ((pl.lit(c.band["mask"]).gather(index) & day_bit) != 0) & (
            pl.lit(c.band["start"]).gather(index) <= second) & (second < pl.lit(c.band["end"]).gather(index))
        band = pl.when(applies).then(index).otherwise(band)
    frame = frame.with_columns(band=band.cast(pl.Int64))
    band = col("band")
    price = pl.when(band >= 0).then(_gather(c.band["price"], band, 0)).otherwise(param["price"])

    # Money in micro-units: numerator over unit, then one rounding to the rate's places.
    q = pl.when(ok).then(quantity).otherwise(0)
    first, step, unit = param["first"], param["next"], param["unit"]
    rest = (q - first).clip(lower_bound=0)
    frame = frame.with_columns(billed=pl.when(q == 0).then(0).otherwise(first + (rest + step - 1) // step * step),
                               price=price)
    billed, price = col("billed"), col("price")
    # Allowance: units left before each row = allowance - units billed by the bucket's earlier rows, floored at 0.
    used = pl.when(ok).then(billed).otherwise(0)
    before = used.cum_sum().over("bucket") - used
    left = pl.when(col("bucket").is_null()).then(0).otherwise((col("allowance") - before).clip(lower_bound=0))
    frame = frame.with_columns(covered=pl.min_horizontal(left, billed).clip(lower_bound=0))
    covered = col("covered")
    fully = (covered > 0) & (covered == billed)
    numerator = param["connect"] * unit + (billed - covered) * price
    minimum = param["minimum"] * unit
    numerator = pl.when(numerator < minimum).then(minimum).otherwise(numerator)
    divisor = unit * param["quantum"]
    rounding = param["rounding"]
    units = (pl.when(rounding == 0).then(numerator // divisor)
             .when(rounding == 1).then((numerator + divisor - 1) // divisor)
             .otherwise((2 * numerator + divisor) // (2 * divisor)))
    out = frame.select(
        zone=pl.when(ok).then(_gather(c.zone_names, zone, None)).otherwise(None),
        band=pl.when(ok & (band >= 0)).then(_gather(c.band_names, band, None)).otherwise(None),
        billed_quantity=pl.when(ok).then(billed).otherwise(None),
        allowance_used=pl.when(ok).then(covered).otherwise(None),
        amount_micro=pl.when(ok & fully).then(0).when(ok).then(units * param["quantum"]).otherwise(None),
        reject=col("reject"),
        billed_all=billed,
    ).collect()
    _guard(c, out["billed_all"])
    return events.with_columns(out.drop("billed_all").get_columns()).with_columns(
        amount=pl.col("amount_micro").cast(pl.Decimal(38, 0)) * pl.lit(Decimal(1).scaleb(-RATED_PLACES)))


def _guard(c: CompiledTable, billed: pl.Series) -> None:
    """Refuse a batch whose products could overflow Int64 rather than return a wrong charge."""
    top_billed = billed.max() or 0
    top_unit = c.rate["unit"].max() or 0
    if top_billed * c.max_price >= _INT64_SAFE or (c.max_price + MICRO) * top_unit >= _INT64_SAFE:
        raise InvalidValue("quantity", top_billed, "is too large for the batch rater's 64-bit micro-units")

"""The vectorized rater gives exactly the scalar rater's charge (and the same reject) for the same input."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbss.core.errors import InvalidValue
from openbss.rating import vector
from openbss.rating.rules import Band, Rate, RateTable, UsageEvent, Zone, rate_event
from openbss.rating.vector import compile_table, rate_batch

D = Decimal


def frame(events: list[UsageEvent]) -> pl.DataFrame:
    return pl.DataFrame(
        {"called": [e.called for e in events], "usage_type": [e.usage_type for e in events],
         "quantity": [e.quantity for e in events], "start": [e.start for e in events],
         "timezone": [e.timezone for e in events]},
        schema={"called": pl.String, "usage_type": pl.String, "quantity": pl.Int64,
                "start": pl.Datetime("us", "UTC"), "timezone": pl.String},
    )


def assert_same_as_scalar(table: RateTable, events: list[UsageEvent]) -> pl.DataFrame:
    rated = rate_batch(compile_table(table), frame(events))
    for event, row in zip(events, rated.iter_rows(named=True), strict=True):
        try:
            charge = rate_event(table, event)
        except InvalidValue as err:
            assert (row["reject"], row["amount"]) == (err.field, None), (event, row)
            continue
        assert row["reject"] is None, (event, row)
        assert row["amount"] == charge.amount.amount, (event, row, charge)
        assert (row["zone"], row["band"], row["billed_quantity"]) == (charge.zone, charge.band,
                                                                      charge.billed_quantity), (event, row)
    return rated


def test_the_issue_example_in_a_batch():
    # 0.40 connect + 0.20/min per started minute: 120 s -> 0.40 + 2 x 0.20 = 0.80; 121 s -> 0.40 + 3 x 0.20 = 1.00
    table = RateTable("EUR", (Zone("DE", ("49",), (Rate("voice", D("0.20"), connect_fee=D("0.40")),)),))
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    events = [UsageEvent("4930123", "voice", s, at, "Europe/Berlin") for s in (120, 121)]
    rated = assert_same_as_scalar(table, events)
    assert rated["amount"].to_list() == [D("0.800000"), D("1.000000")]
    assert rated["amount_micro"].to_list() == [800_000, 1_000_000]


def test_rejects_carry_the_field_the_scalar_rater_names():
    # 49151 beats 49; 33... matches nothing; sms has no rate; a bad time zone; a negative duration
    table = RateTable("EUR", (Zone("DE", ("49",), (Rate("voice", D("0.10")),)),
                              Zone("DE mobile", ("49151",), (Rate("voice", D("0.25")),))))
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    events = [UsageEvent("491511234", "voice", 60, at), UsageEvent("331234", "voice", 60, at),
              UsageEvent("4930", "sms", 1, at), UsageEvent("4930", "voice", 60, at, "Mars/Olympus"),
              UsageEvent("4930", "voice", -5, at), UsageEvent("+4930", "voice", 60, at)]
    rated = assert_same_as_scalar(table, events)
    assert rated["reject"].to_list() == [None, "called", "usage_type", "timezone", "quantity", "called"]
    assert rated["amount"].to_list()[0] == D("0.25")  # 1 min x 0.25 in the 49151 zone


def test_an_empty_batch_rates_to_an_empty_frame():
    table = RateTable("EUR", (Zone("DE", ("49",), (Rate("voice", D("0.10")),)),))
    assert rate_batch(compile_table(table), frame([])).height == 0


def test_a_missing_column_is_refused():
    table = RateTable("EUR", (Zone("DE", ("49",), (Rate("voice", D("0.10")),)),))
    with pytest.raises(InvalidValue) as err:
        rate_batch(compile_table(table), frame([]).drop("timezone"))
    assert err.value.field == "events"


def test_quantities_that_would_overflow_the_kernel_are_refused_not_wrapped():
    table = RateTable("EUR", (Zone("DE", ("49",), (Rate("data", D("1000"), unit=1, first=1, next=1),)),))
    huge = UsageEvent("49", "data", 10**15, datetime(2026, 1, 1, tzinfo=UTC))  # 1e15 x 1e9 micro > 2^60
    with pytest.raises(InvalidValue) as err:
        rate_batch(compile_table(table), frame([huge]))
    assert err.value.field == "quantity"


# Random tariffs over a small digit alphabet, so prefixes nest and collide often.
digits = st.text(alphabet="0123", min_size=1, max_size=4)
money = st.decimals(min_value=0, max_value=5, places=6).map(lambda d: d.normalize() if d else D(0))
SWITCH = datetime(2026, 7, 1, tzinfo=UTC)


@st.composite
def bands(draw):
    start = draw(st.integers(0, 86_399) | st.integers(0, 23).map(lambda h: h * 3600))  # on the hour: boundaries
    end = draw(st.none() | st.integers(start + 1, 86_400).map(lambda s: None if s == 86_400 else s)
               | st.integers(start // 3600 + 1, 24).map(lambda h: None if h == 24 else h * 3600))
    as_time = lambda s: time(s // 3600, s // 60 % 60, s % 60)  # noqa: E731
    return Band(draw(st.sampled_from(["peak", "evening", "weekend", "holiday"])), draw(money),
                start=as_time(start), end=None if end is None else as_time(end),
                days=frozenset(draw(st.sets(st.integers(0, 6)))), holidays=draw(st.booleans()))


@st.composite
def rates(draw, usage_type: str, valid_from=None, valid_to=None):
    return Rate(usage_type, draw(money), unit=draw(st.sampled_from([1, 60, 1_000_000])),
                first=draw(st.sampled_from([1, 6, 30, 60, 100_000])), next=draw(st.sampled_from([1, 6, 60, 1000])),
                connect_fee=draw(money), minimum=draw(money), rounding=draw(st.sampled_from(["up", "down", "half_up"])),
                places=draw(st.integers(0, 6)), bands=tuple(draw(st.lists(bands(), max_size=3))),
                valid_from=valid_from, valid_to=valid_to)


@st.composite
def tables(draw):
    prefixes = draw(st.lists(digits, min_size=1, max_size=8, unique=True))
    cut = sorted(draw(st.sets(st.integers(1, len(prefixes) - 1), max_size=3))) if len(prefixes) > 1 else []
    groups = [prefixes[a:b] for a, b in zip([0, *cut], [*cut, len(prefixes)], strict=True)]
    zones = []
    for i, group in enumerate(groups):
        zone_rates = []
        for usage_type in draw(st.sets(st.sampled_from(["voice", "sms", "data"]), min_size=1)):
            if draw(st.booleans()):  # a price change at SWITCH
                zone_rates += [draw(rates(usage_type, valid_to=SWITCH)), draw(rates(usage_type, valid_from=SWITCH))]
            else:
                zone_rates.append(draw(rates(usage_type)))
        zones.append(Zone(f"zone {i % 3}", tuple(group), tuple(zone_rates)))  # names may repeat across zones
    holidays = draw(st.sets(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=5))
    return RateTable("EUR", tuple(zones), frozenset(holidays))


def on_the_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)  # where bands on the hour begin and end


def sometimes(rare, usual):
    """`rare` about one time in ten (a plain one_of would draw it half the time)."""
    return st.integers(0, 9).flatmap(lambda i: rare if i == 9 else usual)


@st.composite
def batches(draw, table: RateTable):
    """Events that mostly reach the table's zones (a prefix plus digits), with some bad ones of each kind."""
    prefixes = sorted(table.by_prefix)
    number = st.tuples(st.sampled_from(prefixes), st.text(alphabet="0123", max_size=4)).map("".join)
    bad_number = st.text(alphabet="0123", max_size=5) | st.sampled_from(
        ["+1", "-1", " 12", "12 ", "1_2", "12a", "1e5", "0x1", "\u0663\u0663", "1" * 16])
    event = st.builds(
        UsageEvent,
        called=sometimes(bad_number, number),
        usage_type=sometimes(st.just("video"), st.sampled_from(["voice", "sms", "data"])),
        quantity=sometimes(st.integers(-2, -1), st.integers(0, 200_000) | st.integers(0, 130)),
        start=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31, 23, 59, 59), timezones=st.just(UTC))
        | st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)).map(on_the_hour)
        | st.sampled_from([SWITCH, SWITCH - timedelta(microseconds=1), datetime(2026, 3, 29, 1, tzinfo=UTC)]),
        timezone=sometimes(st.just("Bad/Zone"),
                           st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])),
    )
    return draw(st.lists(event, min_size=10, max_size=60))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_vectorized_rating_equals_scalar_rating(data):
    table = data.draw(tables())
    assert_same_as_scalar(table, data.draw(batches(table)))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_sorted_search_rates_as_the_block_index(data):
    """A table with a prefix longer than DENSE_DIGITS finds segments by a sorted search instead of the block index:
    forced here on the same random tables, it must give the scalar rater's charges too."""
    table = data.draw(tables())
    events = data.draw(batches(table))
    with mock.patch.object(vector, "DENSE_DIGITS", 0):
        assert compile_table(table).block_segment is None
        assert_same_as_scalar(table, events)


def assert_same_with_allowances(table: RateTable, events: list[UsageEvent], buckets: list[int | None],
                                allowance: dict[int, int]) -> pl.DataFrame:
    """The scalar rater, event by event, each taking from what its bucket has left, equals the batch kernel."""
    batch = frame(events).with_columns(
        bucket=pl.Series(buckets, dtype=pl.Int64),
        allowance=pl.Series([None if b is None else allowance[b] for b in buckets], dtype=pl.Int64))
    rated = rate_batch(compile_table(table), batch)
    left = dict(allowance)
    for event, bucket, row in zip(events, buckets, rated.iter_rows(named=True), strict=True):
        try:
            charge = rate_event(table, event, 0 if bucket is None else left[bucket])
        except InvalidValue as err:
            assert (row["reject"], row["amount"], row["allowance_used"]) == (err.field, None, None), (event, row)
            continue
        if bucket is not None:
            left[bucket] -= charge.allowance_used
        assert (row["amount"], row["allowance_used"]) == (charge.amount.amount, charge.allowance_used), (event, row)
    return rated


def test_allowance_consumption_in_a_batch():
    # 0.40 connect + 0.20/min per started minute; bucket 1 has 300 s, bucket 2 has 100 s.
    table = RateTable("EUR", (Zone("DE", ("49",), (Rate("voice", D("0.20"), connect_fee=D("0.40")),)),))
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    events = [UsageEvent("4930", "voice", s, at, "Europe/Berlin") for s in (130, 130, 60, 130, 10)]
    rated = assert_same_with_allowances(table, events, [1, 1, 1, 2, None], {1: 300, 2: 100})
    assert rated["allowance_used"].to_list() == [
        180,  # 130 s bills 180, all covered: 0
        120,  # 120 left of 300: 60 s to pay -> 0.40 + 1 x 0.20 = 0.60
        0,  # bucket 1 is empty: 0.40 + 0.20 = 0.60
        100,  # bucket 2: 100 of 180 covered, 80 s -> 0.40 + 80 x 0.20 / 60 = 0.666667
        0,  # no bucket: 0.40 + 0.20 = 0.60
    ]
    assert rated["amount"].to_list() == [D("0"), D("0.6"), D("0.6"), D("0.666667"), D("0.6")]


def test_allowance_columns_come_together():
    table = RateTable("EUR", (Zone("DE", ("49",), (Rate("voice", D("0.10")),)),))
    with pytest.raises(InvalidValue) as err:
        rate_batch(compile_table(table), frame([]).with_columns(bucket=pl.lit(1, dtype=pl.Int64)))
    assert err.value.field == "events"


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_vectorized_rating_equals_scalar_rating_with_allowances(data):
    table = data.draw(tables())
    events = data.draw(batches(table))
    buckets = data.draw(st.lists(st.none() | st.integers(0, 3), min_size=len(events), max_size=len(events)))
    allowance = {b: data.draw(st.integers(0, 400) | st.integers(0, 300_000)) for b in range(4)}
    assert_same_with_allowances(table, events, buckets, allowance)

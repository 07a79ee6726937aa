"""Test vectors for the tariff rules: each states the tariff and the arithmetic beside the expected cost."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from openbss.core.errors import InvalidValue
from openbss.rating.rules import Band, Rate, RateTable, UsageEvent, Zone, rate_event
from tests.amounts import eur

D = Decimal
MONDAY_NOON_UTC = datetime(2026, 11, 23, 12, tzinfo=UTC)  # a Monday; 13:00 in Berlin (CET, UTC+1)
WEEKDAYS = frozenset(range(5))


def table(*rates: Rate, prefixes=("49",), holidays=()) -> RateTable:
    return RateTable("EUR", (Zone("DE", tuple(prefixes), rates),), frozenset(holidays))


def call(seconds: int, at: datetime = MONDAY_NOON_UTC, called="4930123456", tz="Europe/Berlin", usage="voice"):
    return UsageEvent(called, usage, seconds, at, tz)


def test_the_issue_example_connect_fee_and_per_started_minute():
    # 0.40 connect + 0.20/min billed 60/60: 120 s bills 120 s = 2 min -> 0.40 + 2 x 0.20 = 0.80
    per_minute = Rate("voice", D("0.20"), unit=60, first=60, next=60, connect_fee=D("0.40"))
    charge = rate_event(table(per_minute), call(120))
    assert charge.amount == eur("0.80") and charge.billed_quantity == 120 and charge.zone == "DE"


@pytest.mark.parametrize("seconds, billed, expected", [
    (121, 180, "1.00"),  # 121 s -> 3 started minutes: 0.40 + 3 x 0.20 = 1.00
    (1, 60, "0.60"),  # 1 s -> the first minute: 0.40 + 0.20 = 0.60
    (0, 0, "0.40"),  # nothing used: the connect fee alone, 0.40
])
def test_per_started_minute(seconds, billed, expected):
    charge = rate_event(table(Rate("voice", D("0.20"), connect_fee=D("0.40"))), call(seconds))
    assert (charge.billed_quantity, charge.amount) == (billed, eur(expected))


@pytest.mark.parametrize("seconds, billed, expected", [
    (31, 36, "0.072000"),  # 30/6 at 0.12/min: 30 + 1 started 6 s = 36 s; 36 x 0.12 / 60 = 0.072
    (10, 30, "0.060000"),  # shorter than the first increment: 30 s; 30 x 0.12 / 60 = 0.06
    (42, 42, "0.084000"),  # 30 + 2 x 6 = 42 s exactly; 42 x 0.12 / 60 = 0.084
    (43, 48, "0.096000"),  # 30 + 3 x 6 = 48 s; 48 x 0.12 / 60 = 0.096
])
def test_thirty_six_increments(seconds, billed, expected):
    charge = rate_event(table(Rate("voice", D("0.12"), first=30, next=6)), call(seconds))
    assert (charge.billed_quantity, charge.amount) == (billed, eur(expected))


def test_per_second_billing():
    # 1/1 at 0.06/min: 61 s bills 61 s; 61 x 0.06 / 60 = 0.061
    assert rate_event(table(Rate("voice", D("0.06"), first=1, next=1)), call(61)).amount == eur("0.061")


PEAK = Band("peak", D("0.30"), start=time(8), end=time(18), days=WEEKDAYS)
BANDED = Rate("voice", D("0.10"), bands=(PEAK,))  # off-peak is the base price 0.10/min


def test_band_ends_exactly_at_18_00_local_time():
    # 17:00 UTC is 18:00 in Berlin (CET): the peak band [08:00, 18:00) has ended -> base 0.10/min x 1 min = 0.10
    charge = rate_event(table(BANDED), call(60, datetime(2026, 11, 23, 17, tzinfo=UTC)))
    assert (charge.band, charge.amount) == (None, eur("0.10"))
    # one second earlier, 17:59:59 local, is still peak: 0.30/min x 1 min = 0.30
    charge = rate_event(table(BANDED), call(60, datetime(2026, 11, 23, 16, 59, 59, tzinfo=UTC)))
    assert (charge.band, charge.amount) == ("peak", eur("0.30"))


def test_band_is_read_in_the_accounts_time_zone():
    # 17:30 UTC: 18:30 in Berlin (off-peak 0.10) but 12:30 in New York (EST, UTC-5), peak 0.30
    at = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    assert rate_event(table(BANDED), call(60, at, tz="Europe/Berlin")).amount == eur("0.10")
    assert rate_event(table(BANDED), call(60, at, tz="America/New_York")).amount == eur("0.30")


def test_weekend_is_off_peak():
    # Saturday 28 Nov 2026, 12:00 Berlin: the peak band is Monday to Friday only -> 0.10/min x 1 = 0.10
    assert rate_event(table(BANDED), call(60, datetime(2026, 11, 28, 11, tzinfo=UTC))).amount == eur("0.10")


def test_holiday_band_replaces_the_weekday_bands():
    # Friday 25 Dec 2026 is a holiday: at 10:00 Berlin the peak (0.30) would apply; the holiday band 0.05/min does.
    christmas = datetime(2026, 12, 25, 9, tzinfo=UTC)
    holiday = Band("holiday", D("0.05"), holidays=True)
    rate = Rate("voice", D("0.10"), bands=(PEAK, holiday))
    charge = rate_event(table(rate, holidays={date(2026, 12, 25)}), call(120, christmas))
    assert (charge.band, charge.amount) == ("holiday", eur("0.10"))  # 2 min x 0.05 = 0.10
    # without a holiday band, a holiday is billed at the base price: 2 min x 0.10 = 0.20
    assert rate_event(table(BANDED, holidays={date(2026, 12, 25)}), call(120, christmas)).amount == eur("0.20")
    # and without the holiday in the table, it is a peak Friday: 2 min x 0.30 = 0.60
    assert rate_event(table(BANDED), call(120, christmas)).amount == eur("0.60")


TWO_ZONES = RateTable("EUR", (
    Zone("Germany", ("49",), (Rate("voice", D("0.10")),)),
    Zone("Germany mobile", ("49151", "49160"), (Rate("voice", D("0.25")),)),
))


@pytest.mark.parametrize("called, zone, expected", [
    ("491511234567", "Germany mobile", "0.25"),  # 49151 (5 digits) beats 49: 1 min x 0.25
    ("4930123456", "Germany", "0.10"),  # only 49 matches: 1 min x 0.10
    ("4915", "Germany", "0.10"),  # shorter than 49151: only 49 is a prefix of it
])
def test_longest_prefix_wins(called, zone, expected):
    charge = rate_event(TWO_ZONES, call(60, called=called))
    assert (charge.zone, charge.amount) == (zone, eur(expected))


def test_no_matching_zone_names_the_number():
    with pytest.raises(InvalidValue) as err:
        rate_event(TWO_ZONES, call(60, called="331234567"))
    assert err.value.field == "called" and "331234567" in err.value.message


@pytest.mark.parametrize("called", ["+4930123", "49 30", "", "4" * 16])
def test_a_number_must_be_e164_digits(called):
    with pytest.raises(InvalidValue) as err:
        rate_event(TWO_ZONES, call(60, called=called))
    assert err.value.field == "called"


def test_minimum_charge():
    # 1/1 at 0.01/min with a 0.05 minimum: 10 s x 0.01 / 60 = 0.001667 < 0.05 -> 0.05
    rate = Rate("voice", D("0.01"), first=1, next=1, minimum=D("0.05"))
    assert rate_event(table(rate), call(10)).amount == eur("0.05")
    # 600 s x 0.01 / 60 = 0.10 > 0.05: the usage price
    assert rate_event(table(rate), call(600)).amount == eur("0.10")


@pytest.mark.parametrize("rounding, expected", [
    ("up", "0.11"),  # 61 s x 0.10 / 60 = 0.101666... up to 2 decimals: 0.11
    ("down", "0.10"),  # ... down: 0.10
    ("half_up", "0.10"),  # ... half-up: 0.10 (0.1016 is below 0.105)
])
def test_rounding_per_rate(rounding, expected):
    rate = Rate("voice", D("0.10"), first=1, next=1, rounding=rounding, places=2)
    assert rate_event(table(rate), call(61)).amount == eur(expected)


def test_half_up_rounds_an_exact_half_up():
    # 1/1 at 0.03/min to 2 decimals: 10 s x 0.03 / 60 = 0.005 exactly -> half-up 0.01
    rate = Rate("voice", D("0.03"), first=1, next=1, places=2)
    assert rate_event(table(rate), call(10)).amount == eur("0.01")


def test_data_is_billed_per_block():
    # 0.01 per 1,000,000 bytes in 100,000-byte blocks: 250,000 bytes bill 300,000; 300,000 x 0.01 / 1e6 = 0.003
    rate = Rate("data", D("0.01"), unit=1_000_000, first=100_000, next=100_000)
    assert rate_event(table(rate), call(250_000, usage="data")).amount == eur("0.003")


def test_sms_per_message():
    # 0.09 per message: 3 messages x 0.09 = 0.27
    rate = Rate("sms", D("0.09"), unit=1, first=1, next=1)
    assert rate_event(table(rate), call(3, usage="sms")).amount == eur("0.27")


def test_the_rate_valid_at_the_event_time_applies():
    # 0.20/min until 1 Dec 2026 00:00 UTC, then 0.15/min
    switch = datetime(2026, 12, 1, tzinfo=UTC)
    old = Rate("voice", D("0.20"), valid_to=switch)
    new = Rate("voice", D("0.15"), valid_from=switch)
    assert rate_event(table(old, new), call(60, datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))).amount == eur("0.20")
    assert rate_event(table(old, new), call(60, switch)).amount == eur("0.15")


def test_no_rate_for_the_usage_type_or_time_is_refused():
    with pytest.raises(InvalidValue) as err:
        rate_event(table(Rate("voice", D("0.10"))), call(1, usage="sms"))
    assert err.value.field == "usage_type"
    later = Rate("voice", D("0.10"), valid_from=datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidValue):
        rate_event(table(later), call(60))


@pytest.mark.parametrize("event, field", [
    (call(-1), "quantity"),
    (call(60, tz="Mars/Olympus"), "timezone"),
    (call(60, tz=None), "timezone"),  # as the vectorized path rejects a null zone
])
def test_bad_events_are_refused(event, field):
    with pytest.raises(InvalidValue) as err:
        rate_event(table(Rate("voice", D("0.10"))), event)
    assert err.value.field == field


@pytest.mark.parametrize("make, field", [
    (lambda: Rate("voice", D("0.0000001")), "price"),  # 7 decimals: below the micro-unit
    (lambda: Rate("voice", D("0.10"), next=0), "next"),
    (lambda: Rate("voice", D("0.10"), rounding="half_even"), "rounding"),
    (lambda: Rate("voice", D("0.10"), places=7), "places"),
    (lambda: Band("evening", D("0.1"), start=time(18), end=time(8)), "band.end"),
    (lambda: Zone("X", ("49",), (Rate("voice", D("1")), Rate("voice", D("2")))), "rates"),  # both valid always
    (lambda: RateTable("EUR", (Zone("A", ("49",), ()), Zone("B", ("49",), ()))), "prefix"),
    (lambda: Zone("X", ("+49",), ()), "prefix"),
])
def test_inconsistent_tariffs_are_refused(make, field):
    with pytest.raises(InvalidValue) as err:
        make()
    assert err.value.field == field


# Allowances: 0.40 connect + 0.20/min per started minute, rounded half-up to 2 places.
ALLOWANCE_RATE = Rate("voice", D("0.20"), connect_fee=D("0.40"), places=2)


def test_the_issue_example_a_partly_covered_call():
    # allowance 300 s, 100 s left; a 130 s call bills 180 s (3 started minutes): covered 100, charged 80 s:
    # 0.40 + 80 x 0.20 / 60 = 0.666667 -> half-up to 2 places 0.67
    charge = rate_event(table(ALLOWANCE_RATE), call(130), left=100)
    assert (charge.billed_quantity, charge.allowance_used, charge.amount) == (180, 100, eur("0.67"))


def test_a_fully_covered_call_costs_nothing_not_even_the_connect_fee():
    # 200 s left; 130 s bills 180 s, all covered -> 0 (no 0.40 connect fee)
    charge = rate_event(table(ALLOWANCE_RATE), call(130), left=200)
    assert (charge.allowance_used, charge.amount) == (180, eur("0"))
    # exactly the billed 180 s left: still fully covered
    assert rate_event(table(ALLOWANCE_RATE), call(130), left=180).amount == eur("0")


def test_a_partly_covered_call_still_pays_the_minimum():
    # 0.05 minimum, per second at 0.06/min: 100 s with 95 s left -> 5 s x 0.06 / 60 = 0.005 < 0.05 -> 0.05
    rate = Rate("voice", D("0.06"), first=1, next=1, minimum=D("0.05"))
    charge = rate_event(table(rate), call(100), left=95)
    assert (charge.allowance_used, charge.amount) == (95, eur("0.05"))


def test_nothing_left_or_a_zero_length_call_takes_no_allowance():
    # no units left: 130 s bills 180 s -> 0.40 + 3 x 0.20 = 1.00
    charge = rate_event(table(ALLOWANCE_RATE), call(130), left=0)
    assert (charge.allowance_used, charge.amount) == (0, eur("1.00"))
    # a zero-length call bills 0 s, covers nothing and pays the connect fee as without an allowance: 0.40
    charge = rate_event(table(ALLOWANCE_RATE), call(0), left=300)
    assert (charge.allowance_used, charge.amount) == (0, eur("0.40"))

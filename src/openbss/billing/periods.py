"""Bill cycle periods and charge terms in an account's time zone: pure date arithmetic, no I/O.

A period `YYYY-MM` is the bill cycle period that starts in that month on the account's bill-cycle day at
00:00 local time; periods are half-open. The terms recurring prices are charged by (`charge_term`) are built
on them: a month is one cycle period, a quarter and a year are 3 and 12 aligned to the calendar, days and
weeks count from the product's anchor. See `billing/model.py` for how the generator uses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from openbss.core.errors import InvalidValue

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class BillPeriod:
    """One bill cycle period [start, end) in local dates of `time_zone`."""

    start: date
    end: date
    time_zone: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start, self.time_zone)

    @property
    def end_at(self) -> datetime:
        return local_midnight(self.end, self.time_zone)

    def next(self) -> BillPeriod:
        return BillPeriod(self.end, add_months(self.end), self.time_zone)


def local_midnight(day: date, time_zone: str) -> datetime:
    """00:00 of a local date as a UTC instant (zoneinfo resolves DST: no zone changes at midnight in CET)."""
    return datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)


def local_date(at: datetime, time_zone: str) -> date:
    return at.astimezone(ZoneInfo(time_zone)).date()


def add_months(day: date, months: int = 1) -> date:
    # Bill-cycle days stop at 28, so the same day exists in every month.
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def parse_period(value: str, field: str = "period") -> tuple[int, int]:
    match = _PERIOD.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidValue(field, value, "must be a month as YYYY-MM, e.g. 2026-10")
    return int(match[1]), int(match[2])


def cycle_period(period: str, bill_cycle_day: int, time_zone: str) -> BillPeriod:
    """The account's bill cycle period that starts in the month `period` (YYYY-MM)."""
    year, month = parse_period(period)
    start = date(year, month, bill_cycle_day)
    return BillPeriod(start, add_months(start), time_zone)


def period_containing(day: date, bill_cycle_day: int, time_zone: str) -> BillPeriod:
    start = date(day.year, day.month, bill_cycle_day)
    if day < start:
        start = date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, bill_cycle_day)
    return BillPeriod(start, add_months(start), time_zone)


# Bill periods in a term of a recurring price by its `period`; day and week terms are counted in days instead.
TERM_MONTHS = {"month": 1, "quarter": 3, "year": 12}
TERM_DAYS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class Term:
    """One period [start, end) of a recurring price (a day, a week, a cycle month, quarter or year)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def charge_term(period: str, day: date, bill_cycle_day: int, time_zone: str, anchor: date) -> Term:
    """The term of a recurring price with `period` that local `day` falls in. Months are bill cycle periods;
    quarters and years are 3 and 12 of them, aligned to the year: a quarter starts with the cycle period that
    starts in January, April, July or October, a year with the one that starts in January (BCD 15: the year
    2027 is [2027-01-15, 2028-01-15)). Weeks run from `anchor` (the day the product moved to the offering)."""
    if period in TERM_DAYS:
        size = TERM_DAYS[period]
        start = anchor + timedelta(days=(day - anchor).days // size * size)
        return Term(start, start + timedelta(days=size))
    months = TERM_MONTHS[period]
    cycle = period_containing(day, bill_cycle_day, time_zone)
    start = date(cycle.start.year, (cycle.start.month - 1) // months * months + 1, bill_cycle_day)
    return Term(start, add_months(start, months))


def events_horizon(period: BillPeriod) -> datetime:
    """How far the invoice for `period` looks at the products' lives: to the end of the longest term it may
    bill in advance (a year starting with the next period), so a cancellation already decided for a date in
    that term is charged as known instead of charged and credited later."""
    return local_midnight(add_months(period.end, 12), period.time_zone)

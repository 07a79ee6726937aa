"""Bill cycle periods and charge terms in an account's time zone: pure date arithmetic, no I/O.

An account's bill cycle (`BillCycle`, read from the account by `cycle_of`) has a bill-cycle day (1-28), a time
zone, a frequency (month, quarter, year) and an alignment. A period `YYYY-MM` names the account's cycle period
that STARTS in that month on the bill-cycle day at 00:00 local time (`due_period`); periods are half-open. A
quarter or a year starts in the months of its alignment: "calendar" quarters in January, April, July and
October and years in January; "anniversary" quarters and years count from the account's anchor month (the
month it was created in, unless given). A month in which no period of the account starts names no period of
it: the account is not due then (`due_period` gives None), and a bill run passes it by.

Cycle months (`period_containing`: the month-long period of the bill-cycle day that holds a day) stay the
unit recurring prices are charged in (`charge_term`): a month price is one cycle month, a quarter and a year
price 3 and 12 of them aligned like the account's cycle (so a year price on an annual cycle is the cycle
period), days and weeks count from the product's anchor; so a monthly price on a quarterly cycle bills the
next quarter's three months in advance. See `billing/generator.py` for how the generator uses them.

Grace (`billable_from`): a period is billed once it has closed and the account's grace days for late usage
have passed too, so usage arriving within grace still lands on the period's invoice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from openbss.core.errors import Conflict, InvalidValue

if TYPE_CHECKING:
    from openbss.party.model import BillingAccount

_PERIOD = re.compile(r"(\d{4})-(\d{2})")
# Cycle months per period of a bill cycle (`BillCycle.frequency`) and of a recurring price's term.
FREQUENCY_MONTHS = {"month": 1, "quarter": 3, "year": 12}


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
    def months(self) -> int:
        """Cycle months in the period: 1, 3 or 12 (start and end share the bill-cycle day)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start, self.time_zone)

    @property
    def end_at(self) -> datetime:
        return local_midnight(self.end, self.time_zone)

    def next(self) -> BillPeriod:
        """The period after this one, as long as this one (a month, quarter or year)."""
        return BillPeriod(self.end, add_months(self.end, max(self.months, 1)), self.time_zone)


@dataclass(frozen=True)
class BillCycle:
    """An account's bill cycle: periods of `frequency` starting on `bill_cycle_day` in `time_zone`, in the months
    of `alignment` (anniversary: counted from `anchor`, the first day of the anchor month), billed `grace_days`
    after they close."""

    bill_cycle_day: int
    time_zone: str
    frequency: str = "month"
    alignment: str = "calendar"
    anchor: date | None = None
    grace_days: int = 0

    @property
    def months(self) -> int:
        return FREQUENCY_MONTHS[self.frequency]

    @property
    def origin_month(self) -> int:
        """The month (1-12) quarters and years start from: January, or the anchor's month."""
        return self.anchor.month if self.alignment == "anniversary" and self.anchor is not None else 1

    def starts_in(self, year: int, month: int) -> bool:
        """Whether a period of this cycle starts in that month."""
        return (month - self.origin_month) % self.months == 0


def cycle_of(account: BillingAccount) -> BillCycle:
    """The bill cycle of a billing account."""
    return BillCycle(account.bill_cycle_day, account.time_zone, account.bill_frequency, account.cycle_alignment,
                     account.cycle_anchor, account.grace_days)


# Pure functions of a few immutable values, called for every day range of every product of a bill run: cached.
@lru_cache(maxsize=4096)
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
    """The cycle month that starts in the month `period` (YYYY-MM): a monthly account's bill period."""
    year, month = parse_period(period)
    start = date(year, month, bill_cycle_day)
    return BillPeriod(start, add_months(start), time_zone)


def due_period(period: str, cycle: BillCycle) -> BillPeriod | None:
    """The period of `cycle` that starts in the month `period` (YYYY-MM), or None when none starts then (a
    quarterly account is not due in the two months between its quarters)."""
    year, month = parse_period(period)
    if not cycle.starts_in(year, month):
        return None
    start = date(year, month, cycle.bill_cycle_day)
    return BillPeriod(start, add_months(start, cycle.months), cycle.time_zone)


def cycle_containing(day: date, cycle: BillCycle) -> BillPeriod:
    """The period of `cycle` that local `day` falls in."""
    month = period_containing(day, cycle.bill_cycle_day, cycle.time_zone).start
    back = (month.month - cycle.origin_month) % cycle.months
    start = add_months(month, -back)
    return BillPeriod(start, add_months(start, cycle.months), cycle.time_zone)


def billable_from(period: BillPeriod, grace_days: int) -> datetime:
    """When `period` may be billed: its end (local midnight) plus the grace days for late usage."""
    return local_midnight(period.end + timedelta(days=grace_days), period.time_zone)


def closing_problem(label: str, account_number: str, period: BillPeriod, grace_days: int, now: datetime) -> str | None:
    """Why `period` cannot be billed at `now`, or None once it has closed and its grace for late usage has passed
    (billing an open period would miss usage still to come and bill in advance too early)."""
    if now >= billable_from(period, grace_days):
        return None
    if now < period.end_at:
        grace = f" (and {grace_days} grace days for late usage after that)" if grace_days else ""
        return (f"period={label!r} of billing account {account_number} runs until {period.end_at.isoformat()}"
                f"{grace} and cannot be billed before it closes")
    return (f"period={label!r} of billing account {account_number} closed at {period.end_at.isoformat()} but its "
            f"{grace_days} grace days for late usage run until {billable_from(period, grace_days).isoformat()}: it "
            "cannot be billed before then")


def check_closed(label: str, account_number: str, period: BillPeriod, grace_days: int, now: datetime) -> None:
    """Raise Conflict with `closing_problem` when `period` cannot be billed yet."""
    problem = closing_problem(label, account_number, period, grace_days, now)
    if problem is not None:
        raise Conflict(problem)


@lru_cache(maxsize=4096)
def period_containing(day: date, bill_cycle_day: int, time_zone: str) -> BillPeriod:
    start = date(day.year, day.month, bill_cycle_day)
    if day < start:
        start = date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, bill_cycle_day)
    return BillPeriod(start, add_months(start), time_zone)


# Cycle months in a term of a recurring price by its `period`; day and week terms are counted in days instead.
TERM_MONTHS = FREQUENCY_MONTHS
TERM_DAYS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class Term:
    """One period [start, end) of a recurring price (a day, a week, a cycle month, quarter or year)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@lru_cache(maxsize=4096)
def charge_term(period: str, day: date, bill_cycle_day: int, time_zone: str, anchor: date,
                origin_month: int = 1) -> Term:
    """The term of a recurring price with `period` that local `day` falls in. Months are cycle months;
    quarters and years are 3 and 12 of them, aligned to the year from `origin_month` (the account cycle's:
    January unless anniversary-aligned): a quarter starts with the cycle month that starts in January, April,
    July or October, a year with the one that starts in January (BCD 15: the year 2027 is [2027-01-15,
    2028-01-15)). Weeks run from `anchor` (the day the product moved to the offering)."""
    if period in TERM_DAYS:
        size = TERM_DAYS[period]
        start = anchor + timedelta(days=(day - anchor).days // size * size)
        return Term(start, start + timedelta(days=size))
    months = TERM_MONTHS[period]
    month = period_containing(day, bill_cycle_day, time_zone).start
    start = add_months(month, -((month.month - origin_month) % months))
    return Term(start, add_months(start, months))


def events_horizon(period: BillPeriod) -> datetime:
    """How far the invoice for `period` looks at the products' lives: to the end of the longest term it may
    bill in advance (a year starting in the next period: 12 months after a monthly period ends, 14 after a
    quarter, 23 after a year), so a cancellation already decided for a date in that term is charged as known
    instead of charged and credited later."""
    return local_midnight(add_months(period.end, 11 + max(period.months, 1)), period.time_zone)

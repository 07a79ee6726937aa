"""Pure tariff rules and the scalar rater: destination zones by longest prefix, dated rates, time bands,
connect fee, charging increments, minimum charge and rounding per rate.

`rate_event` prices one event with Decimal arithmetic (online charging will use it); `rating.vector`
applies the same rules to a batch in integer micro-units and must give the same charge to the cent, and
to the micro-unit (a hypothesis property test proves it).

Allowances (included units of a bucket, see `covered_units`): an event rated with `left` units remaining in
its bucket takes covered = min(left, billed) of them, billed being its quantity after increments. A fully
covered event (covered > 0 and covered == billed) costs 0, connect fee included; a partly covered one pays
connect fee + (billed - covered) x price / unit, then the minimum and the rate's rounding as usual. An event
billed 0 (a zero-length call) takes nothing and pays its connect fee as without an allowance. Consumption is
sequential: the next event of the bucket sees left - covered. Tiered and volume pricing across the period
stay with the catalog's price models, which billing applies to period totals (catalog.model.usage_charge).
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openbss.core.errors import InvalidValue
from openbss.core.money import RATED_PLACES, Money, check_currency

# The roundings a rate may name (a subset of core.money's modes: the ones tariffs use on a charge).
RATE_ROUNDINGS = {"up": decimal.ROUND_UP, "down": decimal.ROUND_DOWN, "half_up": decimal.ROUND_HALF_UP}
MAX_NUMBER_DIGITS = 15  # E.164: a number has at most 15 digits, country code included
# Enough digits that connect + billed x price / unit is exact (or far from any rounding edge) before the one
# rounding, as in rating.model.
_PRECISION = 60


def _micro(value: Decimal, name: str) -> Decimal:
    """Tariff money keeps at most the 6 decimals rated usage keeps, so the batch path can use integer micro-units."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise InvalidValue(name, value, "must be a non-negative finite Decimal")
    if value != value.quantize(Decimal(1).scaleb(-RATED_PLACES), rounding=decimal.ROUND_DOWN):
        raise InvalidValue(name, value, f"must have at most {RATED_PLACES} decimals")
    return value


@dataclass(frozen=True, slots=True)
class Band:
    """A time band: local time of day [start, end) on the given weekdays (0 = Monday), or on holidays.

    A weekday band does not apply on a holiday (holidays are billed like the tariff says for holidays:
    a band with `holidays=True`, else the rate's base price). `end=None` means up to midnight."""

    name: str
    price: Decimal
    start: time = time(0)
    end: time | None = None
    days: frozenset[int] = frozenset(range(7))
    holidays: bool = False

    def __post_init__(self) -> None:
        _micro(self.price, "band.price")
        if not set(self.days) <= set(range(7)):
            raise InvalidValue("band.days", sorted(self.days), "must be weekdays 0 (Monday) to 6 (Sunday)")
        if self.end is not None and self.end <= self.start:
            raise InvalidValue("band.end", self.end, f"must be after start {self.start} (None means midnight)")

    @property
    def start_second(self) -> int:
        return _second_of_day(self.start)

    @property
    def end_second(self) -> int:
        return 86_400 if self.end is None else _second_of_day(self.end)

    def applies(self, local: datetime, holiday: bool) -> bool:
        on_day = holiday if self.holidays else (not holiday and local.weekday() in self.days)
        return on_day and self.start_second <= _second_of_day(local.time()) < self.end_second


def _second_of_day(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True, slots=True)
class Rate:
    """How one usage type is priced in one zone while valid: `price` per `unit` of quantity (60 s for a
    per-minute voice price, 1 message, 1,000,000 bytes), billed in increments: the first `first` units, then
    every started `next` (60/60 per started minute, 30/6, 1/1 per second; data per block of bytes).

    charge = round(max(connect_fee + billed x price / unit, minimum), places, rounding), where the price is
    the first applying band's price, else `price`. A zero quantity bills nothing beyond the connect fee."""

    usage_type: str
    price: Decimal
    unit: int = 60
    first: int = 60
    next: int = 60
    connect_fee: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)
    rounding: str = "half_up"
    places: int = RATED_PLACES
    bands: tuple[Band, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("price", "connect_fee", "minimum"):
            _micro(getattr(self, name), name)
        for name in ("unit", "first", "next"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidValue(name, value, "must be a positive integer")
        if self.rounding not in RATE_ROUNDINGS:
            raise InvalidValue("rounding", self.rounding, f"must be one of {', '.join(RATE_ROUNDINGS)}")
        if not isinstance(self.places, int) or not 0 <= self.places <= RATED_PLACES:
            raise InvalidValue("places", self.places, f"must be 0 to {RATED_PLACES}")
        for name in ("valid_from", "valid_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidValue(name, value, "must be timezone-aware")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise InvalidValue("valid_to", self.valid_to, f"must be after valid_from {self.valid_from}")

    def valid_at(self, at: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (self.valid_to is None or at < self.valid_to)

    def billed_quantity(self, quantity: int) -> int:
        """The first increment, then every started next increment: 61 s at 60/60 bills 120, at 30/6 bills 66."""
        if quantity == 0:
            return 0
        rest = max(quantity - self.first, 0)
        return self.first + -(-rest // self.next) * self.next

    def band_at(self, local: datetime, holiday: bool) -> Band | None:
        return next((b for b in self.bands if b.applies(local, holiday)), None)


def _overlap(a: Rate, b: Rate) -> bool:
    starts_before_b_ends = a.valid_from is None or b.valid_to is None or a.valid_from < b.valid_to
    ends_after_b_starts = a.valid_to is None or b.valid_from is None or b.valid_from < a.valid_to
    return starts_before_b_ends and ends_after_b_starts


@dataclass(frozen=True, slots=True)
class Zone:
    """A destination zone: the number prefixes that reach it, and its rates (one per usage type at any time)."""

    name: str
    prefixes: tuple[str, ...]
    rates: tuple[Rate, ...]

    def __post_init__(self) -> None:
        for p in self.prefixes:
            if not (isinstance(p, str) and p.isascii() and p.isdigit() and len(p) <= MAX_NUMBER_DIGITS):
                raise InvalidValue("prefix", p, f"must be 1 to {MAX_NUMBER_DIGITS} digits")
        for i, a in enumerate(self.rates):
            for b in self.rates[i + 1:]:
                if a.usage_type == b.usage_type and _overlap(a, b):
                    raise InvalidValue("rates", self.name, f"has overlapping {a.usage_type} rates")

    def rate_at(self, usage_type: str, at: datetime) -> Rate | None:
        return next((r for r in self.rates if r.usage_type == usage_type and r.valid_at(at)), None)


@dataclass(frozen=True, slots=True)
class RateTable:
    """Zones of one tariff in one currency, and the holidays its bands know (local dates)."""

    currency: str
    zones: tuple[Zone, ...]
    holidays: frozenset[date] = frozenset()
    by_prefix: dict[str, Zone] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_currency(self.currency)
        index: dict[str, Zone] = {}
        for zone in self.zones:
            for p in zone.prefixes:
                if p in index:
                    raise InvalidValue("prefix", p, f"is in both zone {index[p].name!r} and {zone.name!r}")
                index[p] = zone
        object.__setattr__(self, "by_prefix", index)

    def zone_for(self, number: str) -> Zone:
        """The zone of the longest prefix of the number: 49151... goes to 49151, not to 49."""
        check_number(number)
        for length in range(len(number), 0, -1):
            zone = self.by_prefix.get(number[:length])
            if zone is not None:
                return zone
        raise InvalidValue("called", number, "matches no destination zone of the rate table")


def check_number(number: object) -> str:
    if not (isinstance(number, str) and number.isascii() and number.isdigit() and len(number) <= MAX_NUMBER_DIGITS):
        raise InvalidValue("called", number, f"must be 1 to {MAX_NUMBER_DIGITS} digits (E.164 without '+')")
    return number


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One event to rate: the called number (E.164 digits), its usage type, its integer quantity (seconds,
    messages, bytes), when it started (aware), and the account's time zone the bands are read in."""

    called: str
    usage_type: str
    quantity: int
    start: datetime
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Charge:
    amount: Money
    zone: str
    band: str | None  # None: the rate's base price applied
    billed_quantity: int
    allowance_used: int = 0  # units taken from the event's allowance bucket


def covered_units(left: int, billed: int) -> int:
    """The allowance units an event billed `billed` units takes from a bucket with `left` units remaining:
    min(left, billed) (never negative: a bucket overdrawn elsewhere covers nothing)."""
    return max(min(left, billed), 0)


def local_time(event: UsageEvent) -> datetime:
    try:
        zone = ZoneInfo(event.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):  # TypeError: no zone at all (None)
        raise InvalidValue("timezone", event.timezone, "is not an IANA time zone") from None
    if event.start.tzinfo is None:
        raise InvalidValue("start", event.start, "must be timezone-aware")
    return event.start.astimezone(zone)


def rate_event(table: RateTable, event: UsageEvent, left: int = 0) -> Charge:
    """Price one event with the table (see `Rate` for the formula), `left` units remaining in its allowance
    bucket (see the module docstring: a fully covered event costs 0, a partly covered one pays for the rest)."""
    q = event.quantity
    if not isinstance(q, int) or isinstance(q, bool) or q < 0:
        raise InvalidValue("quantity", q, "must be a non-negative integer")
    zone = table.zone_for(event.called)
    rate = zone.rate_at(event.usage_type, event.start)
    if rate is None:
        raise InvalidValue("usage_type", event.usage_type, f"has no rate in zone {zone.name!r} at {event.start}")
    local = local_time(event)
    band = rate.band_at(local, local.date() in table.holidays)
    price = band.price if band else rate.price
    billed = rate.billed_quantity(q)
    covered = covered_units(left, billed)
    with decimal.localcontext(prec=_PRECISION):
        # Multiply before dividing, and round once at the end, as rating.model does.
        amount = max(rate.connect_fee + (billed - covered) * price / rate.unit, rate.minimum)
        amount = amount.quantize(Decimal(1).scaleb(-rate.places), rounding=RATE_ROUNDINGS[rate.rounding])
    if covered and covered == billed:
        amount = Decimal(0)  # fully covered: no connect fee, no minimum
    return Charge(Money(amount, table.currency), zone.name, band.name if band else None, billed, covered)


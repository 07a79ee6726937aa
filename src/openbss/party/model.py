"""Customers and billing accounts: pure types and the rules that check them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale

from openbss.core.errors import InvalidValue
from openbss.core.money import check_currency

# Days 29-31 do not exist in every month; operators keep cycles on 1-28 so every period has the same anchor.
MAX_BILL_CYCLE_DAY = 28
CUSTOMER_STATUSES = ("initialized", "validated", "approved", "active", "inactive")
ACCOUNT_STATES = ("active", "suspended", "closed")


@dataclass(frozen=True)
class Customer:
    id: uuid.UUID
    name: str
    status: str
    email: str | None
    created_at: datetime


@dataclass(frozen=True)
class BillingAccount:
    id: uuid.UUID
    number: str
    name: str
    customer_id: uuid.UUID
    currency: str
    country: str
    bill_cycle_day: int
    time_zone: str
    state: str
    created_at: datetime
    customer_name: str | None = None  # read with the account: TMF references carry the party's name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(k for k in Locale("en").territories if len(k) == 2 and k.isalpha())


def check_name(value: str, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(field, value, "must not be empty")
    return value.strip()


def check_customer_status(value: str) -> str:
    if value not in CUSTOMER_STATUSES:
        raise InvalidValue("status", value, f"must be one of {', '.join(CUSTOMER_STATUSES)}")
    return value


def check_country(value: str, field: str = "country") -> str:
    if value not in _countries():
        raise InvalidValue(field, value, "is not an ISO 3166-1 alpha-2 country code")
    return value


def check_bill_cycle_day(value: int, field: str = "billCycleDay") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BILL_CYCLE_DAY:
        raise InvalidValue(field, value, f"must be a day of the month from 1 to {MAX_BILL_CYCLE_DAY}")
    return value


def check_time_zone(value: str, field: str = "timeZone") -> str:
    try:
        if value not in available_timezones():
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidValue(field, value, "is not an IANA time zone such as 'Europe/Berlin'") from None
    return value


def check_account(currency: str, country: str, bill_cycle_day: int, time_zone: str) -> None:
    check_currency(currency)
    check_country(country)
    check_bill_cycle_day(bill_cycle_day)
    check_time_zone(time_zone)

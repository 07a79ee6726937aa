"""Parties (individuals, organizations), customers and billing accounts: pure types and the rules that check them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from stdnum.eu import vat

from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money, check_currency

# Days 29-31 do not exist in every month; operators keep cycles on 1-28 so every period has the same anchor.
MAX_BILL_CYCLE_DAY = 28
CUSTOMER_STATUSES = ("initialized", "validated", "approved", "active", "inactive")
# `pending`: created through the base TMF666 schema without the currency and country billing needs; it is not
# billed, ordered on or paid into until a PATCH completes it and sets it active.
ACCOUNT_STATES = ("pending", "active", "suspended", "closed")
PARTY_KINDS = ("Individual", "Organization")
# TMF632 IndividualStateType / OrganizationStateType, spelled as the v4 spec spells them ("deceaded")
PARTY_STATUSES = {"Individual": ("initialized", "validated", "deceaded"),
                  "Organization": ("initialized", "validated", "closed")}
DEFAULT_PAYMENT_TERMS_DAYS = 14
MAX_PAYMENT_TERMS_DAYS = 365
# Bill cycles (billing.periods.BillCycle): how long a period is, and which months periods start in ("calendar":
# quarters in Jan/Apr/Jul/Oct, years in January; "anniversary": counted from the account's anchor month).
BILL_FREQUENCIES = ("month", "quarter", "year")
CYCLE_ALIGNMENTS = ("calendar", "anniversary")
# TMF666 BillingCycleSpecification.frequency spellings, stored as the period name above.
FREQUENCY_ALIASES = {"monthly": "month", "quarterly": "quarter", "yearly": "year", "annual": "year",
                     "annually": "year"}
# Days after a period closes during which late usage still goes on its invoice; the bill run waits for them.
MAX_GRACE_DAYS = 60


@dataclass(frozen=True)
class Party:
    """An individual or an organization (TMF632). Lists hold TMF structures as the client sent them."""

    id: uuid.UUID
    kind: str
    status: str
    created_at: datetime
    updated_at: datetime
    given_name: str | None = None
    family_name: str | None = None
    middle_name: str | None = None
    full_name: str | None = None
    title: str | None = None
    birth_date: date | None = None
    name: str | None = None  # an organization's registered name
    trading_name: str | None = None
    organization_type: str | None = None
    is_legal_entity: bool | None = None
    contact_medium: list[dict[str, Any]] = field(default_factory=list)
    characteristic: list[dict[str, Any]] = field(default_factory=list)
    external_reference: list[dict[str, Any]] = field(default_factory=list)
    # Other TMF632 attributes openbss keeps but does not act on (otherName, languageAbility, skill, ...).
    attributes: dict[str, Any] = field(default_factory=dict)
    erased_at: datetime | None = None

    @property
    def display_name(self) -> str:
        if self.kind == "Organization":
            return self.trading_name or self.name or ""
        return self.full_name or " ".join(p for p in (self.given_name, self.family_name) if p)


@dataclass(frozen=True)
class PartyRef:
    """The party a customer or account refers to: one held here (`local`) or in another party register."""

    id: str
    referred_type: str
    name: str | None = None
    href: str | None = None
    local: bool = False


@dataclass(frozen=True)
class Customer:
    """A party in the customer role (TMF629)."""

    id: uuid.UUID
    name: str
    status: str
    created_at: datetime
    party: PartyRef | None = None
    status_reason: str | None = None
    segment: str | None = None
    contact_medium: list[dict[str, Any]] = field(default_factory=list)
    characteristic: list[dict[str, Any]] = field(default_factory=list)
    related_party: list[dict[str, Any]] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    updated_at: datetime | None = None

    @property
    def email(self) -> str | None:
        return next((m["characteristic"].get("emailAddress") for m in self.contact_medium
                     if m.get("mediumType") == "email" and m.get("characteristic")), None)


@dataclass(frozen=True)
class BillingAccount:
    id: uuid.UUID
    number: str
    name: str
    customer_id: uuid.UUID | None
    currency: str | None
    country: str | None
    bill_cycle_day: int
    time_zone: str
    state: str
    created_at: datetime
    customer_name: str | None = None  # read with the account: TMF references carry the party's name
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    credit_limit: Money | None = None
    vat_id: str | None = None
    # TMF666 AccountTaxExemption entries (issuingJurisdiction, certificateNumber, reason, validFor)
    tax_exemption: list[dict[str, Any]] = field(default_factory=list)
    parent_id: uuid.UUID | None = None
    parent_since: datetime | None = None
    bill_to_parent: bool = False  # "parent pays": this account's charges go on the parent's invoice
    related_party: list[dict[str, Any]] = field(default_factory=list)  # parties other than the owning customer
    description: str | None = None
    updated_at: datetime | None = None
    bill_frequency: str = "month"  # one of BILL_FREQUENCIES
    cycle_alignment: str = "calendar"  # one of CYCLE_ALIGNMENTS
    cycle_anchor: date | None = None  # first day of the month anniversary cycles count from
    grace_days: int = 0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def tax_exempt(self) -> bool:
        return bool(self.tax_exemption)


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


def check_party_status(kind: str, value: str) -> str:
    allowed = PARTY_STATUSES[kind]
    if value not in allowed:
        raise InvalidValue("status", value, f"must be one of {', '.join(allowed)}")
    return value


def check_party_kind(value: str, field: str = "@referredType") -> str:
    if value not in PARTY_KINDS:
        raise InvalidValue(field, value, f"must be one of {', '.join(PARTY_KINDS)}")
    return value


def check_birth_date(value: date | None, today: date) -> date | None:
    if value is not None and value > today:
        raise InvalidValue("birthDate", value.isoformat(), "is in the future")
    return value


def check_characteristics(items: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """TMF Characteristic: a unique name with a value."""
    seen = set()
    for i, c in enumerate(items):
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidValue(f"{field}[{i}].name", name, "must not be empty")
        if name in seen:
            raise InvalidValue(f"{field}[{i}].name", name, "is given twice")
        if "value" not in c:
            raise InvalidValue(f"{field}[{i}].value", None, "is required")
        seen.add(name)
    return items


def check_contact_media(items: list[dict[str, Any]], field: str = "contactMedium") -> list[dict[str, Any]]:
    for i, m in enumerate(items):
        if not isinstance(m.get("mediumType"), str) or not m["mediumType"].strip():
            raise InvalidValue(f"{field}[{i}].mediumType", m.get("mediumType"), "must not be empty")
        email = (m.get("characteristic") or {}).get("emailAddress")
        if email is not None and (not isinstance(email, str) or "@" not in email.strip("@")):
            raise InvalidValue(f"{field}[{i}].characteristic.emailAddress", email, "is not an e-mail address")
    return items


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


def check_bill_frequency(value: str, field: str = "billStructure.cycleSpecification.frequency") -> str:
    """A period name or its TMF spelling ("quarterly"); returns the period name."""
    name = FREQUENCY_ALIASES.get(value, value) if isinstance(value, str) else value
    if name not in BILL_FREQUENCIES:
        raise InvalidValue(field, value, f"must be one of {', '.join(BILL_FREQUENCIES)} (or monthly, quarterly, yearly)")
    return name


def check_cycle_alignment(value: str, field: str = "billStructure.cycleSpecification.alignment") -> str:
    if value not in CYCLE_ALIGNMENTS:
        raise InvalidValue(field, value, f"must be one of {', '.join(CYCLE_ALIGNMENTS)}")
    return value


def check_cycle_anchor(value: date | None, field: str = "billStructure.cycleSpecification.anchorMonth") -> date | None:
    if value is not None and (not isinstance(value, date) or value.day != 1):
        raise InvalidValue(field, str(value), "must be a month as YYYY-MM, e.g. 2026-03")
    return value


def check_grace_days(value: int, field: str = "billStructure.cycleSpecification.graceDays") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_DAYS:
        raise InvalidValue(field, value, f"must be a number of days from 0 to {MAX_GRACE_DAYS}")
    return value


def check_payment_terms(value: int, field: str = "paymentTermsDays") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PAYMENT_TERMS_DAYS:
        raise InvalidValue(field, value, f"must be a number of days from 0 to {MAX_PAYMENT_TERMS_DAYS}")
    return value


def check_vat_id(value: str | None, field: str = "vatId") -> str | None:
    """An EU VAT identification number with its country prefix, checksum verified; stored compact (DE136695976)."""
    if value is None:
        return None
    if not isinstance(value, str) or not vat.is_valid(value):
        raise InvalidValue(field, value, "is not a valid EU VAT identification number")
    return vat.compact(value)


def check_credit_limit(limit: Money | None, currency: str | None, field: str = "creditLimit") -> Money | None:
    if limit is None:
        return None
    if currency is None:
        raise InvalidValue(f"{field}.unit", limit.currency, "needs the account's currency to be set first")
    if limit.currency != currency:
        raise InvalidValue(f"{field}.unit", limit.currency, f"must be the account's currency {currency}")
    if limit.amount < 0:
        raise InvalidValue(f"{field}.value", str(limit.amount), "must not be negative")
    return limit


def check_tax_exemptions(items: list[dict[str, Any]], field: str = "taxExemption") -> list[dict[str, Any]]:
    for i, t in enumerate(items):
        if not isinstance(t.get("issuingJurisdiction"), str) or not t["issuingJurisdiction"].strip():
            raise InvalidValue(f"{field}[{i}].issuingJurisdiction", t.get("issuingJurisdiction"), "is required")
    return items


def check_account(account: BillingAccount) -> BillingAccount:
    """The whole account's rules; an active account must have what billing needs."""
    if account.state not in ACCOUNT_STATES:
        raise InvalidValue("state", account.state, f"must be one of {', '.join(ACCOUNT_STATES)}")
    check_name(account.name)
    if account.currency is not None:
        check_currency(account.currency)
    if account.country is not None:
        check_country(account.country)
    check_bill_cycle_day(account.bill_cycle_day)
    check_time_zone(account.time_zone)
    check_bill_frequency(account.bill_frequency)
    check_cycle_alignment(account.cycle_alignment)
    check_cycle_anchor(account.cycle_anchor)
    check_grace_days(account.grace_days)
    check_payment_terms(account.payment_terms_days)
    check_credit_limit(account.credit_limit, account.currency)
    check_tax_exemptions(account.tax_exemption)
    missing = [n for n, v in (("currency", account.currency), ("country", account.country)) if v is None]
    if account.state != "pending" and missing:
        raise InvalidValue("state", account.state, f"needs {' and '.join(missing)} to be set")
    if account.bill_to_parent and account.parent_id is None:
        raise InvalidValue("billToParent", True, "needs a parent account (accountRelationship of type 'parent')")
    return account


def check_parent(account: BillingAccount, parent: BillingAccount, ancestors: list[BillingAccount]) -> None:
    """`ancestors` is the parent's chain upwards (parent's parent first). Refuse cycles and mixed currencies."""
    chain = [parent, *ancestors]
    if any(a.id == account.id for a in chain):
        loop = " -> ".join(a.number for a in [account, *chain[: [a.id for a in chain].index(account.id) + 1]])
        raise Conflict(f"accountRelationship: making {parent.number} the parent of {account.number} would make "
                       f"{account.number} its own ancestor ({loop})")
    if account.bill_to_parent and parent.currency != account.currency:
        raise InvalidValue("billToParent", True, f"needs the parent {parent.number} to bill in {account.currency}, "
                           f"not {parent.currency}")


def pseudonym(party_id: uuid.UUID) -> str:
    """A stable stand-in for erased personal data: the same party always gets the same one, and it reveals nothing."""
    return f"erased-{hashlib.sha256(party_id.bytes).hexdigest()[:12]}"


def erased_media(media: list[Mapping[str, Any]], stand_in: str) -> list[dict[str, Any]]:
    """Contact media keep their type (so the record still reads as 'had an e-mail'), every value is replaced."""
    return [{"mediumType": m.get("mediumType"),
             "characteristic": {k: stand_in for k in (m.get("characteristic") or {}) if not k.startswith("@")}}
            for m in media]


def erased_characteristics(items: list[Mapping[str, Any]], stand_in: str) -> list[dict[str, Any]]:
    return [{"name": c.get("name"), "value": stand_in} for c in items]

"""TMF670 payment methods: pure types and the checks each kind must pass before it is stored.

Kinds (the TMF670 `@type`): directDebit (a bank account with a SEPA mandate: IBAN and BIC checked with schwifty,
mandate reference and signature date), tokenizedCard (a token the named gateway holds, with brand, last four
digits and expiry for display; a card number is refused wherever it appears), bankAccountTransfer, cash and
voucher. An account has at most one preferred (default) method, the one direct debits and charges use.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from openbss.core.errors import InvalidValue

KINDS = ("directDebit", "tokenizedCard", "bankAccountTransfer", "cash", "voucher")
# The payment's `method` (TMF676 paymentMethod @type of a payment) each stored kind pays with.
PAYMENT_METHOD_OF_KIND = {"directDebit": "directDebit", "tokenizedCard": "card", "bankAccountTransfer": "bankTransfer",
                          "cash": "cash"}
ACTIVE, INACTIVE = "active", "inactive"
# SEPA mandate reference: up to 35 characters of the restricted Latin set the EPC rulebook allows.
_MANDATE_ID = re.compile(r"^[A-Za-z0-9+?/:().,' -]{1,35}$")
_LAST4 = re.compile(r"^[0-9]{4}$")
_EXPIRY = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])")


@dataclass(frozen=True)
class PaymentMethod:
    id: uuid.UUID
    account_id: uuid.UUID
    kind: str
    name: str
    is_preferred: bool
    status: str
    status_date: datetime
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    status_reason: str | None = None
    gateway: str | None = None

    @property
    def mandate_id(self) -> str | None:
        return self.details.get("mandateId") if self.kind == "directDebit" else None

    @property
    def usable(self) -> bool:
        return self.status == ACTIVE


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    """13 to 19 digits (spaces and dashes ignored) passing the Luhn check: a primary account number, never stored."""
    digits = re.sub(r"[ -]", "", value)
    return digits.isdigit() and 13 <= len(digits) <= 19 and _luhn_ok(digits)


def check_iban(value: Any, field: str = "accountNumber") -> str:
    try:
        iban = IBAN(str(value))
    except SchwiftyException as e:
        raise InvalidValue(field, value, f"is not a valid IBAN ({e})") from None
    if not iban.in_sepa_zone:
        raise InvalidValue(field, value, f"is an IBAN of {iban.country_code}, outside the SEPA zone")
    return iban.compact


def check_bic(value: Any, field: str = "BIC") -> str:
    try:
        return BIC(str(value)).compact
    except SchwiftyException as e:
        raise InvalidValue(field, value, f"is not a valid BIC ({e})") from None


def _required(details: dict[str, Any], name: str, kind: str) -> Any:
    value = details.get(name)
    if value in (None, ""):
        raise InvalidValue(name, value, f"is required for a {kind} payment method")
    return value


def _date(value: Any, field: str) -> str:
    """An ISO date or date-time as TMF670's date-time (a date alone is its midnight UTC); date()[:10] reads it back."""
    text = str(value)
    try:
        if "T" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat().replace("+00:00", "Z")
        return f"{date.fromisoformat(text).isoformat()}T00:00:00Z"
    except ValueError:
        raise InvalidValue(field, value, "is not an ISO 8601 date") from None


def _end_of_month(year: int, month: int) -> str:
    """A card expires at the end of its expiry month."""
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return f"{date.fromordinal(first_of_next.toordinal() - 1).isoformat()}T23:59:59Z"


def check_details(kind: str, details: dict[str, Any], today: date) -> dict[str, Any]:
    """The kind's own attributes, checked and normalized (IBAN compact, dates ISO); raises naming field and value."""
    if kind not in KINDS:
        hint = "; card numbers are never stored: tokenize the card at a gateway (tokenizedCard)" \
            if kind == "bankCard" else ""
        raise InvalidValue("@type", kind, f"must be one of {', '.join(KINDS)}{hint}")
    for key, value in details.items():
        if isinstance(value, str) and looks_like_card_number(value) and key != "accountNumber":
            raise InvalidValue(key, "****" + re.sub(r"\D", "", value)[-4:],
                               "looks like a card number; card numbers are never stored, send the gateway's token")
    out = dict(details)
    if kind == "directDebit":
        out["accountNumber"] = check_iban(_required(details, "accountNumber", kind))
        out["accountNumberType"] = "IBAN"
        if details.get("BIC"):
            out["BIC"] = check_bic(details["BIC"])
        else:  # schwifty knows the bank of most IBANs; the rest must name it
            bank = IBAN(out["accountNumber"]).bic
            if bank is None:
                raise InvalidValue("BIC", None, f"is required: the bank of IBAN {out['accountNumber']} is not known")
            out["BIC"] = bank.compact
        mandate = str(_required(details, "mandateId", kind))
        if not _MANDATE_ID.match(mandate):
            raise InvalidValue("mandateId", mandate, "must be 1 to 35 letters, digits or + ? / : ( ) . , ' - space")
        signed = _date(_required(details, "signatureDate", kind), "signatureDate")
        if date.fromisoformat(signed[:10]) > today:
            raise InvalidValue("signatureDate", details["signatureDate"], "is in the future")
        out["signatureDate"] = signed
        out.setdefault("mandateType", "recurring")
        out.setdefault("mandateCategory", "core")
        if out["mandateCategory"] not in ("core", "b2b"):
            raise InvalidValue("mandateCategory", out["mandateCategory"], "must be core or b2b")
    elif kind == "tokenizedCard":
        _required(details, "token", kind)
        last4 = str(_required(details, "lastFourDigits", kind))
        if not _LAST4.match(last4):
            raise InvalidValue("lastFourDigits", last4, "must be exactly four digits")
        expiry = str(_required(details, "expirationDate", kind))
        m = _EXPIRY.match(expiry)
        if m is None:
            raise InvalidValue("expirationDate", expiry, "must start with the year and month, YYYY-MM")
        if (int(m["year"]), int(m["month"])) < (today.year, today.month):
            raise InvalidValue("expirationDate", expiry, "has passed: the card has expired")
        out["expirationDate"] = _end_of_month(int(m["year"]), int(m["month"]))
        _required(details, "brand", kind)
    elif kind == "bankAccountTransfer":
        if details.get("accountNumber"):
            out["accountNumber"] = check_iban(details["accountNumber"])
            out["accountNumberType"] = "IBAN"
        if details.get("BIC"):
            out["BIC"] = check_bic(details["BIC"])
    elif kind == "voucher":
        _required(details, "code", kind)
        if details.get("expirationDate"):
            out["expirationDate"] = _date(details["expirationDate"], "expirationDate")
    return out

"""TMF635 Usage request and response shapes.

A usage record's facts travel as `usageCharacteristic` name/value pairs: `serviceId` (required: the
subscribed service the usage belongs to, e.g. an MSISDN), `quantity` (required: seconds, messages or
bytes by `usageType`; a JSON number or a decimal string), `recordKey` (optional: the record's unique
key within its source; default the SHA-256 of serviceId|usageType|usageDate|quantity, so a client
retrying the same body is stored once), `source` (optional, default "api") and `destination`
(optional: the called number of a call or SMS, the APN of a data session).

A partial record (a long call the switch split) also carries `partOf` (the call's id at the switch, e.g.
its global call reference), `part` (its sequence number from 1: an integer) and `lastPart` (true on the
call's last part; default false). Partial records are held until the call is complete and then stored as
one usage keyed by `partOf` (see `mediation.correlation`); a batch answers how many it took (`parts`) and
how many calls it completed (`calls`, counted in `accepted`).

Stored usage also shows `late` (true when it arrived after its period was billed: it is billed on the
next invoice, marked late). The usage quarantine (`usageQuarantine`) is openbss's own resource, not
TMF635: the records the pipeline rejected, with field, value and reason.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError

from openbss.api.tmf import TmfIn, href, money_out, ref_out, ts
from openbss.core.errors import InvalidValue
from openbss.mediation.model import (
    IngestResult,
    Problem,
    QuarantineEntry,
    Rejection,
    ReprocessResult,
    Usage,
    UsageRecord,
)
from openbss.mediation.service import API_FIELDS
from openbss.ordering.schemas import INVENTORY_BASE
from openbss.party.schemas import ACCOUNT_BASE

USAGE_BASE = "/tmf-api/usageManagement/v4"
DEFAULT_SOURCE = "api"
MAX_BATCH = 10_000
# The same conversion MoneyIn applies to JSON numbers, so quantities and amounts read alike.
_DECIMAL = TypeAdapter(Decimal)


class CharacteristicIn(TmfIn):
    name: str
    value: Any = None


class UsageCreate(TmfIn):
    usage_date: datetime = Field(alias="usageDate", description="when the usage started, with a UTC offset")
    usage_type: str = Field(alias="usageType", description="voice (seconds), sms (messages) or data (bytes)")
    usage_characteristic: list[CharacteristicIn] = Field(
        alias="usageCharacteristic", description="serviceId and quantity (required), recordKey and source"
    )

    def record(self) -> UsageRecord:
        values = {c.name: c.value for c in self.usage_characteristic}
        service_id = _text(values, "serviceId", required=True)
        quantity = _quantity(values.get("quantity"))
        key = _text(values, "recordKey") or _default_key(service_id, self.usage_type, self.usage_date, quantity)
        source = _text(values, "source") or DEFAULT_SOURCE
        destination = _text(values, "destination")
        return UsageRecord(source, key, service_id, self.usage_type, self.usage_date, quantity, destination,
                           _text(values, "partOf"), _part(values.get("part")), _flag(values, "lastPart"))


def _text(values: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = values.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(API_FIELDS[name], value, "must be a non-empty string")
    return value


def _part(value: Any) -> int | None:
    # A JSON integer, or a string of digits as some gateways send every characteristic; `record_problem`
    # checks that it counts from 1.
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    raise InvalidValue(API_FIELDS["part"], value, "must be a whole number from 1")


def _flag(values: dict[str, Any], name: str) -> bool:
    value = values.get(name, False)
    if not isinstance(value, bool):
        raise InvalidValue(API_FIELDS[name], value, "must be true or false")
    return value


def _quantity(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        raise InvalidValue(API_FIELDS["quantity"], value, "must be a decimal number")
    try:
        return _DECIMAL.validate_python(value)
    except ValidationError:
        raise InvalidValue(API_FIELDS["quantity"], value, "must be a decimal number") from None


def _default_key(service_id: str, usage_type: str, usage_date: datetime, quantity: Decimal) -> str:
    # Canonical forms (UTC instant, normalized decimal) so that one event written two ways gets one key.
    at = usage_date.astimezone(UTC).isoformat() if usage_date.tzinfo else usage_date.isoformat()
    return hashlib.sha256(f"{service_id}|{usage_type}|{at}|{quantity.normalize()}".encode()).hexdigest()


def _number(value: Decimal) -> int | float:
    # JSON numbers like money_out; whole quantities (almost all of them) as exact integers.
    return int(value) if value == value.to_integral_value() else float(value)


def usage_out(u: Usage, base: str) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "href": href(base, USAGE_BASE, "usage", u.id),
        "@type": "Usage",
        "usageDate": ts(u.usage_date),
        "usageType": u.usage_type,
        # TMF635 has no status for usage a prepaid balance paid online: it is settled, so "billed", and says so
        "status": "billed" if u.status == "prepaid" else u.status,
        "usageCharacteristic": [
            {"name": "serviceId", "valueType": "string", "value": u.service_id},
            {"name": "quantity", "valueType": "number", "value": _number(u.quantity)},
            {"name": "unit", "valueType": "string", "value": u.unit},
            {"name": "recordKey", "valueType": "string", "value": u.record_key},
            {"name": "source", "valueType": "string", "value": u.source},
            *([{"name": "destination", "valueType": "string", "value": u.destination}] if u.destination else []),
            {"name": "late", "valueType": "boolean", "value": u.late},
            *([{"name": "prepaid", "valueType": "boolean", "value": True}] if u.status == "prepaid" else []),
            *([{"name": "zone", "valueType": "string", "value": u.zone}] if u.zone else []),
            *([{"name": "band", "valueType": "string", "value": u.band}] if u.band else []),
            *([{"name": "allowanceUsed", "valueType": "number", "value": _number(u.allowance_used)}]
              if u.allowance_used else []),
        ],
        "ratedProductUsage": [
            {
                "@type": "RatedProductUsage",
                "ratingAmountType": "total",
                "ratingDate": ts(u.created_at),
                "usageRatingTag": "usage",
                "isBilled": u.status in ("billed", "prepaid"),
                "taxExcludedRatingAmount": money_out(u.charge),
                "productRef": ref_out(base, INVENTORY_BASE, "product", u.product_id, "Product"),
            }
        ],
        "relatedParty": [
            {**ref_out(base, ACCOUNT_BASE, "billingAccount", u.account_id, "BillingAccount"), "role": "billingAccount"}
        ],
    }


def batch_records(items: list[Any]) -> tuple[list[tuple[int, UsageRecord]], list[Rejection]]:
    """Read each item of a batch on its own: a malformed item is rejected by index, the others go on."""
    if len(items) > MAX_BATCH:
        raise InvalidValue("body", len(items), f"holds more than {MAX_BATCH} usage records")
    records, rejected = [], []
    for i, item in enumerate(items):
        try:
            records.append((i, UsageCreate.model_validate(item).record()))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "body"
            rejected.append(Rejection(i, field, err.get("input"), err["msg"]))
        except InvalidValue as exc:
            p = Problem.of(exc)
            rejected.append(Rejection.of(i, p))
    return records, rejected


def ingest_result_out(result: IngestResult) -> dict[str, Any]:
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [
            {"index": r.line, "field": r.field, "value": _json(r.value), "reason": r.reason} for r in result.rejected
        ],
        # Only for batches with partial records: shapes stay as they were for everyone else.
        **({"parts": result.parts, "calls": result.calls} if result.parts else {}),
    }


def _json(value: Any) -> Any:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


class ReprocessIn(TmfIn):
    """Which open quarantine entries to run through the pipeline again: by id, or all of a source and/or
    with a reason containing a text; at least one filter or `all`."""

    ids: list[str] | None = Field(default=None, description="quarantine entry ids")
    source: str | None = None
    reason_contains: str | None = Field(default=None, alias="reasonContains")
    all: bool = Field(default=False, description="every open entry (up to limit)")
    limit: int = Field(default=10_000, ge=1, le=MAX_BATCH * 10)


def quarantine_out(e: QuarantineEntry, base: str) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "href": href(base, USAGE_BASE, "usageQuarantine", e.id),
        "@type": "UsageQuarantineEntry",
        "createdAt": ts(e.created_at),
        "status": e.status,
        "source": e.source,
        "recordKey": e.record_key,
        "origin": e.origin,
        "line": e.line,
        "field": e.field,
        "value": e.value,
        "reason": e.reason,
        "record": e.payload,
        "raw": e.raw,
        "resolvedAt": ts(e.resolved_at),
        "resolution": e.resolution,
        "usage": None if e.usage_id is None else ref_out(base, USAGE_BASE, "usage", e.usage_id, "Usage"),
    }


def reprocess_out(r: ReprocessResult) -> dict[str, Any]:
    return {"stored": r.stored, "duplicates": r.duplicates, "stillOpen": r.still_open, "rawOnly": r.raw_only,
            **({"parts": r.parts} if r.parts else {})}


class DiscardIn(TmfIn):
    ids: list[str] = Field(min_length=1, description="quarantine entry ids")
    reason: str = Field(description="why the entries are closed without being stored")

"""TMF677 Usage Consumption (v4.0.1) shapes: a queryUsageConsumption names products and billing accounts in
`searchCriteria` (`product`, `partyAccount`, and `validPeriod.startDateTime`: the instant the consumption is
for, default now) and is answered with one `usageConsumption` per product, each allowance a
`bucketRefOrValue`: `remainingValue` (units left), `bucketCounter` ConsumptionSummary items for `used`,
`granted` and `rolledOver` over the bucket's bill cycle period (`validFor`), `isShared` for a hierarchy pool.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from openbss.api.tmf import RefIn, TmfIn, href, ref_out, ts
from openbss.core.errors import InvalidValue
from openbss.ordering.schemas import INVENTORY_BASE
from openbss.party.schemas import ACCOUNT_BASE
from openbss.rating.consumption import ConsumptionLine, ConsumptionQuery

CONSUMPTION_BASE = "/tmf-api/usageConsumption/v4"


class PeriodIn(TmfIn):
    start: datetime | None = Field(None, alias="startDateTime")


class CriteriaIn(TmfIn):
    product: list[RefIn] = Field(default_factory=list)
    party_account: list[RefIn] = Field(default_factory=list, alias="partyAccount")
    valid_period: PeriodIn | None = Field(None, alias="validPeriod")


class QueryIn(TmfIn):
    search_criteria: CriteriaIn = Field(alias="searchCriteria")

    def ids(self, name: str) -> list[uuid.UUID]:
        refs = getattr(self.search_criteria, "party_account" if name == "partyAccount" else name)
        out = []
        for i, r in enumerate(refs):
            try:
                out.append(uuid.UUID(r.id))
            except ValueError:
                raise InvalidValue(f"searchCriteria.{name}[{i}].id", r.id, "is not an id") from None
        return out

    def at(self, now: datetime) -> datetime:
        start = self.search_criteria.valid_period.start if self.search_criteria.valid_period else None
        if start is not None and start.tzinfo is None:
            raise InvalidValue("searchCriteria.validPeriod.startDateTime", start.isoformat(),
                               "must carry a time zone offset")
        return start or now


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {"amount": _number(value), "units": unit}


def bucket_out(line: ConsumptionLine, base: str) -> dict[str, Any]:
    period = {"startDateTime": ts(line.period.start_at), "endDateTime": ts(line.period.end_at)}
    counters = [("used", line.used), ("granted", line.granted), ("rolledOver", line.rolled_over)]
    return {
        "name": f"{line.usage_type} allowance" + (" (shared)" if line.shared else ""),
        "usageType": line.usage_type,
        "isShared": line.shared,
        "remainingValueName": f"{line.usage_type} left",
        "remainingValue": _quantity(line.left, line.unit),
        "validFor": period,
        "partyAccount": ref_out(base, ACCOUNT_BASE, "billingAccount", line.owner_account_id, "BillingAccount"),
        "bucketCounter": [{"counterType": kind, "valueName": kind, "value": _quantity(v, line.unit),
                           "consumptionPeriod": period, "@type": "ConsumptionSummary"} for kind, v in counters],
        "@type": "BucketRefOrValue",
    }


def consumption_out(lines: list[ConsumptionLine], base: str) -> list[dict[str, Any]]:
    """One UsageConsumption per product, in the order the lines come."""
    by_product: dict[uuid.UUID, list[ConsumptionLine]] = {}
    for line in lines:
        by_product.setdefault(line.product.id, []).append(line)
    out = []
    for product_lines in by_product.values():
        p = product_lines[0].product
        out.append({
            "name": f"usage consumption of {p.service_id}",
            "product": [{"id": str(p.id), "href": href(base, INVENTORY_BASE, "product", p.id), "name": p.service_id,
                         "@referredType": "Product"}],
            "partyAccount": [ref_out(base, ACCOUNT_BASE, "billingAccount", p.account_id, "BillingAccount")],
            "bucketRefOrValue": [bucket_out(line, base) for line in product_lines],
            "@type": "UsageConsumption",
        })
    return out


def criteria_out(q: QueryIn, at: datetime) -> dict[str, Any]:
    c = q.search_criteria
    return {
        "product": [{"id": r.id} for r in c.product],
        "partyAccount": [{"id": r.id} for r in c.party_account],
        "validPeriod": {"startDateTime": ts(at)},
        "@type": "UsageConsumption",
    }


def query_out(q: ConsumptionQuery, base: str) -> dict[str, Any]:
    return {
        "id": str(q.id),
        "href": href(base, CONSUMPTION_BASE, "queryUsageConsumption", q.id),
        "queryUsageConsumptionDate": ts(q.created_at),
        "searchCriteria": q.search_criteria,
        "usageConsumption": q.usage_consumption,
        "@type": "QueryUsageConsumption",
    }

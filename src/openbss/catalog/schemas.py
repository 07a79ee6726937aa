"""TMF620 ProductOffering and ProductOfferingPrice request and response shapes.

Choices where openbss extends the v4 spec (TMF630 allows attributes added by extension):
- POST productOffering takes its prices inline in `productOfferingPrice` (the spec holds refs there to prices
  created on their own). Each item is a ProductOfferingPrice value: `name`, `priceType` ("recurring" or
  "usage"), `recurringChargePeriodType` ("month", the default for a recurring price), `price` {unit, value},
  `unitOfMeasure` {amount: block size, units: second | message | byte}, `validFor`, and the extension
  `usageType` ("voice" | "sms" | "data"), which may be left out when `unitOfMeasure.units` names it.
  A usage price of 0.0100 EUR per unitOfMeasure {amount: 1000000, units: byte} costs 0.01 EUR per megabyte.
- `taxCategory` (standard, reduced, zero, exempt) on the offering: billing maps it to a rate per country.
- Responses carry each price inline in `productOfferingPrice` (the ref's id, href and name plus the price's
  own attributes), so one GET shows the whole tariff. Attributes without a value are left out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, Field

from openbss.api.tmf import MoneyIn, TmfIn, href, money_out, ts
from openbss.catalog.model import USAGE_UNITS, Price, ProductOffering
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.errors import InvalidValue

CATALOG_BASE = "/tmf-api/productCatalogManagement/v4"
_USAGE_TYPE_OF_UNIT = {unit: usage_type for usage_type, unit in USAGE_UNITS.items()}


class QuantityIn(TmfIn):
    amount: Decimal = Decimal(1)
    units: str


class TimePeriodIn(TmfIn):
    start_date_time: AwareDatetime | None = Field(None, alias="startDateTime")
    end_date_time: AwareDatetime | None = Field(None, alias="endDateTime")


class PriceIn(TmfIn):
    name: str | None = None
    price_type: str = Field(alias="priceType", description="recurring or usage")
    recurring_charge_period_type: str | None = Field(None, alias="recurringChargePeriodType")
    recurring_charge_period_length: int = Field(1, alias="recurringChargePeriodLength")
    price: MoneyIn
    unit_of_measure: QuantityIn | None = Field(None, alias="unitOfMeasure", description="block size of a usage price")
    usage_type: str | None = Field(None, alias="usageType", description="voice, sms or data (extension)")
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")

    def _usage_type(self, field: str) -> str | None:
        units = self.unit_of_measure.units if self.unit_of_measure else None
        if self.price_type != "usage" or units is None:
            return self.usage_type
        if self.usage_type is None:
            if units not in _USAGE_TYPE_OF_UNIT:
                problem = f"must be one of {', '.join(_USAGE_TYPE_OF_UNIT)}"
                raise InvalidValue(f"{field}.unitOfMeasure.units", units, problem)
            return _USAGE_TYPE_OF_UNIT[units]
        expected = USAGE_UNITS.get(self.usage_type)
        if expected is not None and units != expected:
            problem = f"must be {expected!r} for usageType {self.usage_type!r}"
            raise InvalidValue(f"{field}.unitOfMeasure.units", units, problem)
        return self.usage_type

    def command(self, field: str) -> NewPrice:
        if self.recurring_charge_period_length != 1:
            raise InvalidValue(f"{field}.recurringChargePeriodLength", self.recurring_charge_period_length, "must be 1")
        period = self.recurring_charge_period_type
        if self.price_type == "recurring" and period is None:
            period = "month"
        return NewPrice(
            kind=self.price_type,
            amount=self.price.money(f"{field}.price"),
            period=period,
            usage_type=self._usage_type(field),
            unit_size=self.unit_of_measure.amount if self.unit_of_measure else Decimal(1),
            valid_from=self.valid_for.start_date_time if self.valid_for else None,
            valid_to=self.valid_for.end_date_time if self.valid_for else None,
            name=self.name,
        )


class ProductOfferingCreate(TmfIn):
    name: str
    description: str | None = None
    lifecycle_status: str = Field("active", alias="lifecycleStatus")
    tax_category: str = Field("standard", alias="taxCategory", description="standard, reduced, zero or exempt")
    product_offering_price: list[PriceIn] = Field(default_factory=list, alias="productOfferingPrice")

    def command(self) -> NewOffering:
        return NewOffering(
            name=self.name,
            tax_category=self.tax_category,
            description=self.description,
            lifecycle_status=self.lifecycle_status,
            prices=[p.command(f"productOfferingPrice[{i}]") for i, p in enumerate(self.product_offering_price)],
        )


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _price_attributes(p: Price) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": p.name or (f"{p.usage_type} usage" if p.usage_type else f"{p.period}ly fee"),
        "priceType": p.kind,
        "price": money_out(p.amount),
    }
    if p.kind == "recurring":
        out |= {"recurringChargePeriodType": p.period, "recurringChargePeriodLength": 1}
    else:
        out |= {"usageType": p.usage_type, "unitOfMeasure": {"amount": _number(p.unit_size), "units": p.unit}}
    valid_for = {k: ts(v) for k, v in (("startDateTime", p.valid_from), ("endDateTime", p.valid_to)) if v}
    if valid_for:
        out["validFor"] = valid_for
    return out


def price_out(p: Price, base: str) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "href": href(base, CATALOG_BASE, "productOfferingPrice", p.id),
        "@type": "ProductOfferingPrice",
        **_price_attributes(p),
    }


def offering_out(o: ProductOffering, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(o.id),
        "href": href(base, CATALOG_BASE, "productOffering", o.id),
        "@type": "ProductOffering",
        "name": o.name,
        "lifecycleStatus": o.lifecycle_status,
        "isBundle": False,
        "isSellable": True,
        "lastUpdate": ts(o.created_at),
        "taxCategory": o.tax_category,
        "productOfferingPrice": [
            {
                "id": str(p.id),
                "href": href(base, CATALOG_BASE, "productOfferingPrice", p.id),
                "@referredType": "ProductOfferingPrice",
                **_price_attributes(p),
            }
            for p in o.prices
        ],
    }
    if o.description is not None:
        out["description"] = o.description
    return out

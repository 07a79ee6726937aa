"""TMF620 request and response shapes: catalog, category, productSpecification, productOffering and
productOfferingPrice. Response shapes parse back as request bodies, so PATCH is a JSON merge-patch of the
resource as read, and the catalog-as-code YAML (catalog/io.py) is the same vocabulary.

Choices where openbss extends the v4 spec (TMF630 allows attributes added by extension):
- productOffering.productOfferingPrice holds refs ({id}) to prices, or prices inline (no id): each a
  ProductOfferingPrice value. Responses carry each price inline beside its ref, so one GET shows the tariff.
- ProductOfferingPrice: `priceType` oneTime | recurring | usage | discount | commitment (a minimum spend on
  the product's usage per cycle month: `price` and `recurringChargePeriodType` month); `recurringChargePeriodType` day,
  week, month (default), quarter, year; extensions `chargeTiming` (inAdvance, the default, or inArrears),
  `usageType` (voice | sms | data; may be left out when `unitOfMeasure.units` names it), `usageModel`
  (perUnit, block, graduated, volume), `tiers` [{from, upTo, unitPrice, flatFee}] in units of the usage type,
  unit prices per `unitOfMeasure.amount` units, `includedUnits` (free per period), and for discounts
  `percentage` or `price` (amount off), `appliesTo` (the name of the offering's price it reduces; absent:
  every recurring charge), `applicationDuration` (bill periods; absent: forever), `promotionCode`,
  `requiresOffering` (refs: offerings the customer must also hold), `customerSegment` (loyalty tier); and on
  any price version `priceChangePolicy` (keep | next_cycle, for existing subscribers). A usage price rated
  with a stored rate table names it in TMF's own `pricingLogicAlgorithm`: [{"name": "<table name>",
  "plaSpecId": "rateTable", "@type": "PricingLogicAlgorithm"}] (one item; `price` is then the "from" price
  shown), with the extensions `rollover` (true: unused included units carry over one period) and
  `allowanceScope` (subscription | hierarchy). See catalog.model.
- ProductOfferingPrice.price is TMF620's Money, the net; a tax-inclusive price (catalog.model `tax_included`)
  is written as TMF's Price shape {"taxIncludedAmount": {unit, value}} (or Money with the extension
  `taxIncluded: true`) and read back as Money with `taxIncluded: true`; {"dutyFreeAmount": ...} is the net.
- productOffering: `taxCategory` (standard, reduced, zero, exempt); eligibility in `marketSegment` and
  `channel` refs (id = the segment or channel code) and `place` refs (id = ISO 3166 country code);
  `experiment` {name, variant, segment}: the offering is a variant of a pricing experiment.
- A productSpecification ref whose href points to another server is kept as given (an external catalog);
  otherwise its id must name a specification here.
- A productOffering or productSpecification POSTed without lifecycleStatus starts inDesign (TMF's first
  stage; deletable, prices editable in place); PATCH lifecycleStatus to active or launched to sell it.
  (`service.NewOffering` keeps "active" as its default for the callers that create offerings in code.)
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from openbss.api.tmf import MoneyIn, TmfIn, href, money_out, ref_out, ts
from openbss.catalog.model import (
    USAGE_UNITS,
    Catalog,
    Category,
    Characteristic,
    CharacteristicValue,
    Experiment,
    Price,
    ProductOffering,
    ProductSpecification,
    Tier,
    normalize_period,
)
from openbss.catalog.service import NewCatalog, NewCategory, NewOffering, NewPrice, NewSpecification
from openbss.core.errors import InvalidValue
from openbss.core.money import Money

CATALOG_BASE = "/tmf-api/productCatalogManagement/v4"
_USAGE_TYPE_OF_UNIT = {unit: usage_type for usage_type, unit in USAGE_UNITS.items()}

# (kind, ref, field) -> the local id the ref names; the API resolves ids, the YAML import names.
Resolve = Callable[[str, "RefIn", str], UUID]


class RefIn(TmfIn):
    id: str | None = None
    href: str | None = None
    name: str | None = None
    version: str | None = None
    referred_type: str | None = Field(None, alias="@referredType")


def resolve_id(kind: str, ref: RefIn, field: str) -> UUID:
    """The API's resolver: a ref names a resource by its id."""
    if ref.id is None:
        raise InvalidValue(f"{field}.id", None, "is required")
    try:
        return UUID(ref.id)
    except ValueError:
        raise InvalidValue(f"{field}.id", ref.id, f"is not a valid {kind} id") from None


class QuantityIn(TmfIn):
    amount: Decimal = Decimal(1)
    units: str


class TimePeriodIn(TmfIn):
    start_date_time: AwareDatetime | None = Field(None, alias="startDateTime")
    end_date_time: AwareDatetime | None = Field(None, alias="endDateTime")


class TierIn(TmfIn):
    from_units: Decimal = Field(alias="from")
    up_to: Decimal | None = Field(None, alias="upTo")
    unit_price: Decimal = Field(alias="unitPrice")
    flat_fee: Decimal = Field(Decimal(0), alias="flatFee")


RATE_TABLE_PLA = "rateTable"


class PricingLogicAlgorithmIn(TmfIn):
    name: str | None = None
    pla_spec_id: str | None = Field(None, alias="plaSpecId")


class PriceValueIn(TmfIn):
    """ProductOfferingPrice.price: TMF620's Money ({unit, value}: the net), or TMF's Price shape with
    `taxIncludedAmount` (a tax-inclusive price) or `dutyFreeAmount` (the net), one of them."""

    unit: str | None = None
    value: Decimal | None = None
    tax_included_amount: MoneyIn | None = Field(None, alias="taxIncludedAmount")
    duty_free_amount: MoneyIn | None = Field(None, alias="dutyFreeAmount")

    def amount(self, field: str) -> tuple[Money, bool | None]:
        """The amount and whether the shape itself says it includes tax (None: plain Money, it does not say)."""
        given = [n for n, v in (("value", self.value), ("taxIncludedAmount", self.tax_included_amount),
                                ("dutyFreeAmount", self.duty_free_amount)) if v is not None]
        if len(given) != 1:
            raise InvalidValue(field, ", ".join(given) or None,
                               "must hold one of {unit, value}, taxIncludedAmount or dutyFreeAmount")
        if self.tax_included_amount is not None:
            return self.tax_included_amount.money(f"{field}.taxIncludedAmount"), True
        if self.duty_free_amount is not None:
            return self.duty_free_amount.money(f"{field}.dutyFreeAmount"), False
        return MoneyIn(unit=self.unit or "", value=self.value).money(field), None


class PriceIn(TmfIn):
    name: str | None = None
    description: str | None = None
    lifecycle_status: str = Field("active", alias="lifecycleStatus")
    is_bundle: bool = Field(False, alias="isBundle")
    price_type: str = Field(alias="priceType", description="oneTime, recurring, usage, discount or commitment")
    recurring_charge_period_type: str | None = Field(None, alias="recurringChargePeriodType")
    recurring_charge_period_length: int = Field(1, alias="recurringChargePeriodLength")
    charge_timing: str | None = Field(None, alias="chargeTiming", description="inAdvance or inArrears")
    price: PriceValueIn | None = None
    tax_included: bool | None = Field(None, alias="taxIncluded",
                                      description="the price includes VAT (extension; or price.taxIncludedAmount)")
    percentage: Decimal | None = None
    unit_of_measure: QuantityIn | None = Field(None, alias="unitOfMeasure", description="block size of a usage price")
    usage_type: str | None = Field(None, alias="usageType", description="voice, sms or data (extension)")
    usage_model: str | None = Field(None, alias="usageModel")
    tiers: list[TierIn] = Field(default_factory=list)
    included_units: Decimal = Field(Decimal(0), alias="includedUnits")
    applies_to: str | None = Field(None, alias="appliesTo")
    application_duration: int | None = Field(None, alias="applicationDuration")
    promotion_code: str | None = Field(None, alias="promotionCode")
    requires_offering: list[RefIn] = Field(default_factory=list, alias="requiresOffering")
    customer_segment: str | None = Field(None, alias="customerSegment")
    price_change_policy: str | None = Field(None, alias="priceChangePolicy")
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")
    pricing_logic_algorithm: list[PricingLogicAlgorithmIn] = Field(default_factory=list,
                                                                   alias="pricingLogicAlgorithm")
    rollover: bool = False
    allowance_scope: str | None = Field(None, alias="allowanceScope", description="subscription or hierarchy")

    def _rate_table(self, field: str) -> str | None:
        if not self.pricing_logic_algorithm:
            return None
        if len(self.pricing_logic_algorithm) > 1:
            raise InvalidValue(f"{field}.pricingLogicAlgorithm", len(self.pricing_logic_algorithm),
                               "must hold one algorithm: the rate table")
        pla = self.pricing_logic_algorithm[0]
        if pla.pla_spec_id != RATE_TABLE_PLA:
            raise InvalidValue(f"{field}.pricingLogicAlgorithm[0].plaSpecId", pla.pla_spec_id,
                               f"must be {RATE_TABLE_PLA!r}, the one algorithm openbss rates with")
        return pla.name

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

    def command(self, field: str, resolve: Resolve = resolve_id) -> NewPrice:
        if self.is_bundle:
            raise InvalidValue(f"{field}.isBundle", True, "is not supported: bundle offerings, not prices")
        if self.recurring_charge_period_length != 1:
            raise InvalidValue(f"{field}.recurringChargePeriodLength", self.recurring_charge_period_length, "must be 1")
        period = normalize_period(self.recurring_charge_period_type)
        if self.price_type in ("recurring", "commitment") and period is None:
            period = "month"
        tiers = tuple(Tier(t.from_units, t.up_to, t.unit_price, t.flat_fee) for t in self.tiers)
        amount, tax_included = self.price.amount(f"{field}.price") if self.price else (None, None)
        if tax_included is not None and self.tax_included is not None and tax_included != self.tax_included:
            raise InvalidValue(f"{field}.taxIncluded", self.tax_included,
                               f"contradicts the price given as {'taxIncludedAmount' if tax_included else 'dutyFreeAmount'}")
        if amount is None and tiers and self.price_type == "usage":
            raise InvalidValue(f"{field}.price", None, "must name the currency of the tiers ({unit, value})")
        return NewPrice(
            kind=self.price_type,
            amount=amount,
            period=period,
            usage_type=self._usage_type(field),
            unit_size=self.unit_of_measure.amount if self.unit_of_measure else Decimal(1),
            valid_from=self.valid_for.start_date_time if self.valid_for else None,
            valid_to=self.valid_for.end_date_time if self.valid_for else None,
            name=self.name,
            description=self.description,
            lifecycle_status=self.lifecycle_status,
            charge_timing=self.charge_timing,
            usage_model=self.usage_model,
            tiers=tiers,
            included_units=self.included_units,
            percentage=self.percentage,
            applies_to=self.applies_to,
            duration_periods=self.application_duration,
            promotion_code=self.promotion_code,
            requires_offerings=tuple(resolve("productOffering", r, f"{field}.requiresOffering[{i}]")
                                     for i, r in enumerate(self.requires_offering)),
            segment=self.customer_segment,
            change_policy=self.price_change_policy,
            rate_table=self._rate_table(field),
            rollover=self.rollover,
            allowance_scope=self.allowance_scope,
            tax_included=bool(self.tax_included if tax_included is None else tax_included),
        )


class PriceItemIn(PriceIn):
    """An item of productOffering.productOfferingPrice: a ref to a price ({id}) or a price inline."""

    id: str | None = None
    price_type: str | None = Field(None, alias="priceType")  # type: ignore[assignment]

    @model_validator(mode="after")
    def _ref_or_price(self) -> PriceItemIn:
        if self.id is None and self.price_type is None:
            raise ValueError("an item is a ref (with id) or a price inline (with priceType)")
        return self


class ExperimentIn(TmfIn):
    name: str
    variant: str
    segment: str


class ProductOfferingIn(TmfIn):
    name: str
    description: str | None = None
    lifecycle_status: str = Field("inDesign", alias="lifecycleStatus")
    version: str | None = None
    is_sellable: bool = Field(True, alias="isSellable")
    is_bundle: bool = Field(False, alias="isBundle")
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")
    tax_category: str = Field("standard", alias="taxCategory", description="standard, reduced, zero or exempt")
    product_specification: RefIn | None = Field(None, alias="productSpecification")
    bundled_product_offering: list[RefIn] = Field(default_factory=list, alias="bundledProductOffering")
    category: list[RefIn] = Field(default_factory=list)
    market_segment: list[RefIn] = Field(default_factory=list, alias="marketSegment")
    channel: list[RefIn] = Field(default_factory=list)
    place: list[RefIn] = Field(default_factory=list)
    experiment: ExperimentIn | None = None
    product_offering_price: list[PriceItemIn] = Field(default_factory=list, alias="productOfferingPrice")

    def _spec(self, resolve: Resolve, base: str | None) -> tuple[UUID | None, dict[str, Any] | None]:
        ref = self.product_specification
        if ref is None:
            return None, None
        if base is not None and ref.href is not None and not ref.href.startswith(base):
            return None, ref.model_dump(by_alias=True, exclude_none=True)
        return resolve("productSpecification", ref, "productSpecification"), None

    def command(self, resolve: Resolve = resolve_id, base: str | None = None) -> NewOffering:
        price_ids, prices = [], []
        for i, p in enumerate(self.product_offering_price):
            field = f"productOfferingPrice[{i}]"
            if p.id is not None:
                price_ids.append(resolve("productOfferingPrice", RefIn(id=p.id), field))
            else:
                prices.append(p.command(field, resolve))
        spec_id, spec_ref = self._spec(resolve, base)
        codes = {}
        for attr, alias in (("market_segment", "marketSegment"), ("channel", "channel"), ("place", "place")):
            refs = getattr(self, attr)
            for i, r in enumerate(refs):
                if r.id is None:
                    raise InvalidValue(f"{alias}[{i}].id", None, "is required: the code of the segment, "
                                       "channel or country")
            codes[attr] = tuple(r.id for r in refs)
        return NewOffering(
            name=self.name,
            tax_category=self.tax_category,
            description=self.description,
            lifecycle_status=self.lifecycle_status,
            prices=prices,
            price_ids=tuple(price_ids),
            version=self.version,
            is_sellable=self.is_sellable,
            valid_from=self.valid_for.start_date_time if self.valid_for else None,
            valid_to=self.valid_for.end_date_time if self.valid_for else None,
            is_bundle=self.is_bundle,
            bundled_offering_ids=tuple(resolve("productOffering", r, f"bundledProductOffering[{i}]")
                                       for i, r in enumerate(self.bundled_product_offering)),
            spec_id=spec_id,
            spec_ref=spec_ref,
            category_ids=tuple(resolve("category", r, f"category[{i}]") for i, r in enumerate(self.category)),
            segments=codes["market_segment"],
            countries=codes["place"],
            channels=codes["channel"],
            experiment=Experiment(**self.experiment.model_dump()) if self.experiment else None,
        )


class CharacteristicValueIn(TmfIn):
    value: Any = None
    value_type: str | None = Field(None, alias="valueType")
    is_default: bool = Field(False, alias="isDefault")
    unit_of_measure: str | None = Field(None, alias="unitOfMeasure")


class CharacteristicIn(TmfIn):
    name: str
    value_type: str | None = Field(None, alias="valueType")
    description: str | None = None
    configurable: bool = False
    min_cardinality: int = Field(0, alias="minCardinality")
    max_cardinality: int = Field(1, alias="maxCardinality")
    values: list[CharacteristicValueIn] = Field(default_factory=list, alias="productSpecCharacteristicValue")


class ProductSpecificationIn(TmfIn):
    name: str
    description: str | None = None
    brand: str | None = None
    version: str | None = None
    product_number: str | None = Field(None, alias="productNumber")
    lifecycle_status: str = Field("inDesign", alias="lifecycleStatus")
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")
    characteristics: list[CharacteristicIn] = Field(default_factory=list, alias="productSpecCharacteristic")

    def command(self) -> NewSpecification:
        return NewSpecification(
            name=self.name, description=self.description, brand=self.brand, version=self.version,
            product_number=self.product_number, lifecycle_status=self.lifecycle_status,
            valid_from=self.valid_for.start_date_time if self.valid_for else None,
            valid_to=self.valid_for.end_date_time if self.valid_for else None,
            characteristics=tuple(
                Characteristic(
                    name=c.name, value_type=c.value_type, description=c.description, configurable=c.configurable,
                    min_cardinality=c.min_cardinality, max_cardinality=c.max_cardinality,
                    values=tuple(CharacteristicValue(v.value, v.value_type, v.is_default, v.unit_of_measure)
                                 for v in c.values),
                )
                for c in self.characteristics
            ),
        )


class CategoryIn(TmfIn):
    name: str
    description: str | None = None
    parent_id: str | None = Field(None, alias="parentId")
    version: str | None = None
    lifecycle_status: str = Field("active", alias="lifecycleStatus")
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")

    def command(self) -> NewCategory:
        parent = resolve_id("category", RefIn(id=self.parent_id), "parentId") if self.parent_id else None
        return NewCategory(
            name=self.name, description=self.description, parent_id=parent, version=self.version,
            lifecycle_status=self.lifecycle_status,
            valid_from=self.valid_for.start_date_time if self.valid_for else None,
            valid_to=self.valid_for.end_date_time if self.valid_for else None,
        )


class CatalogIn(TmfIn):
    name: str
    description: str | None = None
    catalog_type: str | None = Field(None, alias="catalogType")
    version: str | None = None
    lifecycle_status: str = Field("active", alias="lifecycleStatus")
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")
    category: list[RefIn] = Field(default_factory=list)

    def command(self) -> NewCatalog:
        return NewCatalog(
            name=self.name, description=self.description, catalog_type=self.catalog_type, version=self.version,
            lifecycle_status=self.lifecycle_status,
            valid_from=self.valid_for.start_date_time if self.valid_for else None,
            valid_to=self.valid_for.end_date_time if self.valid_for else None,
            category_ids=tuple(resolve_id("category", r, f"category[{i}]") for i, r in enumerate(self.category)),
        )


# ---------------------------------------------------------------------------------------------- output


def number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _valid_for(start, end) -> dict[str, str]:
    return {k: ts(v) for k, v in (("startDateTime", start), ("endDateTime", end)) if v}


def _compact(out: dict[str, Any]) -> dict[str, Any]:
    """Attributes without a value are left out, as the TMF examples do."""
    return {k: v for k, v in out.items() if v not in (None, [], {})}


Ref = Callable[[str, UUID], dict[str, Any]]


def _default_price_name(p: Price) -> str:
    if p.kind == "usage":
        return f"{p.usage_type} usage"
    if p.kind == "recurring":
        return f"{p.period} fee"
    return {"oneTime": "one-time fee", "discount": "discount", "commitment": "minimum spend"}[p.kind]


def price_attributes(p: Price, ref: Ref) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": p.name or _default_price_name(p),
        "description": p.description,
        "lifecycleStatus": p.lifecycle_status,
        "isBundle": False,
        "priceType": p.kind,
        "price": money_out(p.amount),
        "percentage": number(p.percentage) if p.percentage is not None else None,
        "taxIncluded": True if p.tax_included else None,
    }
    if p.kind == "recurring":
        out |= {"recurringChargePeriodType": p.period, "recurringChargePeriodLength": 1, "chargeTiming": p.charge_timing}
    if p.kind == "commitment":
        out |= {"recurringChargePeriodType": p.period, "recurringChargePeriodLength": 1}
    if p.kind == "usage":
        out |= {"usageType": p.usage_type, "usageModel": p.usage_model,
                "unitOfMeasure": {"amount": number(p.unit_size), "units": p.unit},
                "tiers": [_compact({"from": number(t.from_units), "upTo": number(t.up_to) if t.up_to is not None else None,
                                    "unitPrice": number(t.unit_price),
                                    "flatFee": number(t.flat_fee) if t.flat_fee else None}) for t in p.tiers],
                "includedUnits": number(p.included_units) if p.included_units else None}
        if p.rate_table is not None:
            out |= {"pricingLogicAlgorithm": [{"name": p.rate_table, "plaSpecId": RATE_TABLE_PLA,
                                               "@type": "PricingLogicAlgorithm"}],
                    "rollover": p.rollover, "allowanceScope": p.allowance_scope}
    if p.kind == "discount":
        out |= {"appliesTo": p.applies_to, "applicationDuration": p.duration_periods,
                "promotionCode": p.promotion_code, "customerSegment": p.segment,
                "requiresOffering": [ref("productOffering", o) for o in p.requires_offerings]}
    out |= {"priceChangePolicy": p.change_policy, "validFor": _valid_for(p.valid_from, p.valid_to)}
    return _compact(out)


def _api_ref(base: str) -> Ref:
    return lambda kind, ident: ref_out(base, CATALOG_BASE, kind, ident, kind[0].upper() + kind[1:])


def price_out(p: Price, base: str) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "href": href(base, CATALOG_BASE, "productOfferingPrice", p.id),
        "@type": "ProductOfferingPrice",
        "lastUpdate": ts(p.last_update),
        **price_attributes(p, _api_ref(base)),
    }


def _codes(codes: tuple[str, ...], type_: str) -> list[dict[str, str]]:
    return [{"id": c, "name": c, "@referredType": type_} for c in codes]


def offering_attributes(o: ProductOffering, ref: Ref, price_item: Callable[[Price], dict[str, Any]]) -> dict[str, Any]:
    spec = o.spec_ref or (ref("productSpecification", o.spec_id) if o.spec_id else None)
    return _compact({
        "name": o.name,
        "description": o.description,
        "version": o.version,
        "lifecycleStatus": o.lifecycle_status,
        "isBundle": o.is_bundle,
        "isSellable": o.is_sellable,
        "validFor": _valid_for(o.valid_from, o.valid_to),
        "taxCategory": o.tax_category,
        "productSpecification": spec,
        "bundledProductOffering": [ref("productOffering", c) for c in o.bundled_offering_ids],
        "category": [ref("category", c) for c in o.category_ids],
        "marketSegment": _codes(o.segments, "MarketSegment"),
        "channel": _codes(o.channels, "Channel"),
        "place": _codes(o.countries, "Country"),
        "experiment": vars(o.experiment) if o.experiment else None,
        "productOfferingPrice": [price_item(p) for p in o.prices],
    })


def offering_out(o: ProductOffering, base: str) -> dict[str, Any]:
    ref = _api_ref(base)

    def item(p: Price) -> dict[str, Any]:
        return {"id": str(p.id), "href": href(base, CATALOG_BASE, "productOfferingPrice", p.id),
                "@referredType": "ProductOfferingPrice", **price_attributes(p, ref)}

    return {
        "id": str(o.id),
        "href": href(base, CATALOG_BASE, "productOffering", o.id),
        "@type": "ProductOffering",
        "lastUpdate": ts(o.last_update),
        # lastUpdate alone cannot say when the offering appeared; the spec has no attribute for it.
        **offering_attributes(o, ref, item),
    }


def specification_attributes(s: ProductSpecification) -> dict[str, Any]:
    return _compact({
        "name": s.name,
        "description": s.description,
        "brand": s.brand,
        "version": s.version,
        "productNumber": s.product_number,
        "lifecycleStatus": s.lifecycle_status,
        "isBundle": False,
        "validFor": _valid_for(s.valid_from, s.valid_to),
        "productSpecCharacteristic": [
            _compact({
                "name": c.name, "valueType": c.value_type, "description": c.description,
                "configurable": c.configurable, "minCardinality": c.min_cardinality,
                "maxCardinality": c.max_cardinality,
                "productSpecCharacteristicValue": [
                    _compact({"value": v.value, "valueType": v.value_type, "isDefault": v.is_default,
                              "unitOfMeasure": v.unit_of_measure}) for v in c.values],
            })
            for c in s.characteristics
        ],
    })


def specification_out(s: ProductSpecification, base: str) -> dict[str, Any]:
    return {"id": str(s.id), "href": href(base, CATALOG_BASE, "productSpecification", s.id),
            "@type": "ProductSpecification", "lastUpdate": ts(s.last_update), **specification_attributes(s)}


def category_out(c: Category, base: str) -> dict[str, Any]:
    ref = _api_ref(base)
    return _compact({
        "id": str(c.id), "href": href(base, CATALOG_BASE, "category", c.id), "@type": "Category",
        "lastUpdate": ts(c.last_update), "name": c.name, "description": c.description, "version": c.version,
        "lifecycleStatus": c.lifecycle_status, "isRoot": c.is_root,
        "parentId": str(c.parent_id) if c.parent_id else None,
        "validFor": _valid_for(c.valid_from, c.valid_to),
        "subCategory": [ref("category", s) for s in c.sub_category_ids],
    })


def catalog_out(c: Catalog, base: str) -> dict[str, Any]:
    ref = _api_ref(base)
    return _compact({
        "id": str(c.id), "href": href(base, CATALOG_BASE, "catalog", c.id), "@type": "Catalog",
        "lastUpdate": ts(c.last_update), "name": c.name, "description": c.description,
        "catalogType": c.catalog_type, "version": c.version, "lifecycleStatus": c.lifecycle_status,
        "validFor": _valid_for(c.valid_from, c.valid_to),
        "category": [ref("category", i) for i in c.category_ids],
    })

"""TMF622 ProductOrder and TMF637 Product request and response shapes.

Choices where the v4 specs leave room:
- The subscription's service id (an MSISDN, a broadband line id) travels as the product characteristic
  `serviceId`: `productOrderItem[].product.productCharacteristic: [{name: "serviceId", value: "+49..."}]`.
  A modify, delete or noChange item names the existing product in `productOrderItem[].product.id`; a modify
  item's `productOffering` is the offering the product moves to (an upgrade or a downgrade).
- Item ids are the client's (TMF: "generally a sequence number 01, 02..."), unique in the order; an item
  sent without one gets its position ("1", "2"...). Items come back in the order they were sent.
- An order without `billingAccount` is captured (state acknowledged) and fulfilled once a PATCH supplies
  the account and `state: inProgress`. `relatedParty` entries are kept as sent (they may name parties of
  other systems); products carry them plus their account's customer (role "customer").
- Offerings are checked for eligibility (catalog rules) against the customer's segment, the account's country
  and the order's `channel` (`[{id: "web"}]`, the channel's code).
- Contract terms: `itemTerm: [{duration: {amount: 24, units: "month"}, autoRenewal: true}]` (autoRenewal is an
  extension of OrderTerm); extension attributes of the item: `trialPeriod: {amount: 14, units: "day"}` and
  `earlyTerminationFee: {unit, value}`, the Money due when the product is cancelled before its term ends.
  Products show the term in `productTerm` (with validFor and the same extensions) and `trialEndDate`.
- `productPrice` on a product lists the recurring and usage prices it is charged now, in its account's
  currency, each with a ref to the productOfferingPrice it comes from.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from openbss.api.tmf import MoneyIn, RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.catalog.model import Price
from openbss.catalog.schemas import CATALOG_BASE, QuantityIn
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.ordering.model import NewTerm, ProductOrder, ProductOrderItem, Term
from openbss.ordering.service import SERVICE_ID_FIELD, NewOrder, NewOrderItem, ProductView
from openbss.party.schemas import ACCOUNT_BASE

ORDERING_BASE = "/tmf-api/productOrderingManagement/v4"
INVENTORY_BASE = "/tmf-api/productInventory/v4"
SERVICE_ID = "serviceId"
MONTHS = ("month", "months")
DAYS = ("day", "days")


class CharacteristicIn(TmfIn):
    name: str
    value: Any


class ProductIn(TmfIn):
    id: str | None = Field(None, description="the existing product a modify, delete or noChange item is about")
    product_characteristic: list[CharacteristicIn] = Field(default_factory=list, alias="productCharacteristic")


class OrderTermIn(TmfIn):
    name: str | None = None
    duration: QuantityIn
    auto_renewal: bool = Field(False, alias="autoRenewal", description="extension: renew for the same duration")


class RelatedPartyIn(TmfIn):
    id: str
    href: str | None = None
    name: str | None = None
    role: str | None = None
    referred_type: str = Field(alias="@referredType")


class NoteIn(TmfIn):
    id: str | None = None
    author: str | None = None
    date: AwareDatetime | None = None
    text: str


def _whole(q: QuantityIn, units: tuple[str, ...], field: str) -> int:
    if q.units not in units:
        raise InvalidValue(f"{field}.units", q.units, f"must be one of {', '.join(units)}")
    if q.amount != q.amount.to_integral_value():
        raise InvalidValue(f"{field}.amount", str(q.amount), "must be a whole number")
    return int(q.amount)


class OrderItemIn(TmfIn):
    id: str | None = Field(None, description="the item's id in this order; its position when absent")
    action: str = "add"
    product_offering: RefIn | None = Field(None, alias="productOffering")
    product: ProductIn = Field(default_factory=ProductIn, description="carries the serviceId characteristic")
    item_term: list[OrderTermIn] = Field(default_factory=list, alias="itemTerm")
    trial_period: QuantityIn | None = Field(None, alias="trialPeriod", description="extension: {amount, units: day}")
    early_termination_fee: MoneyIn | None = Field(None, alias="earlyTerminationFee", description="extension")
    promotion_code: str | None = Field(None, alias="promotionCode",
                                       description="extension: the code of a promotion (a discount) of the offering")

    def command(self, i: int) -> NewOrderItem:
        f = f"productOrderItem[{i}]"
        values = [c.value for c in self.product.product_characteristic if c.name == SERVICE_ID]
        if len(values) > 1:
            raise InvalidValue(f"{f}.product.productCharacteristic", len(values), f"must hold one {SERVICE_ID} at most")
        if values and not isinstance(values[0], str):
            raise InvalidValue(SERVICE_ID_FIELD.format(i=i), values[0], "must be a string")
        if len(self.item_term) > 1:
            raise InvalidValue(f"{f}.itemTerm", len(self.item_term), "must hold one term at most")
        term = self.item_term[0] if self.item_term else None
        return NewOrderItem(
            offering_id=parse_id(self.product_offering.id, f"{f}.productOffering.id") if self.product_offering else None,
            service_id=values[0] if values else None,
            action=self.action,
            product_id=parse_id(self.product.id, f"{f}.product.id") if self.product.id is not None else None,
            label=self.id,
            trial_days=_whole(self.trial_period, DAYS, f"{f}.trialPeriod") if self.trial_period else None,
            term=NewTerm(_whole(term.duration, MONTHS, f"{f}.itemTerm[0].duration"), term.auto_renewal) if term else None,
            early_termination_fee=(self.early_termination_fee.money(f"{f}.earlyTerminationFee")
                                   if self.early_termination_fee else None),
            promotion_code=self.promotion_code,
        )


class ProductOrderCreate(TmfIn):
    billing_account: RefIn | None = Field(None, alias="billingAccount", description="the account billed; "
                                          "without it the order is only captured (state acknowledged)")
    requested_start_date: AwareDatetime | None = Field(None, alias="requestedStartDate")
    requested_completion_date: AwareDatetime | None = Field(None, alias="requestedCompletionDate")
    product_order_item: list[OrderItemIn] = Field(alias="productOrderItem")
    related_party: list[RelatedPartyIn] = Field(default_factory=list, alias="relatedParty")
    note: list[NoteIn] = Field(default_factory=list)
    external_id: str | None = Field(None, alias="externalId")
    category: str | None = None
    priority: str | None = None
    description: str | None = None
    channel: list[RefIn] = Field(default_factory=list, description="the sales channel (id = its code), at most one")

    def command(self) -> NewOrder:
        if len(self.channel) > 1:
            raise InvalidValue("channel", [c.id for c in self.channel], "must name one channel at most")
        return NewOrder(
            account_id=parse_id(self.billing_account.id, "billingAccount.id") if self.billing_account else None,
            items=[item.command(i) for i, item in enumerate(self.product_order_item)],
            requested_start=self.requested_start_date,
            requested_completion=self.requested_completion_date,
            external_id=self.external_id, category=self.category, priority=self.priority,
            description=self.description,
            notes=tuple({**n.model_dump(by_alias=True, exclude_none=True), **({"date": ts(n.date)} if n.date else {})}
                        for n in self.note),
            related_party=tuple(p.model_dump(by_alias=True, exclude_none=True) for p in self.related_party),
            channel=self.channel[0].id if self.channel else None,
        )


def _service_id(value: str) -> list[dict[str, Any]]:
    return [{"name": SERVICE_ID, "valueType": "string", "value": value}]


def _account_ref(base: str, account_id) -> dict[str, Any]:
    return ref_out(base, ACCOUNT_BASE, "billingAccount", account_id, "BillingAccount")


def _offering_ref(base: str, offering_id) -> dict[str, Any]:
    return ref_out(base, CATALOG_BASE, "productOffering", offering_id, "ProductOffering")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _item_out(i: ProductOrderItem, base: str) -> dict[str, Any]:
    product: dict[str, Any] = {}
    if i.product_id is not None:
        product.update(ref_out(base, INVENTORY_BASE, "product", i.product_id, "Product"))
    if i.service_id is not None:
        product["productCharacteristic"] = _service_id(i.service_id)
    return _drop_none({
        "id": i.label,
        "action": i.action,
        "state": i.state,
        "productOffering": _offering_ref(base, i.offering_id),
        "product": product or None,
        "itemTerm": [{"duration": {"amount": i.term.months, "units": "month"}, "autoRenewal": i.term.auto_renew}]
        if i.term else None,
        "trialPeriod": {"amount": i.trial_days, "units": "day"} if i.trial_days else None,
        "earlyTerminationFee": money_out(i.early_termination_fee),
        "promotionCode": i.promotion_code,
    })


def order_out(o: ProductOrder, base: str) -> dict[str, Any]:
    return _drop_none({
        "id": str(o.id),
        "href": href(base, ORDERING_BASE, "productOrder", o.id),
        "@type": "ProductOrder",
        "state": o.state,
        "orderDate": ts(o.created_at),
        "billingAccount": _account_ref(base, o.account_id),
        "relatedParty": list(o.related_party),
        "externalId": o.external_id,
        "category": o.category,
        "priority": o.priority,
        "description": o.description,
        "channel": [{"id": o.channel, "@referredType": "Channel"}] if o.channel else None,
        "note": list(o.notes) or None,
        "requestedStartDate": ts(o.requested_start),
        "requestedCompletionDate": ts(o.requested_completion),
        "completionDate": ts(o.completed_at),
        "cancellationDate": ts(o.cancelled_at),
        "cancellationReason": o.cancellation_reason,
        "productOrderItem": [_item_out(i, base) for i in o.items],
    })


def _price_out(p: Price, base: str) -> dict[str, Any]:
    unit = f"{p.unit_size.normalize():f} {p.unit}" if p.kind == "usage" else None
    return _drop_none({
        "name": p.name,
        "priceType": p.kind,
        "recurringChargePeriod": p.period,
        "unitOfMeasure": unit,
        "price": {"dutyFreeAmount": money_out(p.amount)},
        "productOfferingPrice": ref_out(base, CATALOG_BASE, "productOfferingPrice", p.id, "ProductOfferingPrice"),
    })


def _term_out(t: Term) -> dict[str, Any]:
    return _drop_none({
        "name": "contract",
        "duration": {"amount": t.months, "units": "month"},
        "validFor": {"startDateTime": ts(t.start_at), "endDateTime": ts(t.end_at)},
        "autoRenewal": t.auto_renew,
        "earlyTerminationFee": money_out(t.early_termination_fee),
    })


def product_out(v: ProductView, base: str) -> dict[str, Any]:
    p = v.product
    return _drop_none({
        "id": str(p.id),
        "href": href(base, INVENTORY_BASE, "product", p.id),
        "@type": "Product",
        "status": p.status,
        "orderDate": ts(p.created_at),
        "startDate": ts(p.start_at),
        "terminationDate": ts(p.end_at),
        "trialEndDate": ts(p.trial_end_at),
        "productOffering": _offering_ref(base, p.offering_id),
        "billingAccount": _account_ref(base, p.account_id),
        "productCharacteristic": _service_id(p.service_id),
        "productPrice": [_price_out(x, base) for x in v.prices],
        "productTerm": [_term_out(p.term)] if p.term else None,
        "relatedParty": list(p.related_party),
    })


class ProductPatch(TmfIn):
    """TMF637 PATCH on a product: one lifecycle change at a time.

    - `status`: suspended (suspend now; extension `chargeDuringSuspension`, default false), active (resume a
      suspended product), terminated (cancel now), pendingTerminate (cancel at the end of the term);
    - `productOffering: {id}`: move to another offering now (upgrade or downgrade).
    """

    status: str | None = None
    product_offering: RefIn | None = Field(None, alias="productOffering")
    charge_during_suspension: bool | None = Field(None, alias="chargeDuringSuspension")
    status_reason: str | None = Field(None, alias="statusReason", description="extension: kept on the event")


PRODUCT_PATCHABLE = ("status", "productOffering", "chargeDuringSuspension", "statusReason")
ORDER_PATCHABLE = ("billingAccount", "productOrderItem", "requestedStartDate", "requestedCompletionDate",
                   "relatedParty", "note", "externalId", "category", "priority", "description", "state",
                   "cancellationReason")


def check_patchable(patch: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in patch:
        if key not in allowed:
            raise InvalidValue(key, patch[key], f"cannot be changed; patchable: {', '.join(allowed)}")

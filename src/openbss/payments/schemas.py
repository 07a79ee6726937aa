"""TMF676 Payment and Refund, TMF670 PaymentMethod: request and response shapes.

`paymentMethod` of a payment is a reference to a stored method (`id`: a card is then charged at its gateway) or
taken by value: its `@type` (or `@referredType`) names the method, bankTransfer when absent. `paymentItem[].item.id`
names the customerBill the payer meant to settle; it is allocated first, the rest goes to the oldest open bills.
The amount left over is returned in the extension attribute `unallocatedAmount` (a credit the account holds);
`statusReason` says why a payment failed or was taken back.

A refund names the `payment` it pays back, or none: then it is paid out of the account's credit balance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from openbss.api.tmf import MoneyIn, RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.party.schemas import ACCOUNT_BASE
from openbss.payments.method_service import NewMethod
from openbss.payments.methods import PaymentMethod
from openbss.payments.model import Payment, Refund
from openbss.payments.refunds import NewRefund
from openbss.payments.service import NewPayment

PAYMENT_BASE = "/tmf-api/paymentManagement/v4"
METHOD_BASE = "/tmf-api/paymentMethods/v4"
# Where billing (TMF678) serves bills; payment items link there.
CUSTOMER_BILL_BASE = "/tmf-api/customerBillManagement/v4"


class PaymentMethodIn(TmfIn):
    id: str | None = None
    type: str | None = Field(None, alias="@type")
    referred_type: str | None = Field(None, alias="@referredType")


class PaymentItemIn(TmfIn):
    item: RefIn
    amount: MoneyIn | None = Field(None, description="how much of the payment is meant for this bill")
    total_amount: MoneyIn | None = Field(None, alias="totalAmount")


def _tz(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidValue(field, value.isoformat(), "must carry a time zone offset")
    return value


class PaymentCreate(TmfIn):
    account: RefIn
    total_amount: MoneyIn = Field(alias="totalAmount")
    payment_method: PaymentMethodIn = Field(default_factory=PaymentMethodIn, alias="paymentMethod")
    payment_date: datetime | None = Field(None, alias="paymentDate", description="when the money was received")
    correlator_id: str | None = Field(None, alias="correlatorId", description="the payer's or bank's reference")
    payment_item: list[PaymentItemIn] = Field(default_factory=list, alias="paymentItem")

    def command(self, idempotency_key: str | None) -> NewPayment:
        method_id = parse_id(self.payment_method.id, "paymentMethod.id") if self.payment_method.id else None
        return NewPayment(
            account_id=parse_id(self.account.id, "account.id"),
            amount=self.total_amount.money("totalAmount"),
            method=self.payment_method.type or self.payment_method.referred_type or "bankTransfer",
            received_at=_tz(self.payment_date, "paymentDate"),
            external_ref=self.correlator_id,
            idempotency_key=idempotency_key,
            payment_method_id=method_id,
            items=tuple(self._item(n, i) for n, i in enumerate(self.payment_item)),
        )

    def _item(self, n: int, i: PaymentItemIn):
        field = "paymentItem.item.id" if len(self.payment_item) == 1 else f"paymentItem[{n}].item.id"
        part = i.total_amount or i.amount
        return parse_id(i.item.id, field), part.money(f"paymentItem[{n}].amount") if part else None


def payment_out(p: Payment, base: str) -> dict[str, Any]:
    method: dict[str, Any] = {"@type": p.method}
    if p.payment_method_id is not None:
        method = {"id": str(p.payment_method_id), "href": href(base, METHOD_BASE, "paymentMethod", p.payment_method_id),
                  "@referredType": "PaymentMethod", "@type": p.method}
    out = {
        "id": str(p.id),
        "href": href(base, PAYMENT_BASE, "payment", p.id),
        "@type": "Payment",
        "status": p.status,
        "statusDate": ts(p.created_at),
        "paymentDate": ts(p.received_at),
        "account": ref_out(base, ACCOUNT_BASE, "billingAccount", p.account_id, "BillingAccount"),
        "paymentMethod": method,
        # Payments carry no tax of their own: the net amount is the total.
        "amount": money_out(p.amount),
        "totalAmount": money_out(p.amount),
        "paymentItem": [
            {
                "amount": money_out(a.amount),
                "totalAmount": money_out(a.amount),
                "item": ref_out(base, CUSTOMER_BILL_BASE, "customerBill", a.invoice_id, "CustomerBill"),
            }
            for a in p.allocations
            if not a.amount.is_zero()  # released by a refund or reversal: it settles nothing any more
        ],
        "unallocatedAmount": money_out(p.unallocated),
    }
    if not p.refunded.is_zero():
        out["refundedAmount"] = money_out(p.refunded)
    if p.status_reason is not None:
        out["statusReason"] = p.status_reason
    if p.external_ref is not None:  # the spec types it as a string: absent, never null
        out["correlatorId"] = p.external_ref
    return out


class RefundCreate(TmfIn):
    account: RefIn
    total_amount: MoneyIn = Field(alias="totalAmount")
    payment: RefIn | None = None
    payment_method: PaymentMethodIn = Field(default_factory=PaymentMethodIn, alias="paymentMethod")
    refund_date: datetime | None = Field(None, alias="refundDate")
    description: str | None = Field(None, description="why the money is paid back")

    def command(self, idempotency_key: str | None) -> NewRefund:
        return NewRefund(
            account_id=parse_id(self.account.id, "account.id"),
            amount=self.total_amount.money("totalAmount"),
            payment_id=parse_id(self.payment.id, "payment.id") if self.payment else None,
            reason=self.description,
            idempotency_key=idempotency_key,
            refunded_at=_tz(self.refund_date, "refundDate"),
        )


def refund_out(r: Refund, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(r.id),
        "href": href(base, PAYMENT_BASE, "refund", r.id),
        "@type": "Refund",
        "status": r.status,
        "statusDate": ts(r.created_at),
        "refundDate": ts(r.refunded_at),
        "account": ref_out(base, ACCOUNT_BASE, "billingAccount", r.account_id, "BillingAccount"),
        "amount": money_out(r.amount),
        "totalAmount": money_out(r.amount),
        # Paid back the way it came (a payment's method) or by bank transfer out of a credit balance.
        "paymentMethod": {"@type": "bankTransfer" if r.payment_id is None else "originalPaymentMethod"},
    }
    if r.payment_id is not None:
        out["payment"] = {"id": str(r.payment_id), "href": href(base, PAYMENT_BASE, "payment", r.payment_id),
                          "@referredType": "Payment"}
    if r.reason is not None:
        out["description"] = r.reason
    if r.gateway_ref is not None:
        out["authorizationCode"] = r.gateway_ref
    return out


class UndoIn(TmfIn):
    reason: str | None = Field(None, description="why it is taken back: the bank's or scheme's reason")


# ---- TMF670 payment methods ---------------------------------------------------------------------------------------

_BASE_FIELDS = {"@type", "name", "description", "isPreferred", "account", "status", "statusDate", "statusReason",
                "authorizationCode", "relatedParty", "relatedPlace", "validFor", "@baseType", "@schemaLocation", "id",
                "href", "gateway"}


class PaymentMethodCreate(TmfIn):
    """A TMF670 PaymentMethod: the common attributes, and its kind's own (IBAN, mandate, token...) as extras."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")
    type: str = Field(alias="@type")
    name: str
    description: str | None = None
    is_preferred: bool = Field(False, alias="isPreferred")
    account: list[RefIn] = Field(min_length=1, max_length=1, description="the one billing account it pays for")
    gateway: str | None = Field(None, description="extension: the gateway holding a tokenizedCard's token")

    def command(self) -> NewMethod:
        details = {k: v for k, v in (self.model_extra or {}).items() if k not in _BASE_FIELDS}
        return NewMethod(account_id=parse_id(self.account[0].id, "account.id"), kind=self.type, name=self.name,
                         details=details, is_preferred=self.is_preferred, description=self.description,
                         gateway=self.gateway)


class PaymentMethodPatch(TmfIn):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    name: str | None = None
    description: str | None = None
    is_preferred: bool | None = Field(None, alias="isPreferred")
    status: str | None = None
    status_reason: str | None = Field(None, alias="statusReason")

    def changes(self) -> dict[str, Any]:
        for key in self.model_extra or {}:
            if key not in ("@type", "@baseType", "@schemaLocation", "id", "href"):
                raise InvalidValue(key, self.model_extra[key], "cannot be changed: add a new payment method instead")
        return {k: v for k, v in self.model_dump(exclude_unset=True, by_alias=False).items()
                if k in {"name", "description", "is_preferred", "status", "status_reason"}}


def method_out(m: PaymentMethod, base: str) -> dict[str, Any]:
    # The token stays with us: a client sees which card (brand, last four, expiry), never the handle to charge it.
    shown = {k: v for k, v in m.details.items() if k != "token"}
    out = {
        "id": str(m.id),
        "href": href(base, METHOD_BASE, "paymentMethod", m.id),
        "@type": m.kind,
        "name": m.name,
        "isPreferred": m.is_preferred,
        "status": m.status,
        "statusDate": ts(m.status_date),
        "account": [ref_out(base, ACCOUNT_BASE, "billingAccount", m.account_id, "BillingAccount")],
        **shown,
    }
    if m.kind == "tokenizedCard":
        out["issuer"] = m.gateway
    if m.description is not None:
        out["description"] = m.description
    if m.status_reason is not None:
        out["statusReason"] = m.status_reason
    return out

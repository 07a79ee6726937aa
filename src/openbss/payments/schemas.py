"""TMF676 Payment request and response shapes.

`paymentMethod` is taken by value: its `@type` (or, for a reference, `@referredType`) names the method,
bankTransfer when absent. `paymentItem[].item.id` names the customerBill the payer meant to settle; it
is allocated first, the rest goes to the oldest open bills. The amount left over after allocation is
returned in the extension attribute `unallocatedAmount` (a credit the account holds).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from openbss.api.tmf import MoneyIn, RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.party.schemas import ACCOUNT_BASE
from openbss.payments.model import Payment
from openbss.payments.service import NewPayment

PAYMENT_BASE = "/tmf-api/paymentManagement/v4"
# Where billing (TMF678) serves bills; payment items link there.
CUSTOMER_BILL_BASE = "/tmf-api/customerBillManagement/v4"


class PaymentMethodIn(TmfIn):
    id: str | None = None
    type: str | None = Field(None, alias="@type")
    referred_type: str | None = Field(None, alias="@referredType")


class PaymentItemIn(TmfIn):
    item: RefIn


class PaymentCreate(TmfIn):
    account: RefIn
    total_amount: MoneyIn = Field(alias="totalAmount")
    payment_method: PaymentMethodIn = Field(default_factory=PaymentMethodIn, alias="paymentMethod")
    payment_date: datetime | None = Field(None, alias="paymentDate", description="when the money was received")
    correlator_id: str | None = Field(None, alias="correlatorId", description="the payer's or bank's reference")
    payment_item: list[PaymentItemIn] = Field(default_factory=list, alias="paymentItem")

    def command(self, idempotency_key: str | None) -> NewPayment:
        if len(self.payment_item) > 1:
            raise InvalidValue("paymentItem", len(self.payment_item), "may name at most one customerBill")
        if self.payment_date is not None and self.payment_date.tzinfo is None:
            raise InvalidValue("paymentDate", self.payment_date.isoformat(), "must carry a time zone offset")
        return NewPayment(
            account_id=parse_id(self.account.id, "account.id"),
            amount=self.total_amount.money("totalAmount"),
            method=self.payment_method.type or self.payment_method.referred_type or "bankTransfer",
            received_at=self.payment_date,
            external_ref=self.correlator_id,
            idempotency_key=idempotency_key,
            invoice_id=parse_id(self.payment_item[0].item.id, "paymentItem.item.id") if self.payment_item else None,
        )


def payment_out(p: Payment, base: str) -> dict[str, Any]:
    out = {
        "id": str(p.id),
        "href": href(base, PAYMENT_BASE, "payment", p.id),
        "@type": "Payment",
        "status": p.status,
        "statusDate": ts(p.created_at),
        "paymentDate": ts(p.received_at),
        "account": ref_out(base, ACCOUNT_BASE, "billingAccount", p.account_id, "BillingAccount"),
        "paymentMethod": {"@type": p.method},
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
        ],
        "unallocatedAmount": money_out(p.unallocated),
    }
    if p.external_ref is not None:  # the spec types it as a string: absent, never null
        out["correlatorId"] = p.external_ref
    return out

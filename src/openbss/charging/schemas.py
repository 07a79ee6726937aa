"""TMF654 Prepay Balance Management v4 shapes: Bucket, TopupBalance, AdjustBalance, AccumulatedBalance.

Quantities are TMF `Quantity` {amount, units}: units is the currency for money ("EUR"), else second, byte or
message; `usageType` is monetary, voice, data or sms. openbss extensions on Bucket: `usedValue`, `priority`,
`rollover`, `balanceGroup` (a shared bucket's group) and, in a BucketBalanceThresholdEvent, `thresholdPercentage`.
A voucher top-up names the PIN in `voucher` (or as `paymentMethod.id` with `@referredType` "Voucher"); responses
show the voucher's id there, never the PIN.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, Field

from openbss.api.tmf import RefIn, TmfIn, href, ref_out, ts
from openbss.charging.balances import (
    USAGE_TYPE,
    Accumulated,
    Adjustment,
    BucketView,
    NewAdjustment,
    NewTopup,
    Topup,
    units_code,
)
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.party.schemas import ACCOUNT_BASE

BALANCE_BASE = "/tmf-api/prepayBalanceManagement/v4"


class QuantityIn(TmfIn):
    amount: Decimal
    units: str | None = None


class TimePeriodIn(TmfIn):
    start_date_time: AwareDatetime | None = Field(None, alias="startDateTime")
    end_date_time: AwareDatetime | None = Field(None, alias="endDateTime")


def _ref_id(ref: RefIn | None, field: str):
    return None if ref is None else parse_id(ref.id, field)


def _channel(ref: RefIn | None) -> str | None:
    return None if ref is None else (ref.name or ref.id)


class TopupBalanceCreate(TmfIn):
    party_account: RefIn = Field(alias="partyAccount")
    usage_type: str | None = Field(None, alias="usageType", description="monetary (default), voice, data or sms")
    amount: QuantityIn | None = Field(None, description="required unless a voucher pays: then its value")
    bucket: RefIn | None = Field(None, description="the bucket to credit; absent: a new bucket")
    voucher: str | None = Field(None, description="a voucher PIN as the means of payment")
    payment_method: RefIn | None = Field(None, alias="paymentMethod")
    channel: RefIn | None = None
    reason: str | None = None
    description: str | None = None
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")
    is_auto_topup: bool | None = Field(None, alias="isAutoTopup")
    priority: int = Field(0, description="openbss: a new bucket's spending priority (lower first)")
    rollover: bool = Field(False, description="openbss: a new bucket's unspent rest rolls over once at its end")

    def command(self) -> NewTopup:
        if self.is_auto_topup:
            raise InvalidValue("isAutoTopup", True, "is not supported: top-ups are one-time")
        pin, method = self.voucher, self.payment_method
        if method is not None and (method.referred_type or "").lower() == "voucher":
            if pin is not None and pin != method.id:
                raise InvalidValue("paymentMethod.id", "***", "names another voucher than `voucher`")
            pin, method = method.id, None
        period = self.valid_for or TimePeriodIn()
        return NewTopup(
            account_id=parse_id(self.party_account.id, "partyAccount.id"), usage_type=self.usage_type,
            amount=self.amount.amount if self.amount else None, units=self.amount.units if self.amount else None,
            bucket_id=_ref_id(self.bucket, "bucket.id"), voucher_pin=pin,
            payment_method_id=method.id if method else None, channel=_channel(self.channel), reason=self.reason,
            description=self.description, valid_from=period.start_date_time, valid_to=period.end_date_time,
            priority=self.priority, rollover=self.rollover)


class AdjustBalanceCreate(TmfIn):
    bucket: RefIn
    amount: QuantityIn = Field(description="signed: negative takes off")
    reason: str | None = Field(None, description="required: why the balance is adjusted")
    usage_type: str | None = Field(None, alias="usageType")
    adjust_type: str | None = Field(None, alias="adjustType", description="oneTime (recurring is not supported)")
    party_account: RefIn | None = Field(None, alias="partyAccount")
    channel: RefIn | None = None
    description: str | None = None

    def command(self) -> NewAdjustment:
        if self.adjust_type not in (None, "oneTime"):
            raise InvalidValue("adjustType", self.adjust_type, "must be oneTime")
        return NewAdjustment(
            bucket_id=parse_id(self.bucket.id, "bucket.id"), amount=self.amount.amount, reason=self.reason or "",
            usage_type=self.usage_type, units=self.amount.units,
            account_id=_ref_id(self.party_account, "partyAccount.id"), description=self.description,
            channel=_channel(self.channel))


def _num(value: Decimal) -> float | int:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def quantity(amount: Decimal, unit: str, currency: str | None) -> dict[str, Any]:
    return {"amount": _num(amount), "units": units_code(unit, currency)}


def _period(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    out = {"startDateTime": ts(start)}
    if end is not None:
        out["endDateTime"] = ts(end)
    return out


def _account_ref(base: str, account_id) -> dict[str, Any] | None:
    return ref_out(base, ACCOUNT_BASE, "billingAccount", account_id, "BillingAccount")


def _bucket_ref(base: str, bucket_id) -> dict[str, Any]:
    return ref_out(base, BALANCE_BASE, "bucket", bucket_id, "Bucket")


def bucket_out(v: BucketView, base: str) -> dict[str, Any]:
    b = v.bucket
    out: dict[str, Any] = {
        "id": str(b.id), "href": href(base, BALANCE_BASE, "bucket", b.id), "@type": "Bucket",
        "name": f"{USAGE_TYPE[b.unit]} {units_code(b.unit, b.currency)}",
        "isShared": v.group_id is not None, "usageType": USAGE_TYPE[b.unit],
        "remainingValue": quantity(b.free, b.unit, b.currency),
        "remainingValueName": f"{b.free.normalize():f} {units_code(b.unit, b.currency)}",
        "reservedValue": quantity(b.reserved, b.unit, b.currency),
        "usedValue": quantity(b.used, b.unit, b.currency),
        "validFor": _period(b.valid_from, b.valid_to),
        "status": v.status, "priority": b.priority, "rollover": b.rollover,
    }
    if v.account_id is not None:
        out["partyAccount"] = _account_ref(base, v.account_id)
    else:
        out["balanceGroup"] = {"id": str(v.group_id), "name": v.group_name}
    if v.threshold is not None:
        out["thresholdPercentage"] = v.threshold
    return out


def topup_out(t: Topup, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(t.id), "href": href(base, BALANCE_BASE, "topupBalance", t.id), "@type": "TopupBalance",
        "status": t.status, "requestedDate": ts(t.created_at), "confirmationDate": ts(t.created_at),
        "usageType": USAGE_TYPE[t.unit], "amount": quantity(t.amount, t.unit, t.currency),
        "bucket": _bucket_ref(base, t.bucket_id), "partyAccount": _account_ref(base, t.account_id),
        "isAutoTopup": False, "validFor": _period(t.valid_from, t.valid_to),
    }
    if t.voucher_id is not None:
        out["voucher"] = str(t.voucher_id)
        out["paymentMethod"] = {"id": str(t.voucher_id), "name": "voucher", "@referredType": "Voucher"}
    elif t.payment_method_id is not None:
        out["paymentMethod"] = {"id": t.payment_method_id}
    if t.channel is not None:
        out["channel"] = {"id": t.channel, "name": t.channel}
    for key in ("reason", "description"):
        if getattr(t, key) is not None:
            out[key] = getattr(t, key)
    return out


def adjust_out(a: Adjustment, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(a.id), "href": href(base, BALANCE_BASE, "adjustBalance", a.id), "@type": "AdjustBalance",
        "status": a.status, "requestedDate": ts(a.created_at), "confirmationDate": ts(a.created_at),
        "adjustType": "oneTime", "usageType": USAGE_TYPE[a.unit], "amount": quantity(a.amount, a.unit, a.currency),
        "bucket": _bucket_ref(base, a.bucket_id), "reason": a.reason,
    }
    if a.account_id is not None:
        out["partyAccount"] = _account_ref(base, a.account_id)
    if a.channel is not None:
        out["channel"] = {"id": a.channel, "name": a.channel}
    if a.description is not None:
        out["description"] = a.description
    return out


def accumulated_out(a: Accumulated, base: str) -> dict[str, Any]:
    code = units_code(a.unit, a.currency)
    return {
        "id": a.id, "href": f"{base}{BALANCE_BASE}/accumulatedBalance/{a.id}", "@type": "AccumulatedBalance",
        "name": f"{USAGE_TYPE[a.unit]} {code}", "usageType": USAGE_TYPE[a.unit],
        "totalBalance": quantity(a.remaining, a.unit, a.currency),
        "reservedValue": quantity(a.reserved, a.unit, a.currency),
        "usedValue": quantity(a.used, a.unit, a.currency),
        "partyAccount": _account_ref(base, a.account_id),
        "bucket": [_bucket_ref(base, i) for i in a.bucket_ids],
    }

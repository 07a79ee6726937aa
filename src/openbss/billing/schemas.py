"""TMF678 CustomerBill and AppliedCustomerBillingRate response shapes.

Bill dates and periods are local midnights in the zone the period was cut in, written with their UTC
offset ("2026-10-01T00:00:00+02:00"), so the date a customer reads on the bill is the date in the
API. `taxRate` is a percentage (19 for 19 %), as on an EN 16931 invoice. A line's quantity, unit
and usage type travel as characteristics.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openbss.api.tmf import href, money_out, ref_out
from openbss.billing.model import BilledLine, Invoice, InvoiceTax
from openbss.party.schemas import ACCOUNT_BASE

BILL_BASE = "/tmf-api/customerBillManagement/v4"
PRODUCT_BASE = "/tmf-api/productInventory/v4"


def _local(day: date, time_zone: str) -> str:
    return datetime.combine(day, time(0), ZoneInfo(time_zone)).isoformat()


def _period(start: date, end: date, time_zone: str) -> dict[str, str]:
    return {"startDateTime": _local(start, time_zone), "endDateTime": _local(end, time_zone)}


def _percent(rate: Decimal) -> float:
    return float(rate * 100)


def _tax_item(t: InvoiceTax) -> dict[str, Any]:
    return {"taxCategory": t.tax_category, "taxRate": _percent(t.tax_rate), "taxAmount": money_out(t.tax)}


def _account_ref(base: str, inv: Invoice) -> dict[str, Any]:
    return ref_out(base, ACCOUNT_BASE, "billingAccount", inv.account_id, "BillingAccount")


def customer_bill_out(inv: Invoice, base: str) -> dict[str, Any]:
    return {
        "id": str(inv.id),
        "href": href(base, BILL_BASE, "customerBill", inv.id),
        "@type": "CustomerBill",
        "billNo": inv.number,
        "billDate": _local(inv.issue_date, inv.time_zone),
        "billingPeriod": _period(inv.period_start, inv.period_end, inv.time_zone),
        "paymentDueDate": _local(inv.due_date, inv.time_zone),
        "category": "normal",
        "runType": "onCycle",
        "state": inv.state,
        "amountDue": money_out(inv.gross_total),
        "remainingAmount": money_out(inv.remaining),
        "taxExcludedAmount": money_out(inv.net_total),
        "taxIncludedAmount": money_out(inv.gross_total),
        "taxItem": [_tax_item(t) for t in inv.taxes],
        "billingAccount": _account_ref(base, inv),
    }


def applied_rate_out(b: BilledLine, base: str) -> dict[str, Any]:
    inv, line = b.invoice, b.line
    characteristic = [
        {"name": "quantity", "valueType": "number", "value": float(line.quantity)},
        {"name": "unit", "valueType": "string", "value": line.unit},
    ]
    if line.usage_type is not None:
        characteristic.append({"name": "usageType", "valueType": "string", "value": line.usage_type})
    out = {
        "id": str(line.id),
        "href": href(base, BILL_BASE, "appliedCustomerBillingRate", line.id),
        "@type": "AppliedCustomerBillingRate",
        "name": line.description,
        "description": line.description,
        "type": line.kind,
        "date": _local(inv.issue_date, inv.time_zone),
        "isBilled": True,
        "bill": ref_out(base, BILL_BASE, "customerBill", inv.id, "CustomerBill"),
        "billingAccount": _account_ref(base, inv),
        "product": ref_out(base, PRODUCT_BASE, "product", line.product_id, "Product"),
        "taxExcludedAmount": money_out(line.net),
        "appliedTax": [{"taxCategory": line.tax_category, "taxRate": _percent(line.tax_rate)}],
        "characteristic": characteristic,
    }
    if line.service_start is not None:
        out["periodCoverage"] = _period(line.service_start, line.service_end, inv.time_zone)
    return out

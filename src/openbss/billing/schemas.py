"""TMF678 CustomerBill and AppliedCustomerBillingRate response shapes.

Bill dates and periods are local midnights in the zone the period was cut in, written with their UTC
offset ("2026-10-01T00:00:00+02:00"), so the date a customer reads on the bill is the date in the
API. `taxRate` is a percentage (19 for 19 %), as on an EN 16931 invoice. A line's quantity, unit
and usage type travel as characteristics.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from openbss.api.tmf import MoneyIn, RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.billing.bill_documents import DOCUMENT_TYPES
from openbss.billing.corrections import CreditNote, DebitItem, DebitNote, Dispute, LineCredit, NoteLine
from openbss.billing.documents.export import EXTENSIONS, file_name
from openbss.billing.model import BilledLine, Invoice, InvoiceTax
from openbss.billing.on_demand import BillOnDemand
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
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


def _bill_documents(inv: Invoice, base: str) -> list[dict[str, Any]]:
    """TMF678 billDocument: one AttachmentRefOrValue per format, by reference (`url` downloads the bytes)."""
    bill = href(base, BILL_BASE, "customerBill", inv.id)
    return [
        {"id": f"{inv.id}-{fmt}", "name": file_name(inv.number, fmt), "attachmentType": "invoice",
         "description": description, "mimeType": media_type, "url": f"{bill}/document.{EXTENSIONS[fmt]}",
         "@type": "Attachment"}
        for fmt, (media_type, description) in DOCUMENT_TYPES.items()
    ]


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
        "billDocument": _bill_documents(inv, base),
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


# Corrections. TMF678 v4 has no credit-note resource and CustomerBill no billType; its `category` is documented as
# "normal, duplicate, interim, last, trial customer or credit note for example". So credit notes and debit notes
# are CustomerBill-shaped resources at extension paths of this API (`creditNote`, `debitNote`), with
# `@baseType` CustomerBill, `category` "creditNote" / "debitNote", `runType` "offCycle", and extension fields:
# `bill` (the corrected customerBill), `reason`, the lines, and on a credit note `appliedAmount` (the part that
# settled the bill; the rest became a credit on the account). Amounts are positive, as on the EN 16931 document.
# Disputes (`dispute`) are an openbss extension resource: TMF678 has none.


class LineCreditIn(TmfIn):
    applied_rate: RefIn = Field(alias="appliedCustomerBillingRate", description="the invoice line to credit")
    quantity: Decimal | None = None
    amount: MoneyIn | None = Field(None, description="net amount to credit")


class CreditNoteCreate(TmfIn):
    bill: RefIn = Field(description="the customerBill (invoice) to credit")
    reason: str
    credit_line: list[LineCreditIn] | None = Field(None, alias="creditNoteLine",
                                                   description="absent: a full credit note of what is left")

    def lines(self, currency: str) -> list[LineCredit] | None:
        if self.credit_line is None:
            return None
        result = []
        for i, item in enumerate(self.credit_line):
            field = f"creditNoteLine[{i}]"
            amount = None
            if item.amount is not None:
                money = item.amount.money(f"{field}.amount")
                if money.currency != currency:
                    raise InvalidValue(f"{field}.amount.unit", money.currency, f"must be the bill's {currency}")
                amount = money.amount
            result.append(LineCredit(parse_id(item.applied_rate.id, f"{field}.appliedCustomerBillingRate.id"),
                                     quantity=item.quantity, amount=amount))
        return result


class DebitLineIn(TmfIn):
    description: str
    amount: MoneyIn = Field(description="net amount")
    tax_category: str = Field("standard", alias="taxCategory")
    quantity: Decimal = Decimal(1)
    unit: str = "each"
    product: RefIn | None = None


class DebitNoteCreate(TmfIn):
    bill: RefIn = Field(description="the customerBill (invoice) the debit note adds to")
    reason: str
    debit_line: list[DebitLineIn] = Field(alias="debitNoteLine")

    def items(self) -> list[DebitItem]:
        return [DebitItem(description=line.description, amount=line.amount.money(f"debitNoteLine[{i}].amount").amount,
                          tax_category=line.tax_category, quantity=line.quantity, unit=line.unit,
                          product_id=parse_id(line.product.id, f"debitNoteLine[{i}].product.id") if line.product
                          else None)
                for i, line in enumerate(self.debit_line)]


class DisputeLineIn(TmfIn):
    applied_rate: RefIn = Field(alias="appliedCustomerBillingRate")
    amount: MoneyIn = Field(description="net amount disputed (resolution: agreed) on the line")


class DisputeCreate(TmfIn):
    bill: RefIn
    reason: str
    raised_by: str = Field(alias="raisedBy", description="customer or agent")
    dispute_line: list[DisputeLineIn] = Field(alias="disputeLine")


class DisputeUpdate(TmfIn):
    state: str = Field(description="resolved (credited) or rejected")
    resolution: str
    dispute_line: list[DisputeLineIn] | None = Field(
        None, alias="disputeLine", description="resolved: the agreed amounts; absent: all that was disputed")


def dispute_amounts(lines: list[DisputeLineIn]) -> dict[uuid.UUID, Decimal]:
    return {parse_id(line.applied_rate.id, f"disputeLine[{i}].appliedCustomerBillingRate.id"):
            line.amount.money(f"disputeLine[{i}].amount").amount for i, line in enumerate(lines)}


def _note_line(base: str, line: NoteLine) -> dict[str, Any]:
    out = {"lineNo": line.line_no, "description": line.description, "quantity": float(line.quantity),
           "unit": line.unit, "taxExcludedAmount": money_out(line.net),
           "appliedTax": [{"taxCategory": line.tax_category, "taxRate": _percent(line.tax_rate)}]}
    if line.invoice_line_id is not None:
        out["appliedCustomerBillingRate"] = ref_out(base, BILL_BASE, "appliedCustomerBillingRate",
                                                    line.invoice_line_id, "AppliedCustomerBillingRate")
    return out


def _note_out(note: CreditNote | DebitNote, base: str, resource: str, type_: str) -> dict[str, Any]:
    return {
        "id": str(note.id),
        "href": href(base, BILL_BASE, resource, note.id),
        "@type": type_,
        "@baseType": "CustomerBill",
        "billNo": note.number,
        "billDate": _local(note.issue_date, note.time_zone),
        "category": resource,
        "runType": "offCycle",
        "taxExcludedAmount": money_out(note.net_total),
        "taxIncludedAmount": money_out(note.gross_total),
        "taxItem": [_tax_item(t) for t in note.taxes],
        "billingAccount": ref_out(base, ACCOUNT_BASE, "billingAccount", note.account_id, "BillingAccount"),
        "bill": ref_out(base, BILL_BASE, "customerBill", note.invoice_id, "CustomerBill", note.invoice_number),
        "reason": note.reason,
        f"{resource}Line": [_note_line(base, line) for line in note.lines],
    }


def credit_note_out(note: CreditNote, base: str) -> dict[str, Any]:
    out = _note_out(note, base, "creditNote", "CreditNote")
    out["state"] = "settled"  # nothing to pay on a credit note
    out["appliedAmount"] = money_out(note.applied)
    if note.dispute_id is not None:
        out["dispute"] = ref_out(base, BILL_BASE, "dispute", note.dispute_id, "Dispute")
    return out


def debit_note_out(note: DebitNote, base: str) -> dict[str, Any]:
    out = _note_out(note, base, "debitNote", "DebitNote")
    out.update(state=note.state, paymentDueDate=_local(note.due_date, note.time_zone),
               amountDue=money_out(note.gross_total), remainingAmount=money_out(note.remaining))
    return out


def dispute_out(d: Dispute, base: str) -> dict[str, Any]:
    out = {
        "id": str(d.id),
        "href": href(base, BILL_BASE, "dispute", d.id),
        "@type": "Dispute",
        "state": d.state,
        "raisedBy": d.raised_by,
        "reason": d.reason,
        "creationDate": ts(d.created_at),
        "heldAmount": money_out(d.held),
        "bill": ref_out(base, BILL_BASE, "customerBill", d.invoice_id, "CustomerBill"),
        "billingAccount": ref_out(base, ACCOUNT_BASE, "billingAccount", d.account_id, "BillingAccount"),
        "disputeLine": [
            {"appliedCustomerBillingRate": ref_out(base, BILL_BASE, "appliedCustomerBillingRate", line.invoice_line_id,
                                                   "AppliedCustomerBillingRate"),
             "amount": money_out(line.amount)}
            for line in d.lines
        ],
    }
    if d.resolved_at is not None:
        out.update(resolutionDate=ts(d.resolved_at), resolution=d.resolution)
    if d.credit_note_id is not None:
        out["creditNote"] = ref_out(base, BILL_BASE, "creditNote", d.credit_note_id, "CreditNote")
    return out


# TMF678 PATCH customerBill: only `state` changes (CustomerBill_Update); "onHold" holds the bill, the state its
# payments give releases the hold (billing.bill_holds). The @-fields a TMF client may echo are allowed and ignored.
BILL_PATCHABLE = ("state", "@type", "@baseType", "@schemaLocation")


class CustomerBillUpdate(TmfIn):
    state: str = Field(description="onHold, or the state the payments give (sent, partiallyPaid, settled)")


# TMF678 customerBillOnDemand (billing.on_demand). The request names the account to bill (billingAccount.id); a
# client-sent state or customerBill is ignored: both are the server's.
class CustomerBillOnDemandCreate(TmfIn):
    billing_account: RefIn = Field(alias="billingAccount")
    name: str | None = None
    description: str | None = None


def bill_on_demand_out(r: BillOnDemand, base: str) -> dict[str, Any]:
    out = {
        "id": str(r.id),
        "href": href(base, BILL_BASE, "customerBillOnDemand", r.id),
        "@type": "CustomerBillOnDemand",
        "state": r.state,
        "lastUpdate": ts(r.last_update),
        "billingAccount": {"id": r.billing_account_ref, "@referredType": "BillingAccount"},
    }
    if r.account_id is not None:
        out["billingAccount"] = ref_out(base, ACCOUNT_BASE, "billingAccount", r.account_id, "BillingAccount")
    if r.name is not None:
        out["name"] = r.name
    # TMF678 has no field for why a request was rejected, waits or billed nothing: the outcome follows the
    # client's own description.
    description = " -- ".join(text for text in (r.description, r.outcome) if text)
    if description:
        out["description"] = description
    if r.invoice_id is not None:
        out["customerBill"] = ref_out(base, BILL_BASE, "customerBill", r.invoice_id, "CustomerBill")
    return out

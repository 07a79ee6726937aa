"""Bank statement shapes. openbss's own resources, not TM Forum ones: TMF670/676 have no bank statement, so
they live beside TMF676 under its base path (`/tmf-api/paymentManagement/v4/bankStatement`,
`.../bankStatementLine`), in the TMF style (id, href, @type, Money as unit/value, absent rather than null).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from openbss.api.tmf import RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.core.ids import parse_id
from openbss.party.schemas import ACCOUNT_BASE
from openbss.reconciliation.model import BankStatement, BankStatementLine, ImportResult

PAYMENT_BASE = "/tmf-api/paymentManagement/v4"  # TMF676's, where payments are served
BILL_BASE = "/tmf-api/customerBillManagement/v4"


class AssignIn(TmfIn):
    """Whose money the line is: a customerBill (its account follows) and/or a billingAccount."""

    customer_bill: RefIn | None = Field(None, alias="customerBill")
    billing_account: RefIn | None = Field(None, alias="billingAccount")

    def ids(self):
        return (None if self.customer_bill is None else parse_id(self.customer_bill.id, "customerBill.id"),
                None if self.billing_account is None else parse_id(self.billing_account.id, "billingAccount.id"))


class DismissIn(TmfIn):
    note: str = Field(description="why the line is not ours")


def _present(out: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in out.items() if v is not None}


def statement_out(s: BankStatement, base: str) -> dict[str, Any]:
    return _present({
        "id": str(s.id),
        "href": href(base, PAYMENT_BASE, "bankStatement", s.id),
        "@type": "BankStatement",
        "format": s.format,
        "statementId": s.statement_ref,
        "bankAccount": s.account,
        "sequence": s.sequence,
        "openingBalance": money_out(s.opening),
        "closingBalance": money_out(s.closing),
        "lineCount": s.line_count,
        "importDate": ts(s.created_at),
    })


def line_out(l: BankStatementLine, base: str) -> dict[str, Any]:
    line = l.line
    return _present({
        "id": str(l.id),
        "href": href(base, PAYMENT_BASE, "bankStatementLine", l.id),
        "@type": "BankStatementLine",
        "bankStatement": ref_out(base, PAYMENT_BASE, "bankStatement", l.statement_id, "BankStatement"),
        "lineNo": line.line_no,
        "direction": line.direction,
        "amount": money_out(line.amount),
        "booked": line.booked,
        "reversal": line.reversal,
        "bookingDate": None if line.booking_date is None else line.booking_date.isoformat(),
        "valueDate": None if line.value_date is None else line.value_date.isoformat(),
        "bankReference": line.bank_ref,
        "endToEndId": line.end_to_end_id,
        "creditorReference": line.creditor_ref,
        "remittanceInformation": line.remittance,
        "counterpartyName": line.counterparty_name,
        "counterpartyIban": line.counterparty_iban,
        "bankTransactionCode": line.bank_code,
        "returnReason": line.return_reason,
        "sourceLine": line.source_line,
        "status": l.status,
        "reason": l.reason,
        "message": l.message,
        "billingAccount": ref_out(base, ACCOUNT_BASE, "billingAccount", l.account_id, "BillingAccount"),
        "customerBill": ref_out(base, BILL_BASE, "customerBill", l.invoice_id, "CustomerBill"),
        "payment": ref_out(base, PAYMENT_BASE, "payment", l.payment_id, "Payment"),
        "resolvedBy": l.resolved_by,
        "resolvedDate": ts(l.resolved_at),
    })


def import_out(r: ImportResult, base: str) -> dict[str, Any]:
    return {
        "id": str(r.file_id),
        "@type": "BankStatementImport",
        "bankStatement": [statement_out(s, base) for s in r.statements],
        "lineCount": {status: r.count(status) for status in ("matched", "settled", "unmatched", "listed")},
        "bankStatementLine": [line_out(l, base) for l in r.lines],
    }

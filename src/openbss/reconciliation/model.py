"""Bank statements and how their lines are matched to invoices: pure types and rules (no I/O).

A statement file (camt.053 or MT940) holds one or more statements; a statement holds lines (camt.053
entries, MT940 `:61:` transactions). Credit lines are money customers sent: each is matched to an open
invoice by the invoice number it carries (remittance information, ISO 11649 creditor reference, end-to-end
id) and recorded as a payment, or left in the unmatched queue with a reason for an agent. Debit lines
(bank charges, returned direct debits) and entries not yet booked are listed, not matched.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from openbss.core.errors import InvalidValue
from openbss.core.money import Money, minor_units

FORMATS = ("camt053", "mt940")
CREDIT, DEBIT = "credit", "debit"

# Line statuses: matched by the import, waiting for an agent, assigned by one, dismissed as not ours, or
# listed only (debits, unbooked entries: not money a customer sent).
MATCHED, UNMATCHED, ASSIGNED, DISMISSED, LISTED = "matched", "unmatched", "assigned", "dismissed", "listed"
SETTLED = "settled"  # the bank paid out one of our SEPA direct debit batches: its collections are settled
STATUSES = (MATCHED, UNMATCHED, ASSIGNED, DISMISSED, LISTED, SETTLED)

# Why a credit line waits in the queue.
UNKNOWN_REFERENCE = "unknownReference"
AMOUNT_MISMATCH = "amountMismatch"
CURRENCY_MISMATCH = "currencyMismatch"
AMBIGUOUS = "ambiguous"
REASONS = (UNKNOWN_REFERENCE, AMOUNT_MISMATCH, CURRENCY_MISMATCH, AMBIGUOUS)

# Document numbers as billing.numbers issues them (INV-2026-000001); banks and payers drop or change the
# hyphens, wrap lines and change case, so the separators are optional here.
_NUMBER = re.compile(r"(?<![A-Z0-9])(INV)[-\s/]?(\d{4})[-\s/]?(\d{6})(?![0-9])")


_RF = re.compile(r"RF\d{2}[A-Z0-9]{1,21}")


class MalformedStatement(InvalidValue):
    """A statement file that cannot be imported: the field names the line and the element or tag."""

    def __init__(self, line: int | None, element: str, value: object, problem: str):
        self.line = line
        self.element = element
        where = f"line {line}: {element}" if line is not None else element
        super().__init__(where, value, problem)


@dataclass(frozen=True)
class StatementLine:
    """One booked movement as the bank reported it. `amount` is positive; `direction` says which way."""

    line_no: int  # 1-based position in the statement
    direction: str  # CREDIT (money in) or DEBIT (money out)
    amount: Money
    booked: bool
    reversal: bool  # a reversal of an earlier movement (camt RvslInd, MT940 RC/RD), never a customer's payment
    booking_date: date | None
    value_date: date | None
    bank_ref: str | None = None  # the bank's own reference (AcctSvcrRef, MT940 bank reference)
    end_to_end_id: str | None = None
    creditor_ref: str | None = None  # structured creditor reference (ISO 11649 RF..., SCOR)
    remittance: str | None = None  # unstructured remittance information / MT940 :86: purpose
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    bank_code: str | None = None  # bank transaction code (camt Domn/Fmly/SubFmly or MT940 GVC / type code)
    return_reason: str | None = None  # a returned direct debit's reason code (camt RtrInf/Rsn)
    source_line: int | None = None  # where it starts in the file, for messages


@dataclass(frozen=True)
class ParsedStatement:
    format: str
    statement_ref: str  # camt Stmt/Id, MT940 :20:
    account: str  # the bank account the statement is of: IBAN or the bank's account id
    sequence: str  # camt ElctrncSeqNb/LglSeqNb (or the Id), MT940 :28C: statement/sequence number
    currency: str
    opening: Money | None
    closing: Money | None
    created_at: datetime | None
    lines: tuple[StatementLine, ...]


def check_amount(value: Decimal, currency: str, line: int | None, element: str) -> Money:
    """A statement amount in whole minor units of a known currency (banks book no fractions of a cent)."""
    try:
        money = Money.of(value, currency)
    except InvalidValue as e:
        raise MalformedStatement(line, element, e.value, e.message.split(" ", 1)[1]) from None
    if money.amount != money.rounded().amount:
        raise MalformedStatement(line, element, str(value),
                                 f"has more decimals than {currency} has ({minor_units(currency)})")
    return money


def check_balances(statement: ParsedStatement, line: int | None, element: str) -> None:
    """Opening balance plus the booked lines must give the closing balance: a truncated or edited file fails here.

    Every line is in the statement's currency (a bank books a foreign payment converted; the original amount
    is a detail of the line), so a line in another currency is a malformed file, not a payment to match."""
    for l in statement.lines:
        if l.amount.currency != statement.currency:
            raise MalformedStatement(l.source_line, f"line {l.line_no} amount", l.amount.currency,
                                     f"is not the statement's currency {statement.currency}")
    if statement.opening is None or statement.closing is None:
        return
    moved = sum((l.amount.amount if l.direction == CREDIT else -l.amount.amount for l in statement.lines if l.booked),
                Decimal(0))
    expected = statement.opening.amount + moved
    if expected != statement.closing.amount:
        raise MalformedStatement(
            line, element, str(statement.closing.amount),
            f"is not the opening balance {statement.opening.amount} plus the booked lines {moved} = {expected}",
        )


def creditor_reference(number: str) -> str:
    """The ISO 11649 structured creditor reference of a document number: INV-2026-000001 -> RF..INV2026000001."""
    body = re.sub(r"[^A-Z0-9]", "", number.upper())
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def invoice_numbers(line: StatementLine) -> tuple[str, ...]:
    """The invoice numbers a line names, canonical (INV-2026-000001), first seen first."""
    texts = [re.sub(r"\s", "", line.creditor_ref.upper())] if line.creditor_ref else []
    texts += [t.upper() for t in (line.remittance, line.end_to_end_id) if t]
    # A valid RF reference (structured, or written into the free text, as MT940 carries it) holds the number
    # without separators after its four check characters.
    texts += [m[0][4:] for t in list(texts) for m in _RF.finditer(t) if iso11649.is_valid(m[0])]
    found: dict[str, None] = {}
    for text in texts:
        for m in _NUMBER.finditer(text):
            found[f"{m[1]}-{m[2]}-{m[3]}"] = None
    return tuple(found)


@dataclass(frozen=True)
class InvoiceFacts:
    """What matching needs of an invoice a line names; `remaining` is None when it is not open."""

    id: uuid.UUID
    number: str
    account_id: uuid.UUID
    currency: str
    state: str
    remaining: Money | None


@dataclass(frozen=True)
class Decision:
    status: str  # MATCHED, UNMATCHED, LISTED or SETTLED
    reason: str | None = None  # one of REASONS when UNMATCHED
    message: str | None = None
    invoice: InvoiceFacts | None = None


def decide(line: StatementLine, numbers: tuple[str, ...], invoices: dict[str, InvoiceFacts]) -> Decision:
    """Match a line to the invoice it names (`invoices`: those of `numbers` that exist).

    Partial and over-payments are matched: the payment rules apply (the named invoice first, then the
    account's oldest open invoices, the rest a credit balance). A line is left for an agent when it names
    no invoice we issued, names several, is in another currency, or its invoice has nothing left to pay
    (a second payment of a settled bill is for a person to refund or keep as credit).
    """
    if line.direction == DEBIT:
        return Decision(LISTED, message="debit: listed, not matched")
    if not line.booked:
        return Decision(LISTED, message="not booked yet: listed, not matched")
    if line.reversal:
        return Decision(LISTED, message="reversal of an earlier debit: listed, not matched")
    if not numbers:
        return Decision(UNMATCHED, UNKNOWN_REFERENCE, "names no invoice number or creditor reference")
    known = [invoices[n] for n in numbers if n in invoices]
    if not known:
        return Decision(UNMATCHED, UNKNOWN_REFERENCE, f"{', '.join(numbers)}: no such invoice")
    if len(known) > 1:
        return Decision(UNMATCHED, AMBIGUOUS, f"names {len(known)} invoices: {', '.join(i.number for i in known)}")
    invoice = known[0]
    if line.amount.currency != invoice.currency:
        return Decision(UNMATCHED, CURRENCY_MISMATCH,
                        f"{line.amount} for {invoice.number} in {invoice.currency}", invoice)
    if invoice.remaining is None or invoice.remaining.is_zero():
        return Decision(UNMATCHED, AMOUNT_MISMATCH,
                        f"{line.amount} for {invoice.number}, which has nothing left to pay ({invoice.state})", invoice)
    if line.amount == invoice.remaining:
        return Decision(MATCHED, message=f"pays {invoice.number}", invoice=invoice)
    part = "part of" if line.amount < invoice.remaining else "more than"
    return Decision(MATCHED, message=f"pays {part} the {invoice.remaining} left on {invoice.number}", invoice=invoice)


def payment_key(account: str, statement_ref: str, sequence: str, line_no: int) -> str:
    """The payment's idempotency key: the same bank line is one payment however often it is delivered."""
    return f"bank:{account}:{statement_ref}:{sequence}:{line_no}"


@dataclass(frozen=True)
class BankStatement:
    id: uuid.UUID
    file_id: uuid.UUID
    format: str
    statement_ref: str
    account: str
    sequence: str
    currency: str
    opening: Money | None
    closing: Money | None
    line_count: int
    created_at: datetime


@dataclass(frozen=True)
class BankStatementLine:
    id: uuid.UUID
    statement_id: uuid.UUID
    line: StatementLine
    status: str
    reason: str | None
    message: str | None
    invoice_id: uuid.UUID | None
    account_id: uuid.UUID | None
    payment_id: uuid.UUID | None
    resolved_by: str | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class ImportResult:
    file_id: uuid.UUID
    statements: tuple[BankStatement, ...]
    lines: tuple[BankStatementLine, ...]

    def count(self, status: str) -> int:
        return sum(1 for l in self.lines if l.status == status)

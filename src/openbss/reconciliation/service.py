"""Use cases for bank statements: import a file (camt.053 or MT940), match its credit lines to invoices and
record them as payments, and work the unmatched queue (assign a line to an invoice or account, dismiss it).

An import is one transaction: the file, its statements, every line and every payment matched from them
are written together or not at all. A file is imported once (its SHA-256 is unique) and so is a
statement (bank account + statement id + sequence), however it is packaged; both refusals say when the
first import was. Matched payments carry an idempotency key made of the statement's identity and the
line number, so no bank line can be paid twice, even by an agent assigning a line already matched.

Money in an unmatched line is in our bank account but not yet anybody's payment: it stays out of the
receivables ledger (which is per customer account) until an agent assigns it; the queue is its record.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, time

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import service as billing
from openbss.billing.documents.export import invoice_id_of
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.payments import sepa
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from openbss.reconciliation.camt import parse_camt053
from openbss.reconciliation.model import (
    AMBIGUOUS,
    AMOUNT_MISMATCH,
    ASSIGNED,
    CREDIT,
    DISMISSED,
    FORMATS,
    MATCHED,
    SETTLED,
    STATUSES,
    UNMATCHED,
    BankStatement,
    BankStatementLine,
    Decision,
    ImportResult,
    InvoiceFacts,
    MalformedStatement,
    ParsedStatement,
    StatementLine,
    decide,
    invoice_numbers,
    payment_key,
)
from openbss.reconciliation.swift import parse_mt940
from openbss.reconciliation.tables import bank_statement, bank_statement_file, bank_statement_line

LINE_FILTERS = ("status", "reason", "direction", "statementId")
STATEMENT_FILTERS = ("bankAccount", "format")
PARSERS = {"camt053": parse_camt053, "mt940": parse_mt940}


def detect_format(content: bytes) -> str:
    """camt.053 is XML; MT940 is tagged text starting with a `:20:` (or a SWIFT envelope around one)."""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "camt053"
    if head.startswith((b":20:", b"{1:", b":NS:")) or b"\n:20:" in head[:2000]:
        return "mt940"
    raise MalformedStatement(1, "file", head[:40].decode("utf-8", "replace"),
                             "is neither camt.053 XML nor an MT940 statement")


def import_statement(uow: UnitOfWork, content: bytes, *, file_name: str | None = None,
                     format: str | None = None) -> ImportResult:
    """Import a statement file: store it, match every credit line, record the payments. All or nothing."""
    if format is not None and format not in FORMATS:
        raise InvalidValue("format", format, f"must be one of {', '.join(FORMATS)}")
    fmt = format or detect_format(content)
    sha = hashlib.sha256(content).hexdigest()
    # Two imports of one file serialize here, so the second sees the first and is refused clearly.
    uow.advisory_lock("bank-statement-file", sha)
    earlier = uow.conn.execute(sa.select(bank_statement_file).where(bank_statement_file.c.sha256 == sha)).first()
    if earlier is not None:
        raise Conflict(f"this file was already imported on {earlier.created_at:%Y-%m-%d %H:%M} UTC "
                       f"as {earlier.file_name or earlier.id} (sha256 {sha}); nothing was imported again")
    parsed = PARSERS[fmt](content)
    file_id = new_id()
    uow.conn.execute(sa.insert(bank_statement_file).values(
        id=file_id, created_at=uow.now(), sha256=sha, format=fmt, file_name=file_name, content=content))
    statements, lines = [], []
    for p in parsed:
        statement = _save_statement(uow, file_id, p)
        statements.append(statement)
        lines += [_import_line(uow, statement, line) for line in p.lines]
    result = ImportResult(file_id, tuple(statements), tuple(lines))
    audit.record(uow, "bankStatement.imported", "bankStatementFile", file_id, after={
        "fileName": file_name, "format": fmt, "sha256": sha, "statements": [s.statement_ref for s in statements],
        **{status: result.count(status) for status in STATUSES},
    })
    return result


def _save_statement(uow: UnitOfWork, file_id: uuid.UUID, p: ParsedStatement) -> BankStatement:
    uow.advisory_lock("bank-statement", f"{p.account}:{p.statement_ref}:{p.sequence}")
    earlier = uow.conn.execute(sa.select(bank_statement.c.created_at, bank_statement_file.c.file_name).join(
        bank_statement_file, bank_statement_file.c.id == bank_statement.c.file_id).where(
        bank_statement.c.bank_account == p.account, bank_statement.c.statement_ref == p.statement_ref,
        bank_statement.c.sequence == p.sequence)).first()
    if earlier is not None:
        raise Conflict(f"statement {p.statement_ref} (sequence {p.sequence}) of bank account {p.account} was "
                       f"already imported on {earlier.created_at:%Y-%m-%d %H:%M} UTC from "
                       f"{earlier.file_name or 'another file'}; nothing was imported")
    statement = BankStatement(
        id=new_id(), file_id=file_id, format=p.format, statement_ref=p.statement_ref, account=p.account,
        sequence=p.sequence, currency=p.currency, opening=p.opening, closing=p.closing, line_count=len(p.lines),
        created_at=uow.now(),
    )
    uow.conn.execute(sa.insert(bank_statement).values(
        id=statement.id, created_at=statement.created_at, file_id=file_id, format=p.format, bank_account=p.account,
        statement_ref=p.statement_ref, sequence=p.sequence, currency=p.currency,
        opening_balance=None if p.opening is None else p.opening.amount,
        closing_balance=None if p.closing is None else p.closing.amount,
        issued_at=p.created_at if p.created_at is None or p.created_at.tzinfo else p.created_at.replace(tzinfo=UTC),
        line_count=len(p.lines),
    ))
    return statement


def _facts(uow: UnitOfWork, number: str) -> InvoiceFacts | None:
    try:
        invoice = billing.get_invoice(uow, invoice_id_of(uow, number))
    except NotFound:
        return None
    open_ = {i.id: i for i in billing.open_invoices(uow, invoice.account_id)}
    remaining = open_[invoice.id].remaining if invoice.id in open_ else None
    return InvoiceFacts(invoice.id, invoice.number, invoice.account_id, invoice.currency, invoice.state, remaining)


def _received_at(uow: UnitOfWork, line: StatementLine) -> datetime:
    day = line.booking_date or line.value_date
    return uow.now() if day is None else datetime.combine(day, time(0), UTC)


def _pay(uow: UnitOfWork, statement: BankStatement, line: StatementLine, account_id: uuid.UUID,
         invoice_id: uuid.UUID | None):
    return payments.record_payment(uow, NewPayment(
        account_id=account_id,
        amount=line.amount,
        method="bankTransfer",
        received_at=_received_at(uow, line),
        external_ref=line.bank_ref or line.end_to_end_id,
        idempotency_key=payment_key(statement.account, statement.statement_ref, statement.sequence, line.line_no),
        invoice_id=invoice_id,
    ))


def _sepa_settlement(uow: UnitOfWork, line: StatementLine) -> Decision | None:
    """A booked credit naming one of our SEPA direct debit batches (its message id) is the bank paying out the
    batch: when the amount is what the batch has in transit, its collections move from IN_TRANSIT to BANK
    (`sepa.settle_batch`). None when the line names no batch of ours: it is matched to invoices instead."""
    if line.direction != CREDIT or not line.booked or line.reversal:
        return None
    named = dict.fromkeys(m for t in (line.remittance, line.end_to_end_id, line.bank_ref) if t
                          for m in sepa.batch_message_ids(t))
    transit = {m: found for m in named if (found := sepa.in_transit(uow, m)) is not None}
    if not transit:
        return None
    if len(transit) > 1:
        return Decision(UNMATCHED, AMBIGUOUS, f"names {len(transit)} SEPA batches: {', '.join(transit)}")
    (message_id, amount), = transit.items()
    if line.amount != amount:
        return Decision(UNMATCHED, AMOUNT_MISMATCH, f"{line.amount} for SEPA batch {message_id}, which has "
                                                    f"{amount} in transit")
    settled = sepa.settle_batch(uow, message_id)
    return Decision(SETTLED, message=f"settles SEPA batch {message_id}: {len(settled)} collection(s)")


def _import_line(uow: UnitOfWork, statement: BankStatement, line: StatementLine) -> BankStatementLine:
    numbers = invoice_numbers(line)
    found = {n: f for n in numbers if (f := _facts(uow, n)) is not None}
    decision = _sepa_settlement(uow, line) or decide(line, numbers, found)
    payment_id = account_id = invoice_id = None
    if decision.invoice is not None:
        account_id, invoice_id = decision.invoice.account_id, decision.invoice.id
    if decision.status == MATCHED:
        payment_id = _pay(uow, statement, line, account_id, invoice_id).id
    stored = BankStatementLine(
        id=new_id(), statement_id=statement.id, line=line, status=decision.status, reason=decision.reason,
        message=decision.message, invoice_id=invoice_id, account_id=account_id, payment_id=payment_id,
        resolved_by=None, resolved_at=None,
    )
    uow.conn.execute(sa.insert(bank_statement_line).values(**_line_row(stored), created_at=uow.now()))
    return stored


def _line_row(s: BankStatementLine) -> dict:
    line = asdict(s.line)
    amount = line.pop("amount")
    return {
        **line, "amount": amount["amount"], "currency": amount["currency"],
        "id": s.id, "statement_id": s.statement_id, "status": s.status, "reason": s.reason, "message": s.message,
        "invoice_id": s.invoice_id, "account_id": s.account_id, "payment_id": s.payment_id,
        "resolved_by": s.resolved_by, "resolved_at": s.resolved_at,
    }


_LINE_FIELDS = tuple(f for f in StatementLine.__dataclass_fields__ if f != "amount")


def _line(row: sa.Row) -> BankStatementLine:
    m = row._mapping
    line = StatementLine(**{f: m[f] for f in _LINE_FIELDS}, amount=Money(m["amount"], m["currency"]))
    return BankStatementLine(
        id=m["id"], statement_id=m["statement_id"], line=line, status=m["status"], reason=m["reason"],
        message=m["message"], invoice_id=m["invoice_id"], account_id=m["account_id"], payment_id=m["payment_id"],
        resolved_by=m["resolved_by"], resolved_at=m["resolved_at"],
    )


def _statement(row: sa.Row) -> BankStatement:
    def money(value):
        return None if value is None else Money(value, row.currency)

    return BankStatement(
        id=row.id, file_id=row.file_id, format=row.format, statement_ref=row.statement_ref,
        account=row.bank_account, sequence=row.sequence, currency=row.currency, opening=money(row.opening_balance),
        closing=money(row.closing_balance), line_count=row.line_count, created_at=row.created_at,
    )


def get_line(uow: UnitOfWork, line_id: uuid.UUID, *, for_update: bool = False) -> BankStatementLine:
    stmt = sa.select(bank_statement_line).where(bank_statement_line.c.id == line_id)
    row = uow.conn.execute(stmt.with_for_update() if for_update else stmt).first()
    if row is None:
        raise NotFound("bankStatementLine", str(line_id))
    return _line(row)


def list_lines(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
               ) -> tuple[list[BankStatementLine], int]:
    """Statement lines in import order; `status=unmatched` is the agent's queue."""
    t = bank_statement_line.c
    conditions = []
    if "status" in filters:
        if filters["status"] not in STATUSES:
            raise InvalidValue("status", filters["status"], f"must be one of {', '.join(STATUSES)}")
        conditions.append(t.status == filters["status"])
    if "reason" in filters:
        conditions.append(t.reason == filters["reason"])
    if "direction" in filters:
        conditions.append(t.direction == filters["direction"])
    if "statementId" in filters:
        conditions.append(t.statement_id == parse_id(filters["statementId"], "statementId"))
    rows, total = paged(uow.conn, sa.select(bank_statement_line).where(*conditions), offset, limit, t.id)
    return [_line(r) for r in rows], total


def get_statement(uow: UnitOfWork, statement_id: uuid.UUID) -> BankStatement:
    row = uow.conn.execute(sa.select(bank_statement).where(bank_statement.c.id == statement_id)).first()
    if row is None:
        raise NotFound("bankStatement", str(statement_id))
    return _statement(row)


def list_statements(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
                    ) -> tuple[list[BankStatement], int]:
    conditions = []
    if "bankAccount" in filters:
        conditions.append(bank_statement.c.bank_account == filters["bankAccount"])
    if "format" in filters:
        conditions.append(bank_statement.c.format == filters["format"])
    rows, total = paged(uow.conn, sa.select(bank_statement).where(*conditions), offset, limit, bank_statement.c.id)
    return [_statement(r) for r in rows], total


def _open_line(uow: UnitOfWork, line_id: uuid.UUID, action: str) -> BankStatementLine:
    line = get_line(uow, line_id, for_update=True)  # two agents on one line: the second waits, then is refused
    if line.status != UNMATCHED:
        raise Conflict(f"bank statement line {line_id} is {line.status}: only unmatched lines can be {action}")
    return line


def _resolve(uow: UnitOfWork, line: BankStatementLine, action: str, **values) -> BankStatementLine:
    values |= {"resolved_by": uow.actor, "resolved_at": uow.now()}
    uow.conn.execute(sa.update(bank_statement_line).where(bank_statement_line.c.id == line.id).values(**values))
    after = get_line(uow, line.id)
    audit.record(uow, f"bankStatementLine.{action}", "bankStatementLine", line.id,
                 before={"status": line.status, "reason": line.reason},
                 after={k: v for k, v in values.items()})
    return after


def assign_line(uow: UnitOfWork, line_id: uuid.UUID, *, invoice_id: uuid.UUID | None = None,
                account_id: uuid.UUID | None = None) -> BankStatementLine:
    """An agent says whose money an unmatched line is: record it as a payment of that invoice (its account's
    other open invoices and credit balance get what is left over) or of that account (oldest invoices first)."""
    if invoice_id is None and account_id is None:
        raise InvalidValue("invoice", None, "name an invoice or a billing account to assign the line to")
    line = _open_line(uow, line_id, "assigned")
    if invoice_id is not None:
        invoice = billing.get_invoice(uow, invoice_id, field="invoice")
        if account_id is not None and account_id != invoice.account_id:
            raise InvalidValue("account", str(account_id), f"is not the account of invoice {invoice.number}")
        account_id = invoice.account_id
    statement = get_statement(uow, line.statement_id)
    payment = _pay(uow, statement, line.line, account_id, invoice_id)
    return _resolve(uow, line, "assigned", status=ASSIGNED, account_id=account_id, invoice_id=invoice_id,
                    payment_id=payment.id)


def dismiss_line(uow: UnitOfWork, line_id: uuid.UUID, note: str) -> BankStatementLine:
    """An agent marks an unmatched line as not ours (e.g. sent to us by mistake, to be returned by the bank)."""
    if not note or not note.strip():
        raise InvalidValue("note", note, "must say why the line is not ours")
    line = _open_line(uow, line_id, "dismissed")
    return _resolve(uow, line, "dismissed", status=DISMISSED, message=note.strip())

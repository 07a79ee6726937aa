"""Use cases for credit notes and debit notes (rules in billing.corrections). Each takes a UnitOfWork, never commits.

- `issue_credit_note` credits lines of an issued invoice (all that is left on every charge line when no lines
  are given: a full credit note). It takes the account lock billing and payments take, so credits, payments and
  bill runs of one account never interleave; its number comes from the credit-note series of its issue year
  (billing.numbers). The credit first settles what is still open on the invoice (`billing.service.apply_credit`:
  the invoice's open amount falls, and so what payment allocation and dunning see); the part beyond that (the
  invoice was already paid) is a credit balance on the account: the ledger credits AR with the whole gross, so
  the account's AR balance goes negative by it, as it does for an overpayment, and it stays there for a refund
  or a later settlement (payment allocation only spreads money received over open invoices).
- Idempotency: the API's Idempotency-Key replays the first response; the service also takes an optional
  `idempotency_key` stored UNIQUE with the note, and the same key again returns the note already issued
  (a different invoice under the same key is a Conflict). Without a key, a second identical request is a new
  credit note only while the lines still have something left to credit: a repeated full credit note is
  refused ("nothing left to credit"), so money is never credited twice beyond what was charged.
- `issue_debit_note` charges more on an issued invoice, collected like an invoice (it is among
  `open_invoices`, payments settle it).
- Documents: `credit_note_document` / `debit_note_document` give the EN 16931 document (381 credit note, 383
  debit note), with the seller and buyer of the corrected invoice and a reference to it (BG-3).

Every issue writes an audit record, a journal entry (ledger.model.CorrectionPosting) and the note's e-mail
delivery (billing.delivery, sent by the worker with the PDF as invoices are) in the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import delivery, tax
from openbss.billing import service as billing
from openbss.billing.corrections import (
    CreditNote,
    DebitItem,
    DebitNote,
    LineCredit,
    NoteLine,
    check_reason,
    credit_lines,
    debit_lines,
    full_credit,
    revenue_split,
    totals,
    uncredited,
)
from openbss.billing.documents.context import (
    CREDIT_NOTE,
    DEBIT_NOTE,
    InvoiceDocument,
    PrecedingInvoice,
    build_document,
    document_of,
)
from openbss.billing.model import PRORATED_KINDS, Invoice, InvoiceLine, InvoiceTax
from openbss.billing.numbers import issue_number
from openbss.billing.periods import local_date
from openbss.billing.tables import (
    credit_note,
    credit_note_line,
    credit_note_tax,
    debit_note,
    debit_note_line,
    debit_note_tax,
)
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.ledger.model import CorrectionPosting, DeferredLine
from openbss.party import service as party
from openbss.seller import service as seller_service

NOTE_FILTERS = ("billingAccountId", "bill.id")


def credited_per_line(uow: UnitOfWork, invoice_id: uuid.UUID, currency: str) -> dict[uuid.UUID, Money]:
    """Per line of the invoice, the net its credit notes credited so far."""
    rows = uow.conn.execute(
        sa.select(credit_note_line.c.invoice_line_id, sa.func.sum(credit_note_line.c.net_amount))
        .join(credit_note, credit_note.c.id == credit_note_line.c.credit_note_id)
        .where(credit_note.c.invoice_id == invoice_id)
        .group_by(credit_note_line.c.invoice_line_id)
    )
    return {line_id: Money(amount, currency) for line_id, amount in rows}


def open_to_credit(uow: UnitOfWork, inv: Invoice) -> dict[uuid.UUID, Money]:
    return uncredited(inv.lines, credited_per_line(uow, inv.id, inv.currency), inv.currency)


def _by_key(uow: UnitOfWork, key: str) -> CreditNote | None:
    row = uow.conn.execute(sa.select(credit_note.c.id).where(credit_note.c.idempotency_key == key)).first()
    return None if row is None else get_credit_note(uow, row.id)


def _insert_lines(uow: UnitOfWork, table: sa.Table, parent: str, note_id: uuid.UUID, account_id: uuid.UUID,
                  currency: str, lines: Sequence[NoteLine], with_invoice_line: bool) -> None:
    uow.conn.execute(sa.insert(table), [
        {"id": line.id, parent: note_id, "account_id": account_id, "line_no": line.line_no,
         "description": line.description, "quantity": line.quantity, "unit": line.unit,
         "net_amount": line.net.amount, "tax_category": line.tax_category, "tax_rate": line.tax_rate,
         "currency": currency,
         **({"invoice_line_id": line.invoice_line_id} if with_invoice_line else {"product_id": line.product_id})}
        for line in lines
    ])


def _insert_taxes(uow: UnitOfWork, table: sa.Table, parent: str, note_id: uuid.UUID, account_id: uuid.UUID,
                  taxes: Sequence[InvoiceTax]) -> None:
    uow.conn.execute(sa.insert(table), [
        {parent: note_id, "account_id": account_id, "tax_category": t.tax_category, "tax_rate": t.tax_rate,
         "taxable_amount": t.taxable.amount, "tax_amount": t.tax.amount}
        for t in taxes
    ])


def _post(uow: UnitOfWork, kind: str, note_id: uuid.UUID, account_id: uuid.UUID, number: str, currency: str,
          lines: Sequence[NoteLine], tax_total: Money, gross: Money) -> None:
    recurring, usage = revenue_split(lines, currency)
    # Lines for service days (a credited recurring or discount line) reverse their deferred part and their
    # recognized part as the ledger's revenue schedule has them (ledger.model.CorrectionPosting).
    deferred = tuple(DeferredLine(line.id, line.net.amount, line.service_start, line.service_end)
                     for line in lines if line.kind in PRORATED_KINDS and line.service_start is not None)
    ledger.post_correction(uow, CorrectionPosting(
        kind=kind, note_id=note_id, account_id=account_id, number=number, posted_at=uow.now(), currency=currency,
        recurring_net=recurring.amount, usage_net=usage.amount, tax=tax_total.amount, gross=gross.amount,
        deferred=deferred, time_zone=party.get_billing_account(uow, account_id).time_zone if deferred else "UTC",
    ))


def issue_credit_note(uow: UnitOfWork, invoice_id: uuid.UUID, lines: Sequence[LineCredit] | None, reason: str, *,
                      idempotency_key: str | None = None, dispute_id: uuid.UUID | None = None,
                      field: str = "lines") -> CreditNote:
    """Credit `lines` of the invoice (None: a full credit note of what is left); see the module docstring.
    `field` names the lines in errors (the API's creditNoteLine)."""
    reason = check_reason(reason)
    if idempotency_key is not None:
        uow.advisory_lock("credit-note-key", idempotency_key)
        existing = _by_key(uow, idempotency_key)
        if existing is not None:
            if existing.invoice_id != invoice_id:
                raise Conflict(f"idempotency key {idempotency_key!r} was already used for credit note "
                               f"{existing.number} of invoice {existing.invoice_number}")
            return existing
    inv = billing.get_invoice(uow, invoice_id, field="bill.id")
    uow.advisory_lock("account", inv.account_id)
    inv = billing.get_invoice(uow, invoice_id)  # read again under the lock: payments may have settled some of it
    open_nets = open_to_credit(uow, inv)
    requests = list(lines) if lines is not None else full_credit(inv, open_nets)
    if not requests:
        raise InvalidValue("bill.id", str(invoice_id), f"invoice {inv.number} has nothing left to credit")
    note_lines = credit_lines(inv, requests, open_nets, uow.rounding, field)
    t = totals(note_lines, inv.currency, uow.rounding)
    issue_date = local_date(uow.now(), inv.time_zone)
    # What is still open on the invoice is settled first; the rest is a credit the customer holds (AR < 0).
    applied = min(t.gross, inv.remaining) if inv.remaining.amount > 0 else Money.zero(inv.currency)
    note_id, number = new_id(), issue_number(uow, "creditNote", issue_date)
    uow.conn.execute(sa.insert(credit_note).values(
        id=note_id, created_at=uow.now(), account_id=inv.account_id, invoice_id=inv.id, number=number,
        issue_date=issue_date, time_zone=inv.time_zone, currency=inv.currency, reason=reason, net_total=t.net.amount,
        tax_total=t.tax.amount, gross_total=t.gross.amount, applied_amount=applied.amount, dispute_id=dispute_id,
        idempotency_key=idempotency_key,
    ))
    _insert_lines(uow, credit_note_line, "credit_note_id", note_id, inv.account_id, inv.currency, note_lines, True)
    _insert_taxes(uow, credit_note_tax, "credit_note_id", note_id, inv.account_id, t.taxes)
    if applied.amount > 0:
        billing.apply_credit(uow, inv.id, applied)
    _post(uow, "creditNote", note_id, inv.account_id, number, inv.currency, note_lines, t.tax, t.gross)
    delivery.queue_note_email(uow, "creditNote", note_id, inv.account_id)  # e-mailed after commit, like invoices
    audit.record(uow, "creditNote.issued", "creditNote", note_id, after={
        "number": number, "invoice": inv.number, "reason": reason, "net": t.net.amount, "tax": t.tax.amount,
        "gross": t.gross.amount, "applied": applied.amount, "disputeId": dispute_id,
        "lines": [{"invoiceLineId": line.invoice_line_id, "net": line.net.amount} for line in note_lines],
    })
    return get_credit_note(uow, note_id)


def issue_debit_note(uow: UnitOfWork, invoice_id: uuid.UUID, items: Sequence[DebitItem], reason: str) -> DebitNote:
    """An additional charge on an issued invoice: its own DN number, posted and collected like an invoice; taxed
    where and how the account's invoices are (`billing.tax.place_of_supply`) at the debit note's issue date."""
    reason = check_reason(reason)
    inv = billing.get_invoice(uow, invoice_id, field="bill.id")
    uow.advisory_lock("account", inv.account_id)
    account = party.get_billing_account(uow, inv.account_id)
    issue_date = local_date(uow.now(), inv.time_zone)
    seller = seller_service.find_seller(uow)
    supply = tax.place_of_supply(seller.address.country if seller else None, account.country, account.vat_id,
                                 account.tax_exempt)
    note_lines = debit_lines(items, inv.currency, supply, issue_date, tax.rate)
    t = totals(note_lines, inv.currency, uow.rounding)
    number = issue_number(uow, "debitNote", issue_date)
    note_id = new_id()
    uow.conn.execute(sa.insert(debit_note).values(
        id=note_id, created_at=uow.now(), account_id=inv.account_id, invoice_id=inv.id, number=number,
        issue_date=issue_date, due_date=issue_date + timedelta(days=account.payment_terms_days),
        time_zone=inv.time_zone, currency=inv.currency, reason=reason, net_total=t.net.amount,
        tax_total=t.tax.amount, gross_total=t.gross.amount, amount_paid=0, state="sent",
    ))
    _insert_lines(uow, debit_note_line, "debit_note_id", note_id, inv.account_id, inv.currency, note_lines, False)
    _insert_taxes(uow, debit_note_tax, "debit_note_id", note_id, inv.account_id, t.taxes)
    _post(uow, "debitNote", note_id, inv.account_id, number, inv.currency, note_lines, t.tax, t.gross)
    delivery.queue_note_email(uow, "debitNote", note_id, inv.account_id)
    audit.record(uow, "debitNote.issued", "debitNote", note_id, after={
        "number": number, "invoice": inv.number, "reason": reason, "net": t.net.amount, "tax": t.tax.amount,
        "gross": t.gross.amount, "lines": [{"description": line.description, "net": line.net.amount}
                                           for line in note_lines],
    })
    return get_debit_note(uow, note_id)


def _taxes(uow: UnitOfWork, table: sa.Table, parent: str, note_id: uuid.UUID, currency: str) -> tuple:
    rows = uow.conn.execute(sa.select(table).where(table.c[parent] == note_id)
                            .order_by(table.c.tax_category, table.c.tax_rate))
    return tuple(InvoiceTax(r.tax_category, r.tax_rate, Money(r.taxable_amount, currency), Money(r.tax_amount, currency))
                 for r in rows)


def _invoice_number(uow: UnitOfWork, invoice_id: uuid.UUID) -> str:
    return billing.get_invoice(uow, invoice_id).number


def get_credit_note(uow: UnitOfWork, note_id: uuid.UUID) -> CreditNote:
    row = uow.conn.execute(sa.select(credit_note).where(credit_note.c.id == note_id)).first()
    if row is None:
        raise NotFound("creditNote", str(note_id))
    cur = row.currency
    invoice_lines = {line.id: line for line in billing.get_invoice(uow, row.invoice_id).lines}
    lines = tuple(
        NoteLine(id=r.id, line_no=r.line_no, description=r.description, quantity=r.quantity, unit=r.unit,
                 net=Money(r.net_amount, cur), tax_category=r.tax_category, tax_rate=r.tax_rate,
                 invoice_line_id=r.invoice_line_id, kind=invoice_lines[r.invoice_line_id].kind,
                 product_id=invoice_lines[r.invoice_line_id].product_id,
                 service_start=invoice_lines[r.invoice_line_id].service_start,
                 service_end=invoice_lines[r.invoice_line_id].service_end)
        for r in uow.conn.execute(sa.select(credit_note_line).where(credit_note_line.c.credit_note_id == note_id)
                                  .order_by(credit_note_line.c.line_no))
    )
    return CreditNote(
        id=row.id, number=row.number, account_id=row.account_id, invoice_id=row.invoice_id,
        invoice_number=_invoice_number(uow, row.invoice_id), issue_date=row.issue_date, time_zone=row.time_zone,
        currency=cur, reason=row.reason, net_total=Money(row.net_total, cur), tax_total=Money(row.tax_total, cur),
        gross_total=Money(row.gross_total, cur), applied=Money(row.applied_amount, cur), created_at=row.created_at,
        lines=lines, taxes=_taxes(uow, credit_note_tax, "credit_note_id", row.id, cur), dispute_id=row.dispute_id,
        idempotency_key=row.idempotency_key,
    )


def get_debit_note(uow: UnitOfWork, note_id: uuid.UUID) -> DebitNote:
    row = uow.conn.execute(sa.select(debit_note).where(debit_note.c.id == note_id)).first()
    if row is None:
        raise NotFound("debitNote", str(note_id))
    cur = row.currency
    lines = tuple(
        NoteLine(id=r.id, line_no=r.line_no, description=r.description, quantity=r.quantity, unit=r.unit,
                 net=Money(r.net_amount, cur), tax_category=r.tax_category, tax_rate=r.tax_rate,
                 product_id=r.product_id)
        for r in uow.conn.execute(sa.select(debit_note_line).where(debit_note_line.c.debit_note_id == note_id)
                                  .order_by(debit_note_line.c.line_no))
    )
    return DebitNote(
        id=row.id, number=row.number, account_id=row.account_id, invoice_id=row.invoice_id,
        invoice_number=_invoice_number(uow, row.invoice_id), issue_date=row.issue_date, due_date=row.due_date,
        time_zone=row.time_zone, currency=cur, reason=row.reason, net_total=Money(row.net_total, cur),
        tax_total=Money(row.tax_total, cur), gross_total=Money(row.gross_total, cur),
        amount_paid=Money(row.amount_paid, cur), state=row.state, created_at=row.created_at, lines=lines,
        taxes=_taxes(uow, debit_note_tax, "debit_note_id", row.id, cur),
    )


def _list(uow: UnitOfWork, table: sa.Table, get, filters: dict[str, str], offset: int, limit: int):
    conditions = []
    if "billingAccountId" in filters:
        conditions.append(table.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    if "bill.id" in filters:
        conditions.append(table.c.invoice_id == parse_id(filters["bill.id"], "bill.id"))
    rows, count = paged(uow.conn, sa.select(table.c.id).where(*conditions), offset, limit, table.c.id)
    return [get(uow, r.id) for r in rows], count


def list_credit_notes(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
                      ) -> tuple[list[CreditNote], int]:
    """Credit notes, filtered by billingAccountId and bill.id (the corrected invoice), oldest first."""
    return _list(uow, credit_note, get_credit_note, filters, offset, limit)


def list_debit_notes(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
                     ) -> tuple[list[DebitNote], int]:
    """Debit notes, filtered by billingAccountId and bill.id (the invoice they add to), oldest first."""
    return _list(uow, debit_note, get_debit_note, filters, offset, limit)


def _as_invoice(note: CreditNote | DebitNote, original: Invoice) -> Invoice:
    """The note in the shape documents render (billing.documents.context): amounts positive, the corrected
    invoice's bill period, due on issue for a credit note."""
    lines = tuple(
        InvoiceLine(id=line.id, line_no=line.line_no, kind=line.kind, description=line.description,
                    product_id=line.product_id, offering_id=None, usage_type=None, quantity=line.quantity,
                    unit=line.unit, service_start=line.service_start, service_end=line.service_end, net=line.net,
                    tax_category=line.tax_category, tax_rate=line.tax_rate)
        for line in note.lines
    )
    debit = isinstance(note, DebitNote)
    return Invoice(
        id=note.id, number=note.number, account_id=note.account_id, period_start=original.period_start,
        period_end=original.period_end, issue_date=note.issue_date,
        due_date=note.due_date if debit else note.issue_date, time_zone=note.time_zone, currency=note.currency,
        net_total=note.net_total, tax_total=note.tax_total, gross_total=note.gross_total,
        amount_paid=note.amount_paid if debit else Money.zero(note.currency), state="sent",
        created_at=note.created_at, lines=lines, taxes=note.taxes,
    )


def _document(uow: UnitOfWork, note: CreditNote | DebitNote, type_code: str) -> InvoiceDocument:
    original = document_of(uow, note.invoice_id)  # the seller and buyer as the corrected invoice names them
    account = party.get_billing_account(uow, note.account_id)
    preceding = [PrecedingInvoice(original.invoice.number, original.invoice.issue_date)]
    return build_document(_as_invoice(note, original.invoice), original.seller, original.buyer,
                          tax_exemption=account.tax_exemption, type_code=type_code, preceding=preceding)


def credit_note_document(uow: UnitOfWork, note_id: uuid.UUID) -> InvoiceDocument:
    """The EN 16931 credit note (381) referencing the invoice it corrects."""
    return _document(uow, get_credit_note(uow, note_id), CREDIT_NOTE)


def debit_note_document(uow: UnitOfWork, note_id: uuid.UUID) -> InvoiceDocument:
    """The EN 16931 debit note (383, an Invoice document) referencing the invoice it adds to."""
    return _document(uow, get_debit_note(uow, note_id), DEBIT_NOTE)

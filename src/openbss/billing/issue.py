"""Issuing drafted invoices, set-based: what turns a draft (or approved) invoice into a legal document.

`issue_invoices` issues many invoices in the caller's transaction (a bill run's issue job, or `bill_account`
for one): it locks the invoices still unissued (FOR UPDATE: an invoice issued meanwhile, by a retried job, is
skipped), dates each on the issue day in the invoice's zone with the payment terms it was drafted with (due -
issue date of the draft: what the operator reviewed is what is issued), takes their numbers as one block of the
gapless series (billing.numbers), and writes in bulk the e-mail deliveries, the customerBill created events,
the "invoice.issued" audit records and last the journal entries (`ledger.post_invoices`: the chain lock that
every batch shares is held only until commit). VAT was fixed when the invoice was drafted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import delivery
from openbss.billing.lifecycle import DRAFT_STATES
from openbss.billing.model import PRORATED_KINDS, Invoice
from openbss.billing.numbers import issue_numbers
from openbss.billing.service import BILL_API, _issued_image, _with_taxes
from openbss.billing.tables import invoice, invoice_line
from openbss.core.events import ResourceEvent
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.ledger.model import DeferredLine, InvoicePosting

ISSUED = "sent"

_DATE = sa.text("""
    UPDATE invoice SET number = v.number, issue_date = v.issue_date, due_date = v.due_date, state = 'sent'
    FROM unnest(CAST(:ids AS uuid[]), CAST(:numbers AS text[]), CAST(:issued AS date[]), CAST(:due AS date[]))
         AS v(id, number, issue_date, due_date)
    WHERE invoice.id = v.id
""")


def _nets(uow: UnitOfWork, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Decimal, Decimal, int]]:
    """Per invoice: (net of every line but usage, net of usage lines, number of lines)."""
    line = invoice_line.c
    usage = line.kind == "usage"
    rows = uow.conn.execute(
        sa.select(line.invoice_id,
                  sa.func.coalesce(sa.func.sum(line.net_amount).filter(~usage), 0),
                  sa.func.coalesce(sa.func.sum(line.net_amount).filter(usage), 0), sa.func.count())
        .where(line.invoice_id == sa.any_(sa.cast(ids, sa.ARRAY(sa.UUID)))).group_by(line.invoice_id)
    )
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def issue_invoices(uow: UnitOfWork, invoice_ids: Sequence[uuid.UUID], *, approved_by: str) -> list[Invoice]:
    """Issue those of `invoice_ids` that are still drafts or approved, in id order; the issued headers with their
    VAT breakdown (no lines). Invoices already issued are left alone, so a retried job issues nothing twice.
    `approved_by` (who approved them: the bill run's approver, or whoever billed one account) goes on the audit
    record."""
    rows = uow.conn.execute(
        sa.select(invoice).where(invoice.c.id.in_(invoice_ids), invoice.c.state.in_(DRAFT_STATES))
        .order_by(invoice.c.id).with_for_update()
    ).all()
    if not rows:
        return []
    now = uow.now()
    issued: dict[uuid.UUID, date] = {r.id: now.astimezone(ZoneInfo(r.time_zone)).date() for r in rows}
    due = {r.id: issued[r.id] + (r.due_date - r.issue_date) for r in rows}
    # Everything that needs no number first: the number series is one lock all issuing batches share, held from
    # taking the block to commit, so the work done under it is kept to the writes that carry the numbers.
    drafts = _with_taxes(uow, rows)
    ids = [d.id for d in drafts]
    nets, deferred = _nets(uow, ids), _deferred_lines(uow, ids)
    delivery.queue_emails(uow, drafts)  # sent by the worker after commit (billing/delivery.py)
    numbers = issue_numbers(uow, "invoice", [issued[r.id] for r in rows])
    uow.conn.execute(_DATE, {"ids": [r.id for r in rows], "numbers": numbers, "issued": [issued[r.id] for r in rows],
                             "due": [due[r.id] for r in rows]})
    invoices = [replace(d, number=n, issue_date=issued[d.id], due_date=due[d.id], state=ISSUED)
                for d, n in zip(drafts, numbers, strict=True)]
    for inv in invoices:
        # The event carries the invoice as issued, so the outbox does not read it back.
        uow.emit(ResourceEvent.created(BILL_API, "customerBill", inv.id, last=inv))
    audit.record_many(uow, "invoice.issued", "invoice", [
        (inv.id, {**_issued_image(inv, f"{inv.period_start:%Y-%m}", approved_by), "lines": nets[inv.id][2]})
        for inv in invoices])
    ledger.post_invoices(uow, [_posting(inv, nets[inv.id][0], nets[inv.id][1], now, deferred.get(inv.id, ()))
                               for inv in invoices])
    return invoices


def _deferred_lines(uow: UnitOfWork, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[DeferredLine, ...]]:
    """Per invoice, its lines covering service days (recurring, their discounts and credits): the ledger
    recognizes them over those days, deferring the part for days not over yet (ledger.model.DeferredLine)."""
    line = invoice_line.c
    rows = uow.conn.execute(
        sa.select(line.invoice_id, line.id, line.net_amount, line.service_start, line.service_end)
        .where(line.invoice_id == sa.any_(sa.cast(ids, sa.ARRAY(sa.UUID))), line.kind.in_(PRORATED_KINDS),
               line.service_start.is_not(None))
        .order_by(line.id)
    )
    result: dict[uuid.UUID, list[DeferredLine]] = {}
    for r in rows:
        result.setdefault(r.invoice_id, []).append(DeferredLine(r.id, r.net_amount, r.service_start, r.service_end))
    return {invoice_id: tuple(lines) for invoice_id, lines in result.items()}


def _posting(inv: Invoice, recurring_net: Decimal, usage_net: Decimal, posted_at: datetime,
             deferred: tuple[DeferredLine, ...] = ()) -> InvoicePosting:
    # The chart has two revenue accounts: one-time charges, fees, discounts and credits count with recurring.
    return InvoicePosting(
        invoice_id=inv.id, account_id=inv.account_id, number=inv.number, posted_at=posted_at, currency=inv.currency,
        recurring_net=recurring_net, usage_net=usage_net, tax=inv.tax_total.amount, gross=inv.gross_total.amount,
        deferred=deferred, time_zone=inv.time_zone,
    )

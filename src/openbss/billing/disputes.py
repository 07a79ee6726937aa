"""Disputes on issued invoices: opened by the customer or an agent on lines, held out of collections while open.

States: open -> resolved (credited: a credit note for the agreed amounts, at most what was disputed per line)
| rejected (closed, nothing credited; the held amount is collectible again). A dispute names lines of one
invoice, each with the net amount disputed; it cannot claim more of a line than is still left after credit
notes and other open disputes of that line. While open it holds the gross of its lines (net + VAT per
group, as the credit note settling it in full would be: billing.corrections) out of collections:
`billing.service.open_invoices` reports remaining - held, which payment allocation and dunning read, and
`disputed_amount` tells what an invoice has held. Every step writes an audit record.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import correction_service as corrections_service
from openbss.billing import service as billing
from openbss.billing.corrections import (
    Dispute,
    DisputeLine,
    LineCredit,
    check_raised_by,
    check_reason,
    credit_lines,
    totals,
)
from openbss.billing.holds import disputed_amounts
from openbss.billing.tables import dispute, dispute_line
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork

DISPUTE_FILTERS = ("billingAccountId", "bill.id", "state")


def disputed_amount(uow: UnitOfWork, invoice_id: uuid.UUID) -> Money:
    """The gross the invoice's open disputes hold out of collections (zero when none is open)."""
    inv = billing.get_invoice(uow, invoice_id)
    return Money(disputed_amounts(uow, [invoice_id]).get(invoice_id, Decimal(0)), inv.currency)


def _held_per_line(uow: UnitOfWork, invoice_id: uuid.UUID) -> dict[uuid.UUID, Decimal]:
    rows = uow.conn.execute(
        sa.select(dispute_line.c.invoice_line_id, sa.func.sum(dispute_line.c.amount))
        .join(dispute, dispute.c.id == dispute_line.c.dispute_id)
        .where(dispute.c.invoice_id == invoice_id, dispute.c.state == "open")
        .group_by(dispute_line.c.invoice_line_id)
    )
    return dict(rows.all())


def open_dispute(uow: UnitOfWork, invoice_id: uuid.UUID, lines: Mapping[uuid.UUID, Decimal], reason: str,
                 raised_by: str, field: str = "lines") -> Dispute:
    """Open a dispute on `lines` ({invoice line id: net amount disputed}) of the invoice; `field` names them in
    errors (the API's disputeLine)."""
    reason, raised_by = check_reason(reason), check_raised_by(raised_by)
    inv = billing.get_invoice(uow, invoice_id, field="bill.id")
    uow.advisory_lock("account", inv.account_id)
    held = _held_per_line(uow, inv.id)
    open_nets = {line_id: left - Money(held.get(line_id, 0), inv.currency)
                 for line_id, left in corrections_service.open_to_credit(uow, inv).items()}
    # The lines a full settlement would credit: the same checks and the same VAT as that credit note.
    credited = credit_lines(inv, [LineCredit(line_id, amount=amount) for line_id, amount in lines.items()],
                            open_nets, uow.rounding, field)
    held_gross = totals(credited, inv.currency, uow.rounding).gross
    dispute_id = new_id()
    uow.conn.execute(sa.insert(dispute).values(
        id=dispute_id, created_at=uow.now(), account_id=inv.account_id, invoice_id=inv.id, state="open",
        raised_by=raised_by, reason=reason, held_amount=held_gross.amount, currency=inv.currency,
    ))
    uow.conn.execute(sa.insert(dispute_line), [
        {"dispute_id": dispute_id, "invoice_line_id": line.invoice_line_id, "account_id": inv.account_id,
         "amount": line.net.amount}
        for line in credited
    ])
    audit.record(uow, "dispute.opened", "dispute", dispute_id, after={
        "invoice": inv.number, "raisedBy": raised_by, "reason": reason, "held": held_gross.amount,
        "lines": {str(line.invoice_line_id): line.net.amount for line in credited},
    })
    return get_dispute(uow, dispute_id)


def _open_for_update(uow: UnitOfWork, dispute_id: uuid.UUID) -> Dispute:
    found = get_dispute(uow, dispute_id)
    uow.advisory_lock("account", found.account_id)
    uow.conn.execute(sa.select(dispute.c.id).where(dispute.c.id == dispute_id).with_for_update())
    current = get_dispute(uow, dispute_id)
    if current.state != "open":
        raise Conflict(f"dispute {dispute_id} is {current.state} already")
    return current


def _close(uow: UnitOfWork, d: Dispute, state: str, resolution: str, credit_note_id: uuid.UUID | None) -> Dispute:
    uow.conn.execute(sa.update(dispute).where(dispute.c.id == d.id).values(
        state=state, resolved_at=uow.now(), resolution=resolution, credit_note_id=credit_note_id))
    audit.record(uow, f"dispute.{state}", "dispute", d.id, before={"state": d.state, "held": d.held.amount},
                 after={"state": state, "resolution": resolution, "creditNoteId": credit_note_id})
    return get_dispute(uow, d.id)


def resolve_dispute(uow: UnitOfWork, dispute_id: uuid.UUID, resolution: str,
                    agreed: Mapping[uuid.UUID, Decimal] | None = None) -> Dispute:
    """Resolve in the customer's favour: a credit note for `agreed` ({line id: net}, each at most what was
    disputed on that line; None: all that was disputed), which releases the hold and credits the invoice."""
    resolution = check_reason(resolution, "resolution")
    d = _open_for_update(uow, dispute_id)
    disputed = {line.invoice_line_id: line.amount for line in d.lines}
    agreed = {line_id: amount.amount for line_id, amount in disputed.items()} if agreed is None else agreed
    for line_id, amount in agreed.items():
        if line_id not in disputed:
            raise InvalidValue("lines.lineId", str(line_id), f"is not a line of dispute {dispute_id}")
        if amount > disputed[line_id].amount:
            raise InvalidValue("lines.amount", amount, f"exceeds the {disputed[line_id]} disputed on that line")
    # Closed first, so the hold is released when the credit note settles the invoice.
    closed = _close(uow, d, "resolved", resolution, None)
    note = corrections_service.issue_credit_note(
        uow, d.invoice_id, [LineCredit(line_id, amount=amount) for line_id, amount in agreed.items()],
        f"Dispute resolved: {resolution}", dispute_id=d.id)
    uow.conn.execute(sa.update(dispute).where(dispute.c.id == d.id).values(credit_note_id=note.id))
    audit.record(uow, "dispute.credited", "dispute", d.id, before={"creditNoteId": closed.credit_note_id},
                 after={"creditNoteId": note.id, "creditNote": note.number, "gross": note.gross_total.amount})
    return get_dispute(uow, d.id)


def reject_dispute(uow: UnitOfWork, dispute_id: uuid.UUID, resolution: str) -> Dispute:
    """Close the dispute without credit: the held amount is collectible again."""
    resolution = check_reason(resolution, "resolution")
    return _close(uow, _open_for_update(uow, dispute_id), "rejected", resolution, None)


def get_dispute(uow: UnitOfWork, dispute_id: uuid.UUID) -> Dispute:
    row = uow.conn.execute(sa.select(dispute).where(dispute.c.id == dispute_id)).first()
    if row is None:
        raise NotFound("dispute", str(dispute_id))
    return _dispute(uow, row)


def _dispute(uow: UnitOfWork, row: sa.Row) -> Dispute:
    lines = tuple(
        DisputeLine(r.invoice_line_id, Money(r.amount, row.currency))
        for r in uow.conn.execute(sa.select(dispute_line).where(dispute_line.c.dispute_id == row.id)
                                  .order_by(dispute_line.c.invoice_line_id))
    )
    return Dispute(
        id=row.id, account_id=row.account_id, invoice_id=row.invoice_id, state=row.state, raised_by=row.raised_by,
        reason=row.reason, held=Money(row.held_amount, row.currency), created_at=row.created_at, lines=lines,
        resolved_at=row.resolved_at, resolution=row.resolution, credit_note_id=row.credit_note_id,
    )


def list_disputes(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Dispute], int]:
    """Disputes filtered by billingAccountId, bill.id (the invoice) and state, oldest first."""
    conditions = []
    if "billingAccountId" in filters:
        conditions.append(dispute.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    if "bill.id" in filters:
        conditions.append(dispute.c.invoice_id == parse_id(filters["bill.id"], "bill.id"))
    if "state" in filters:
        conditions.append(dispute.c.state == filters["state"])
    rows, count = paged(uow.conn, sa.select(dispute).where(*conditions), offset, limit, dispute.c.id)
    return [_dispute(uow, r) for r in rows], count



"""What is held out of collections, per invoice: open disputes (billing.disputes) and bill holds (billing.bill_holds).

Read by `billing.service.open_invoices` (payment allocation and dunning see the collectible amount), by dunning and
by `billing.disputes`; a module of its own so they can all read it without importing each other.

A dispute holds the gross of its disputed lines; a bill hold (TMF678 customerBill state "onHold") holds the whole
open amount of its invoice (gross less what was settled), whatever disputes hold besides. The invoice row itself
never changes: while a hold is open the API reports the bill's state as "onHold" (`with_hold_state`, `state_is`)
and its stored state stays the one payments give (sent, partiallyPaid, settled), which a release returns to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace

import sqlalchemy as sa

from openbss.billing.lifecycle import ISSUED_STATES
from openbss.billing.model import Invoice
from openbss.billing.request_tables import bill_hold
from openbss.billing.tables import dispute, invoice
from openbss.db.uow import UnitOfWork

HELD_STATE = "onHold"  # TMF678 CustomerBill stateValue


def _open_holds() -> sa.Select:
    return sa.select(bill_hold.c.invoice_id).where(bill_hold.c.released_at.is_(None))


def disputed_amounts(uow: UnitOfWork, invoice_ids: Iterable[uuid.UUID]) -> dict:
    """{invoice id: Decimal gross held by its open disputes}; invoices without an open dispute are absent."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = uow.conn.execute(
        sa.select(dispute.c.invoice_id, sa.func.sum(dispute.c.held_amount))
        .where(dispute.c.invoice_id.in_(ids), dispute.c.state == "open")
        .group_by(dispute.c.invoice_id)
    )
    return dict(rows.all())


def held_amounts(uow: UnitOfWork, invoice_ids: Iterable[uuid.UUID]) -> dict:
    """{invoice id: Decimal held out of collections}: what open disputes hold, or, on an invoice with an open bill
    hold, its whole open amount (gross - amount_paid). Invoices holding nothing are absent."""
    ids = list(invoice_ids)
    held = disputed_amounts(uow, ids)
    if ids:
        on_hold = uow.conn.execute(
            sa.select(invoice.c.id, invoice.c.gross_total - invoice.c.amount_paid)
            .where(invoice.c.id.in_(ids), invoice.c.id.in_(_open_holds()))
        )
        held.update(on_hold.all())
    return held


def held_invoice_ids(uow: UnitOfWork, invoice_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(invoice_ids)
    if not ids:
        return set()
    return set(uow.conn.execute(_open_holds().where(bill_hold.c.invoice_id.in_(ids))).scalars())


def with_hold_state(uow: UnitOfWork, invoices: list[Invoice]) -> list[Invoice]:
    """The invoices as the API reports them: state "onHold" while a bill hold is open (one query for a page)."""
    # Drafts are never held: a bill run reading its drafts pays no query.
    held = held_invoice_ids(uow, [inv.id for inv in invoices if inv.state in ISSUED_STATES])
    return [replace(inv, state=HELD_STATE) if inv.id in held else inv for inv in invoices]


def state_is(value: str) -> sa.ColumnElement[bool]:
    """The `state` filter on invoices as the API reports states: "onHold" is an open hold, any other state is the
    stored one on an invoice not held."""
    if value == HELD_STATE:
        return invoice.c.id.in_(_open_holds())
    return sa.and_(invoice.c.state == value, invoice.c.id.notin_(_open_holds()))

"""Collections holds on issued bills (TMF678 PATCH customerBill {"state": "onHold"}), released by PATCHing back the
state the bill's payments give (sent, partiallyPaid or settled).

A hold is a `bill_hold` row, never a change to the invoice (issued invoices are immutable): while it is open the
API reports the bill "onHold" and collections (payment allocation, dunning) leave its whole open amount alone
(billing.holds). Holding a bill that is already held, or releasing one that is not, changes nothing (a PATCH may
be retried). A draft cannot be held (it is not owed yet), nor a settled bill (nothing is left to collect). Each
hold and release locks the account as payments do, writes an audit record and emits CustomerBillStateChangeEvent.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import service
from openbss.billing.holds import HELD_STATE, held_invoice_ids
from openbss.billing.lifecycle import DRAFT_STATES, ISSUED_STATES
from openbss.billing.model import Invoice
from openbss.billing.request_tables import bill_hold
from openbss.billing.tables import invoice
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork

API_REASON = "held through TMF678 (customerBill state onHold)"


def _issued(uow: UnitOfWork, invoice_id: uuid.UUID, action: str) -> sa.Row:
    """The invoice row (its stored state, the one payments give), once the account is locked; a draft is refused."""
    row = uow.conn.execute(sa.select(invoice.c.account_id).where(invoice.c.id == invoice_id)).first()
    if row is None:
        raise NotFound("customerBill", str(invoice_id))
    uow.advisory_lock("account", row.account_id)  # as payments: holds and settlements of one account serialized
    row = uow.conn.execute(sa.select(invoice.c.id, invoice.c.account_id, invoice.c.number, invoice.c.state)
                           .where(invoice.c.id == invoice_id)).one()
    if row.state in DRAFT_STATES:
        raise Conflict(f"customerBill {invoice_id} is a {row.state} invoice, not issued yet: it cannot be {action}")
    return row


def _changed(uow: UnitOfWork, row: sa.Row, action: str, before: str, after: str) -> None:
    audit.record(uow, f"invoice.{action}", "invoice", row.id, before={"state": before}, after={"state": after})
    uow.emit(ResourceEvent.state_changed(service.BILL_API, "customerBill", row.id))


def hold_bill(uow: UnitOfWork, invoice_id: uuid.UUID, reason: str = API_REASON) -> Invoice:
    """Put an issued bill on hold: collections skip its open amount until `release_bill_hold`."""
    row = _issued(uow, invoice_id, "held")
    if row.state not in ISSUED_STATES or row.state == "settled":
        raise Conflict(f"customerBill {row.number} is {row.state}: nothing is left to collect, so there is "
                       "nothing to hold")
    if not held_invoice_ids(uow, [row.id]):
        uow.conn.execute(sa.insert(bill_hold).values(
            id=new_id(), invoice_id=row.id, account_id=row.account_id, reason=reason, held_at=uow.now(),
            actor=uow.actor))
        _changed(uow, row, "held", row.state, HELD_STATE)
    return service.get_invoice(uow, row.id)


def release_bill_hold(uow: UnitOfWork, invoice_id: uuid.UUID, state: str) -> Invoice:
    """Release the bill's open hold; `state` must be the state its payments give, which the bill reports again."""
    row = _issued(uow, invoice_id, "released")
    if state != row.state:
        raise InvalidValue("state", state, f"is not the state of customerBill {row.number}: its payments make it "
                           f"{row.state}, so a release sets state {row.state!r}")
    released = uow.conn.execute(
        sa.update(bill_hold).where(bill_hold.c.invoice_id == row.id, bill_hold.c.released_at.is_(None))
        .values(released_at=uow.now(), released_by=uow.actor)
    )
    if released.rowcount:
        _changed(uow, row, "holdReleased", HELD_STATE, row.state)
    return service.get_invoice(uow, row.id)

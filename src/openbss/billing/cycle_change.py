"""Whether a billing account's cycle may change, given what is invoiced already (called by party.service).

Decision: a change of frequency, alignment or anchor month takes effect at the next period start, which is where
the account's last invoice (regular or final) ends. It is accepted when the new cycle has a period starting
there, so periods never overlap an invoiced one and leave no gap; otherwise it is refused, naming the date the
new cycle would have to start on. An account without invoices may change freely. (The bill-cycle day and zone
cannot change once an account is active: party.service.)

This module reads billing's own table only and imports no other domain's service, so the party domain can
call it without an import cycle (billing.service imports party.service).
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from openbss.billing.periods import BillCycle
from openbss.billing.tables import invoice
from openbss.core.errors import Conflict
from openbss.db.uow import UnitOfWork


def last_billed_until(uow: UnitOfWork, account_id: uuid.UUID) -> date | None:
    """The first day after the account's last invoiced period (None: never invoiced)."""
    return uow.conn.execute(sa.select(sa.func.max(invoice.c.period_end)).where(invoice.c.account_id == account_id)
                            ).scalar_one()


def check_cycle_change(uow: UnitOfWork, account_id: uuid.UUID, number: str, before: BillCycle,
                       after: BillCycle) -> None:
    """Refuse a new cycle that has no period starting where the invoiced periods end."""
    if (before.months, before.origin_month) == (after.months, after.origin_month):
        return
    until = last_billed_until(uow, account_id)
    if until is None or (until.day == after.bill_cycle_day and after.starts_in(until.year, until.month)):
        return
    what = f"{after.frequency}, {after.alignment}" + (
        f" from {after.anchor:%Y-%m}" if after.alignment == "anniversary" and after.anchor else "")
    raise Conflict(
        f"billStructure.cycleSpecification of billing account {number} cannot change to {what}: it is invoiced up "
        f"to {until.isoformat()}, and the new cycle has no period starting then (the periods would overlap an "
        f"invoiced one or leave days unbilled); change it when the next period starts in one of the new cycle's "
        f"months, or anchor an anniversary cycle at {until:%Y-%m}"
    )

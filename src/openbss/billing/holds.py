"""What open disputes hold out of collections, per invoice (billing.disputes opens and closes them).

Read by `billing.service.open_invoices` (payment allocation and dunning see the collectible amount) and by
`billing.disputes`; a module of its own so both can read it without importing each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from openbss.billing.tables import dispute
from openbss.db.uow import UnitOfWork


def held_amounts(uow: UnitOfWork, invoice_ids: Iterable[uuid.UUID]) -> dict:
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

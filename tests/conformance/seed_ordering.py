"""Products for the TMF637 kit, which only reads: it takes the ids and statuses of the first two products in
the list and reads them back by `id` and `status`. Two statuses, so the status filter is exercised too."""

from __future__ import annotations

import sqlalchemy as sa

from openbss.db.uow import unit_of_work
from openbss.ordering import service as ordering
from tests import factories


def seed_products(engine: sa.Engine) -> None:
    with unit_of_work(engine, actor="conformance-seed") as u:
        account = factories.account(u)
        offering = factories.offering(u)
        factories.subscribe(u, account.id, offering.id, "+4915100000001")
        suspended = factories.subscribe(u, account.id, offering.id, "+4915100000002")
        ordering.suspend_product(u, suspended.id, charge_during_suspension=True, reason="conformance seed")

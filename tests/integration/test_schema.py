"""The migrations build exactly the schema the code declares, and the database refuses edits of history."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openbss.audit.tables import audit_record
from openbss.billing import service as billing
from openbss.billing.tables import invoice, invoice_line
from openbss.ledger.tables import journal_line
from openbss.schema import metadata
from tests import factories


def test_migrations_match_the_declared_tables(engine):
    with engine.connect() as conn:
        # procrastinate's tables are its own packaged schema (migration 0017), not declared here.
        ours = lambda name, kind, parent: not (kind == "table" and name.startswith("procrastinate"))  # noqa: E731
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_name": ours}),
                                metadata)
    assert diff == []


@pytest.fixture
def issued(uow, clock):
    clock.move_to(datetime(2026, 10, 1, 9, tzinfo=UTC))
    with uow() as u:
        acc = factories.account(u)
        factories.subscribe(u, acc.id, factories.offering(u).id, "+4915100000009")
    clock.move_to(datetime(2026, 11, 1, 2, tzinfo=UTC))
    with uow() as u:
        return billing.bill_account(u, acc.id, "2026-10")


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(invoice).values(net_total=Decimal("1.00")),
        sa.update(invoice).values(number="INV-FAKE"),
        sa.delete(invoice),
        sa.update(invoice_line).values(net_amount=Decimal("0")),
        sa.delete(invoice_line),
        sa.update(journal_line).values(account_id=None),
        sa.delete(journal_line),
        sa.update(audit_record).values(actor="someone else"),
        sa.delete(audit_record),
    ],
    ids=lambda s: str(s).split("\n")[0][:40],
)
def test_history_cannot_be_edited(engine, issued, statement):
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError, match="not allowed"):
        conn.execute(statement)


def test_settlement_fields_may_change(engine, issued):
    with engine.begin() as conn:
        conn.execute(sa.update(invoice).where(invoice.c.id == issued.id).values(state="settled",
                                                                                 amount_paid=invoice.c.gross_total))

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbss.audit.service import trail
from openbss.core.clock import FixedClock
from openbss.core.errors import Conflict
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.ledger.model import AR, InvoicePosting, PaymentPosting
from openbss.ledger.tables import journal_entry, journal_line

AT = datetime(2026, 10, 1, tzinfo=UTC)
D = Decimal


def inv(account_id, recurring, usage, tax, number="INV-2026-000001", invoice_id=None):
    gross = D(recurring) + D(usage) + D(tax)
    return InvoicePosting(invoice_id or new_id(), account_id, number, AT, "EUR", D(recurring), D(usage), D(tax), gross)


def test_invoice_then_payment_moves_ar(uow):
    account = new_id()
    with uow() as u:
        assert ledger.ar_balance(u, account) is None
        ledger.post_invoice(u, inv(account, "30.00", "4.20", "6.50"))
    with uow() as u:
        assert ledger.ar_balance(u, account) == Money.of("40.70", "EUR")  # 30.00 + 4.20 + 6.50
        posted = ledger.post_payment(u, PaymentPosting(new_id(), account, AT, "EUR", D("25.00")))
    with uow() as u:
        assert ledger.ar_balance(u, account) == Money.of("15.70", "EUR")  # 40.70 - 25.00
        assert ledger.ar_balances(u) == {account: Money.of("15.70", "EUR")}
        tb = ledger.trial_balance(u)
        # debits: AR 40.70 + Bank 25.00 = 65.70; credits: 30.00 + 4.20 + 6.50 + AR 25.00 = 65.70
        assert tb.per_currency == {"EUR": (D("65.70"), D("65.70"))}
        assert tb.balanced and tb.chain_ok
        assert posted.seq == 2
        assert [r["action"] for r in trail(u, posted.id)] == ["journalEntry.posted"]


def test_repost_of_same_source_is_a_no_op(uow):
    account = new_id()
    posting = inv(account, "10.00", "0", "1.90")
    with uow() as u:
        first = ledger.post_invoice(u, posting)
    with uow() as u:
        again = ledger.post_invoice(u, posting)
        assert (again.id, again.seq, again.hash) == (first.id, 1, first.hash)
        assert u.conn.execute(sa.select(sa.func.count()).select_from(journal_entry)).scalar_one() == 1
        assert u.conn.execute(sa.select(sa.func.count()).select_from(journal_line)).scalar_one() == 3
        assert ledger.ar_balance(u, account) == Money.of("11.90", "EUR")  # 10.00 + 1.90, once
    with pytest.raises(Conflict, match="different amounts"), uow() as u:
        ledger.post_invoice(u, inv(account, "10.00", "0", "2.00", invoice_id=posting.invoice_id))


# Someone with superuser rights can switch the append-only triggers off; the hash chain still catches them.
BYPASS_TRIGGERS = sa.text("SET LOCAL session_replication_role = replica")


def test_chain_links_entries_and_detects_tampering(uow, engine):
    account = new_id()
    with uow() as u:
        a = ledger.post_invoice(u, inv(account, "30.00", "0", "5.70"))
        b = ledger.post_payment(u, PaymentPosting(new_id(), account, AT, "EUR", D("35.70")))
        assert b.prev_hash == a.hash and a.prev_hash == "0" * 64
        assert ledger.verify_chain(u)
    tampers = [
        sa.update(journal_line).where(journal_line.c.gl_account == AR, journal_line.c.debit > 0).values(debit=D("3.00")),
        sa.update(journal_entry).where(journal_entry.c.seq == 1).values(posted_at=datetime(2025, 1, 1, tzinfo=UTC)),
        sa.update(journal_line).where(journal_line.c.gl_account == AR, journal_line.c.debit > 0).values(account_id=new_id()),
        sa.delete(journal_line).where(journal_line.c.entry_id == b.id),
        sa.update(journal_entry).where(journal_entry.c.seq == 2).values(seq=3),
    ]
    for statement in tampers:
        with engine.connect() as conn, conn.begin() as tx:
            conn.execute(BYPASS_TRIGGERS)
            conn.execute(statement)
            assert not ledger.verify_chain(UnitOfWork(conn, FixedClock(AT), "test")), statement
            tx.rollback()
    with uow() as u:
        assert ledger.verify_chain(u)


amounts = st.decimals(min_value=0, max_value=10**7, places=2)
postings = st.lists(
    st.tuples(amounts, amounts, amounts, st.lists(amounts.filter(bool), max_size=3)), min_size=1, max_size=5
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=postings, tamper=st.integers(min_value=0), delta=amounts.filter(bool))
def test_any_postings_keep_the_books_balanced(uow, engine, batch, tamper, delta):
    # Examples accumulate in one database: the books must stay balanced and the chain whole across all of them.
    with uow() as u:
        for recurring, usage, tax, payments in batch:
            account = new_id()
            ledger.post_invoice(u, inv(account, recurring, usage, tax))
            for p in payments:
                ledger.post_payment(u, PaymentPosting(new_id(), account, AT, "EUR", p))
            expected = recurring + usage + tax - sum(payments, D(0))
            assert ledger.ar_balance(u, account) in (None, Money(expected, "EUR"))
        tb = ledger.trial_balance(u)
        assert tb.balanced and tb.chain_ok
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(BYPASS_TRIGGERS)
        ids = conn.execute(sa.select(journal_line.c.id).order_by(journal_line.c.id)).scalars().all()
        if ids:
            line = ids[tamper % len(ids)]
            conn.execute(
                sa.update(journal_line).where(journal_line.c.id == line).values(
                    debit=sa.case((journal_line.c.debit > 0, journal_line.c.debit + delta), else_=0),
                    credit=sa.case((journal_line.c.credit > 0, journal_line.c.credit + delta), else_=0),
                )
            )
            assert not ledger.verify_chain(UnitOfWork(conn, FixedClock(AT), "test"))
        tx.rollback()

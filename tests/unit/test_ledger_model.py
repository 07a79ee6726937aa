from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.ledger.model import (
    AR,
    BANK,
    GENESIS_HASH,
    REVENUE_RECURRING,
    REVENUE_USAGE,
    VAT,
    InvoicePosting,
    JournalLine,
    PaymentPosting,
    entry_hash,
)

AT = datetime(2026, 10, 1, tzinfo=UTC)
D = Decimal
cents = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


def invoice(recurring="30.00", usage="4.20", tax="6.50", gross="40.70", **kw):
    return InvoicePosting(new_id(), new_id(), "INV-2026-000001", AT, "EUR", D(recurring), D(usage), D(tax), D(gross), **kw)


def test_invoice_entry_lines():
    e = invoice().entry()
    assert [(l.gl_account, l.debit, l.credit) for l in e.lines] == [
        (AR, D("40.70"), 0),  # 30.00 + 4.20 + 6.50
        (REVENUE_RECURRING, 0, D("30.00")),
        (REVENUE_USAGE, 0, D("4.20")),
        (VAT, 0, D("6.50")),
    ]
    assert e.totals() == (D("40.70"), D("40.70"))
    assert e.description == "Invoice INV-2026-000001"


def test_zero_lines_are_left_out():
    e = invoice(usage="0", tax="0", gross="30.00").entry()
    assert [l.gl_account for l in e.lines] == [AR, REVENUE_RECURRING]


def test_payment_entry_lines():
    e = PaymentPosting(new_id(), new_id(), AT, "EUR", D("25.00")).entry()
    assert [(l.gl_account, l.debit, l.credit) for l in e.lines] == [(BANK, D("25.00"), 0), (AR, 0, D("25.00"))]


def test_unbalanced_invoice_is_refused():
    with pytest.raises(InvalidValue, match="debits 40.71 != credits 40.70"):
        invoice(gross="40.71").entry()  # 30.00 + 4.20 + 6.50 = 40.70, not 40.71


@pytest.mark.parametrize(
    "debit, credit, problem",
    [("-1", "0", "non-negative"), ("1", "1", "exactly one side"), ("0", "0", "exactly one side")],
)
def test_line_sides(debit, credit, problem):
    with pytest.raises(InvalidValue, match=problem):
        JournalLine(AR, D(debit), D(credit))


def test_unknown_gl_account_is_refused():
    with pytest.raises(InvalidValue, match="chart of accounts"):
        JournalLine("9999 Suspense", D(1), D(0))


def test_hash_ignores_trailing_zeros_but_not_amounts():
    e = invoice().entry()
    stored = replace(e, lines=tuple(JournalLine(l.gl_account, l.debit.quantize(D("0.000001")),
                                                l.credit.quantize(D("0.000001"))) for l in reversed(e.lines)))
    assert entry_hash(GENESIS_HASH, stored) == entry_hash(GENESIS_HASH, e)
    other = invoice(recurring="30.01", gross="40.71").entry()
    assert entry_hash(GENESIS_HASH, replace(other, source_id=e.source_id, account_id=e.account_id)) != entry_hash(
        GENESIS_HASH, e
    )
    assert entry_hash("1" * 64, e) != entry_hash(GENESIS_HASH, e)


@given(recurring=cents, usage=cents, tax=cents, paid=st.lists(cents.filter(bool), max_size=5))
def test_every_posting_balances(recurring, usage, tax, paid):
    gross = recurring + usage + tax
    entries = [InvoicePosting(new_id(), new_id(), "N", AT, "EUR", recurring, usage, tax, gross).entry()]
    entries += [PaymentPosting(new_id(), new_id(), AT, "EUR", p).entry() for p in paid]
    for e in entries:
        debits, credits = e.totals()
        assert debits == credits
        assert all((l.debit > 0) != (l.credit > 0) for l in e.lines)
    assert entries[0].totals()[0] == gross


def test_an_invoice_whose_credits_outweigh_its_charges_debits_that_revenue():
    # A suspension credit of 5.00 larger than the recurring charges, with 12.00 of usage:
    # net -5.00 + 12.00 = 7.00, VAT 7.00 × 0.19 = 1.33, gross 8.33.
    entry = InvoicePosting(new_id(), new_id(), "INV-1", datetime(2026, 12, 1, tzinfo=UTC), "EUR",
                           Decimal("-5.00"), Decimal("12.00"), Decimal("1.33"), Decimal("8.33")).entry()
    assert {(line.gl_account, line.debit, line.credit) for line in entry.lines} == {
        (AR, Decimal("8.33"), Decimal(0)),
        (REVENUE_RECURRING, Decimal("5.00"), Decimal(0)),  # recurring revenue reduced by 5.00
        (REVENUE_USAGE, Decimal(0), Decimal("12.00")),
        (VAT, Decimal(0), Decimal("1.33")),
    }  # debits 8.33 + 5.00 = 13.33 = credits 12.00 + 1.33

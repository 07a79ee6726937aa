from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money, total
from openbss.payments.model import allocate, check_amount, check_method
from tests.amounts import eur


@dataclass(frozen=True)
class Open:
    id: object
    remaining: Money


def test_oldest_first_then_credit():
    a, b = Open(new_id(), eur("30.00")), Open(new_id(), eur("20.00"))
    allocations, left = allocate(eur("45.00"), [a, b])
    # a takes all 30.00; b gets 45.00 - 30.00 = 15.00 of its 20.00
    assert [(x.invoice_id, x.amount) for x in allocations] == [(a.id, eur("30.00")), (b.id, eur("15.00"))]
    assert left == eur("0")


def test_preferred_invoice_first():
    a, b = Open(new_id(), eur("30.00")), Open(new_id(), eur("20.00"))
    allocations, left = allocate(eur("60.00"), [a, b], preferred_invoice_id=b.id)
    # b 20.00 first, then a 30.00; 60.00 - 20.00 - 30.00 = 10.00 left over
    assert [(x.invoice_id, x.amount) for x in allocations] == [(b.id, eur("20.00")), (a.id, eur("30.00"))]
    assert left == eur("10.00")


def test_nothing_open_leaves_everything_unallocated():
    assert allocate(eur("12.34"), []) == ((), eur("12.34"))


positive = st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=2)


@given(amount=positive, remaining=st.lists(st.decimals(min_value=0, max_value=10**6, places=2), max_size=8),
       prefer=st.integers(min_value=-1, max_value=7))
def test_allocation_never_exceeds_invoice_or_payment(amount, remaining, prefer):
    invoices = [Open(new_id(), eur(r)) for r in remaining]
    preferred = invoices[prefer].id if 0 <= prefer < len(invoices) else None
    allocations, left = allocate(eur(amount), invoices, preferred)
    by_id = {i.id: i.remaining for i in invoices}
    assert all(eur(0) < a.amount <= by_id[a.invoice_id] for a in allocations)
    assert len({a.invoice_id for a in allocations}) == len(allocations)
    assert total((a.amount for a in allocations), "EUR") + left == eur(amount)
    assert left >= eur(0)
    # Credit is left only when every open invoice is fully paid.
    if left > eur(0):
        assert total((a.amount for a in allocations), "EUR") == total(by_id.values(), "EUR")
    if preferred is not None and by_id[preferred] > eur(0):
        assert allocations[0].invoice_id == preferred


@pytest.mark.parametrize(
    "amount, field, problem",
    [(eur("0"), "totalAmount.value", "greater than zero"), (eur("-5"), "totalAmount.value", "greater than zero"),
     (eur("1.005"), "totalAmount.value", "more decimals"), (Money.of("5", "USD"), "totalAmount.unit", "EUR")],
)
def test_check_amount(amount, field, problem):
    with pytest.raises(InvalidValue, match=problem) as e:
        check_amount(amount, "EUR")
    assert e.value.field == field


def test_check_method():
    assert check_method("card") == "card"
    with pytest.raises(InvalidValue, match="paymentMethod.@type='cheque'"):
        check_method("cheque")


def test_named_invoices_first_each_up_to_its_amount_then_oldest():
    a, b, c = Open(new_id(), eur("30.00")), Open(new_id(), eur("20.00")), Open(new_id(), eur("40.00"))
    allocations, left = allocate(eur("70.00"), [a, b, c], named=[(c.id, eur("15.00")), (b.id, None)])
    # c 15.00 as asked, b all its 20.00, then oldest first: a 30.00, c 70.00 - 15.00 - 20.00 - 30.00 = 5.00 more
    assert [(x.invoice_id, x.amount) for x in allocations] == [
        (c.id, eur("20.00")), (b.id, eur("20.00")), (a.id, eur("30.00"))]
    assert left == eur("0")


@given(amount=positive, remaining=st.lists(st.decimals(min_value=0, max_value=10**4, places=2), min_size=1, max_size=6),
       caps=st.lists(st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"), max_value=10**4, places=2)),
                     min_size=1, max_size=6))
def test_named_allocation_never_exceeds_invoice_or_payment(amount, remaining, caps):
    invoices = [Open(new_id(), eur(r)) for r in remaining]
    named = [(i.id, None if cap is None else eur(cap)) for i, cap in zip(invoices, caps, strict=False)]
    allocations, left = allocate(eur(amount), invoices, named=named)
    by_id = {i.id: i.remaining for i in invoices}
    assert all(eur(0) < a.amount <= by_id[a.invoice_id] for a in allocations)
    assert len({a.invoice_id for a in allocations}) == len(allocations)
    assert total((a.amount for a in allocations), "EUR") + left == eur(amount) and left >= eur(0)

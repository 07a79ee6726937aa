"""Credit and debit note rules (billing.corrections) and their journal entries (ledger.model.CorrectionPosting)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.billing.corrections import (
    DebitItem,
    LineCredit,
    credit_lines,
    debit_lines,
    full_credit,
    revenue_split,
    totals,
    uncredited,
)
from openbss.billing.model import Invoice, InvoiceLine, vat_breakdown
from openbss.billing.tax import Supply
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.ledger.model import AR, REVENUE_RECURRING, REVENUE_USAGE, VAT, CorrectionPosting
from tests.amounts import eur

PRODUCT, OFFERING = new_id(), new_id()


def _line(no, net, quantity="1", kind="recurring", category="standard", rate="0.19", unit="month"):
    return InvoiceLine(new_id(), no, kind, f"line {no}", PRODUCT, OFFERING, "voice" if kind == "usage" else None,
                       Decimal(quantity), unit, None, None, eur(net), category, Decimal(rate))


def _invoice(*lines: InvoiceLine) -> Invoice:
    net = sum((line.net for line in lines), eur("0"))
    return Invoice(new_id(), "INV-2026-000001", new_id(), date(2026, 10, 1), date(2026, 11, 1), date(2026, 11, 1),
                   date(2026, 11, 15), "Europe/Berlin", "EUR", net, eur("0"), net, eur("0"), "sent",
                   datetime(2026, 11, 1, tzinfo=UTC), lines)


RECURRING = _line(1, "30.00")
USAGE = _line(2, "7.45", quantity="3725", kind="usage", unit="second")
REDUCED = _line(3, "9.99", category="reduced", rate="0.07")
DISCOUNT = _line(4, "-3.00", kind="discount")
INVOICE = _invoice(RECURRING, USAGE, REDUCED, DISCOUNT)
NOTHING_CREDITED = uncredited(INVOICE.lines, {}, "EUR")


def test_a_quantity_credits_the_line_pro_rata_rounded_once():
    (line,) = credit_lines(INVOICE, [LineCredit(USAGE.id, quantity=Decimal(1000))], NOTHING_CREDITED, "half_up")
    # 7.45 x 1,000 / 3,725 = 2.0000 -> 2.00
    assert (line.net, line.quantity, line.invoice_line_id, line.kind) == (eur("2.00"), Decimal(1000), USAGE.id, "usage")
    (third,) = credit_lines(INVOICE, [LineCredit(RECURRING.id, quantity=Decimal("0.333333"))], NOTHING_CREDITED,
                            "half_up")
    assert third.net == eur("10.00")  # 30.00 x 0.333333 = 9.99999 -> 10.00


def test_vat_is_computed_per_group_of_the_credited_amounts():
    lines = credit_lines(INVOICE, [LineCredit(RECURRING.id, amount=Decimal("10.01")),
                                   LineCredit(USAGE.id, amount=Decimal("0.02")),
                                   LineCredit(REDUCED.id, amount=Decimal("9.99"))], NOTHING_CREDITED, "half_up")
    t = totals(lines, "EUR", "half_up")
    assert [(x.tax_category, x.taxable.amount, x.tax.amount) for x in t.taxes] == [
        ("reduced", Decimal("9.99"), Decimal("0.70")),  # 9.99 x 0.07 = 0.6993 -> 0.70
        ("standard", Decimal("10.03"), Decimal("1.91")),  # (10.01 + 0.02) x 0.19 = 1.9057 -> 1.91 (not 1.90 + 0.00)
    ]
    assert (t.net, t.tax, t.gross) == (eur("20.02"), eur("2.61"), eur("22.63"))  # 20.02 + 0.70 + 1.91
    assert revenue_split(lines, "EUR") == (eur("20.00"), eur("0.02"))


def test_never_more_than_is_left_on_the_line():
    left = uncredited(INVOICE.lines, {RECURRING.id: eur("25.00")}, "EUR")
    assert left[RECURRING.id] == eur("5.00")
    credit_lines(INVOICE, [LineCredit(RECURRING.id, amount=Decimal("5.00"))], left, "half_up")
    with pytest.raises(InvalidValue, match=r"lines\[0\]\.amount=.*only 5.00 EUR of line 1 is left"):
        credit_lines(INVOICE, [LineCredit(RECURRING.id, amount=Decimal("5.01"))], left, "half_up")


@pytest.mark.parametrize(("request_", "message"), [
    (LineCredit(DISCOUNT.id, amount=Decimal("1")), "only a charge can be credited"),
    (LineCredit(new_id(), amount=Decimal("1")), "is not a line of invoice INV-2026-000001"),
    (LineCredit(RECURRING.id), "give a quantity or an amount"),
    (LineCredit(RECURRING.id, quantity=Decimal(2)), "at most the line's 1"),
    (LineCredit(RECURRING.id, amount=Decimal("0.001")), "more decimals than EUR has"),
    (LineCredit(RECURRING.id, amount=Decimal("-1")), "credits nothing"),
])
def test_bad_credit_requests_name_the_field(request_, message):
    with pytest.raises(InvalidValue, match=message):
        credit_lines(INVOICE, [request_], NOTHING_CREDITED, "half_up")


def test_a_line_named_twice_is_refused():
    with pytest.raises(InvalidValue, match="named twice"):
        credit_lines(INVOICE, [LineCredit(RECURRING.id, amount=Decimal(1))] * 2, NOTHING_CREDITED, "half_up")


def test_a_full_credit_takes_every_charge_line_and_reproduces_the_invoice_vat():
    requests = full_credit(INVOICE, NOTHING_CREDITED)
    assert [r.line_id for r in requests] == [RECURRING.id, USAGE.id, REDUCED.id]  # not the discount
    charges = _invoice(RECURRING, USAGE, REDUCED)
    t = totals(credit_lines(charges, full_credit(charges, NOTHING_CREDITED), NOTHING_CREDITED, "half_up"), "EUR",
               "half_up")
    assert t.net == eur("47.44")  # 30.00 + 7.45 + 9.99
    assert t.taxes == vat_breakdown(charges.lines, "EUR", "half_up")
    assert t.tax == eur("7.82")  # standard 37.45 x 0.19 = 7.1155 -> 7.12, reduced 9.99 x 0.07 = 0.6993 -> 0.70


@given(st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("30.00"), places=2), min_size=1,
                max_size=6))
def test_successive_credits_never_exceed_the_line(amounts):
    credited = Money.zero("EUR")
    for amount in amounts:
        left = uncredited(INVOICE.lines, {RECURRING.id: credited}, "EUR")
        try:
            (line,) = credit_lines(INVOICE, [LineCredit(RECURRING.id, amount=amount)], left, "half_up")
        except InvalidValue:
            assert credited + eur(amount) > RECURRING.net
            continue
        credited = credited + line.net
        assert credited <= RECURRING.net


DOMESTIC, EXEMPT_SUPPLY = Supply("DE", "domestic"), Supply("DE", "exempt")


def test_debit_note_lines_take_the_rate_of_their_own_issue_date():
    def rates(country, category, on):
        assert (country, on) == ("DE", date(2026, 12, 3))
        return {"standard": Decimal("0.19"), "exempt": Decimal(0)}[category]

    items = [DebitItem("Missed router fee", Decimal("49.90"), "standard")]
    (line,) = debit_lines(items, "EUR", DOMESTIC, date(2026, 12, 3), rates)
    assert (line.net, line.tax_rate, line.tax_category) == (eur("49.90"), Decimal("0.19"), "standard")
    (exempt,) = debit_lines(items, "EUR", EXEMPT_SUPPLY, date(2026, 12, 3), rates)
    assert (exempt.tax_category, exempt.tax_rate) == ("exempt", Decimal(0))
    # a French business customer of a German operator: reverse charged, as its invoices are
    (reverse,) = debit_lines(items, "EUR", Supply("FR", "reverseCharge"), date(2026, 12, 3),
                             lambda country, category, on: Decimal(0))
    assert (reverse.tax_category, reverse.tax_rate) == ("reverseCharge", Decimal(0))
    with pytest.raises(InvalidValue, match=r"lines\[0\]\.amount=.*a reduction is a credit note"):
        debit_lines([DebitItem("x", Decimal("-1"), "standard")], "EUR", DOMESTIC, date(2026, 12, 3), rates)
    with pytest.raises(InvalidValue, match=r"lines\[0\]\.description"):
        debit_lines([DebitItem(" ", Decimal("1"), "standard")], "EUR", DOMESTIC, date(2026, 12, 3), rates)


def _posting(kind):
    return CorrectionPosting(kind, uuid.uuid4(), uuid.uuid4(), "X-1", datetime(2026, 11, 2, tzinfo=UTC), "EUR",
                             recurring_net=Decimal("10.00"), usage_net=Decimal("2.00"), tax=Decimal("2.28"),
                             gross=Decimal("14.28"))


def test_a_credit_note_posting_reverses_an_invoice_posting():
    entry = _posting("creditNote").entry()
    assert sorted((l.gl_account, l.debit, l.credit) for l in entry.lines) == sorted([
        (AR, Decimal(0), Decimal("14.28")), (REVENUE_RECURRING, Decimal("10.00"), Decimal(0)),
        (REVENUE_USAGE, Decimal("2.00"), Decimal(0)), (VAT, Decimal("2.28"), Decimal(0))])
    assert entry.totals() == (Decimal("14.28"), Decimal("14.28"))
    assert (entry.source_type, entry.description) == ("creditNote", "Credit note X-1")


def test_a_debit_note_posting_is_posted_like_an_invoice():
    entry = _posting("debitNote").entry()
    assert (AR, Decimal("14.28"), Decimal(0)) in [(l.gl_account, l.debit, l.credit) for l in entry.lines]
    assert entry.totals() == (Decimal("14.28"), Decimal("14.28"))
    with pytest.raises(InvalidValue, match="kind='refund'"):
        _posting("refund").entry()

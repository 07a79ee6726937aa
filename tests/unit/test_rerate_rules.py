"""Rerating's rules without a database: a record rated again keeps the allowance units it was given (covered =
min(them, billed now)), and billing puts rerating adjustments on a line of their own, never re-priced, credit
lines taxed with their category so the invoice still adds up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal as D

from openbss.billing import tax
from openbss.billing.model import Subscriptions, generate, priced_on_totals
from openbss.billing.periods import cycle_period
from openbss.catalog.model import Price, ProductOffering
from openbss.core.money import Money
from openbss.mediation.model import UsageTotal
from openbss.ordering.model import Product
from openbss.party.model import BillingAccount
from openbss.rating.rules import Rate, RateTable, UsageEvent, Zone, rate_event

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CALL = UsageEvent("4930123456", "voice", 200, datetime(2026, 9, 15, 10, tzinfo=UTC))


def germany(price: str, first=60, next_=60) -> RateTable:
    rate = Rate("voice", D(price), first=first, next=next_, connect_fee=D("0.40"), places=2)
    return RateTable("EUR", (Zone("Germany", ("49",), (rate,)),))


def test_a_rerated_record_keeps_its_allowance_units():
    first = rate_event(germany("0.20"), CALL, left=120)
    # 200 s bills 240 s; 120 covered, 120 s paid: 0.40 + 2 x 0.20 = 0.80
    assert (first.amount.amount, first.allowance_used) == (D("0.80"), 120)
    again = rate_event(germany("0.15"), CALL, left=first.allowance_used)
    # the same 120 units covered, 120 s at the corrected price: 0.40 + 2 x 0.15 = 0.70
    assert (again.amount.amount, again.allowance_used) == (D("0.70"), 120)


def test_covered_is_the_smaller_of_the_units_given_and_billed_now():
    first = rate_event(germany("0.20"), CALL, left=300)  # 240 billed, all covered: 0
    assert (first.amount.amount, first.allowance_used) == (D("0"), 240)
    # A correction to 30/6 increments bills 30 + ceil(170 / 6) x 6 = 204 s:
    # min(240, 204) = 204 covered, still fully covered, 0; no unit is taken beyond what the record had.
    finer = rate_event(germany("0.20", 30, 6), CALL, left=first.allowance_used)
    assert (finer.amount.amount, finer.allowance_used, finer.billed_quantity) == (D("0"), 204, 204)
    # A record that had no allowance units pays everything: 0.40 + 4 x 0.15 = 1.00
    assert rate_event(germany("0.15"), CALL, left=0).amount.amount == D("1.00")


def _price(oid, **kw) -> Price:
    return Price(uuid.uuid4(), oid, "usage", Money.of("0.20", "EUR"), None, "voice", D(60), None, None, **kw)


def test_only_records_priced_per_record_are_rerated():
    oid = uuid.uuid4()
    assert not priced_on_totals(_price(oid))  # per unit, no allowance: each record's charge counts
    assert not priced_on_totals(_price(oid, rate_table="mobile-de", included_units=D(300)))  # rated per record
    assert priced_on_totals(_price(oid, included_units=D(300)))  # billing re-prices the period's total
    assert priced_on_totals(_price(oid, usage_model="graduated"))


def test_an_adjustment_is_its_own_credit_line_taxed_with_its_category():
    acc = BillingAccount(uuid.uuid4(), "ACC-000001", "Ada", uuid.uuid4(), "EUR", "DE", 1, "Europe/Berlin",
                         "active", T0)
    oid = uuid.uuid4()
    monthly = Price(uuid.uuid4(), oid, "recurring", Money.of("10.00", "EUR"), "month", None, D(1), None, None)
    offering = ProductOffering(oid, "Mobile M", None, "active", "standard", (monthly, _price(oid)), T0)
    product = Product(uuid.uuid4(), acc.id, oid, uuid.uuid4(), "+491511234567", "active",
                      datetime(2026, 9, 30, 22, tzinfo=UTC), None, T0)
    totals = [UsageTotal(product.id, "voice", "second", 1, D(120), Money.of("0.80", "EUR")),
              UsageTotal(product.id, "voice", "each", 3, D(0), Money.of("-0.254", "EUR"), adjustment=True)]
    subject = Subscriptions(acc, [product], {oid: offering}, (), totals)
    draft = generate(subject, cycle_period("2026-10", 1, "Europe/Berlin"), [], tax.rate, "half_up")
    usage = [(line.description, line.quantity, line.unit, line.net.amount) for line in draft.lines
             if line.kind == "usage"]
    # the usage line keeps the records' sum; the adjustment is -0.254 rounded once: -0.25, never re-priced
    assert usage == [("Mobile M, voice usage", D(120), "second", D("0.80")),
                     ("Mobile M, voice usage rerating adjustment", D(3), "each", D("-0.25"))]
    # net: October 10.00 + November 10.00 (in advance) + 0.80 - 0.25 = 20.55; VAT 19 %: 3.9045 → 3.90
    assert (draft.net_total.amount, draft.tax_total.amount, draft.gross_total.amount) == (
        D("20.55"), D("3.90"), D("24.45"))
    assert sum(line.net.amount for line in draft.lines) == draft.net_total.amount

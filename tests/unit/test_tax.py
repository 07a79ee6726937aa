"""Taxes as code: rates and jurisdictions, place of supply (reverse charge, destination, out of scope), and
tax-inclusive prices through the invoice generator (billing.tax, billing.model)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from openbss.billing import tax
from openbss.billing.model import Subscriptions, generate
from openbss.billing.periods import cycle_period
from openbss.catalog.model import Price, ProductOffering
from openbss.core.errors import InvalidValue
from openbss.core.money import Money
from openbss.ordering.model import Product
from openbss.party.model import BillingAccount

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ON = date(2026, 11, 1)


# --- rates and jurisdictions ---------------------------------------------------------------------------------

def test_every_eu_member_state_has_a_standard_rate_and_the_2026_figures_hold():
    assert len(tax.EU_MEMBER_STATES) == 27
    assert all(tax.rate(c, "standard", ON) > 0 for c in tax.EU_MEMBER_STATES)
    expected = {"HU": "0.27", "LU": "0.17", "FI": "0.255", "EE": "0.24", "RO": "0.21", "SK": "0.23", "GR": "0.24",
                "CH": "0.081", "NO": "0.25", "GB": "0.20", "MT": "0.18", "CY": "0.19"}
    assert {c: tax.rate(c, "standard", ON) for c in expected} == {c: Decimal(r) for c, r in expected.items()}
    assert tax.rate("FI", "reduced", ON) == Decimal("0.135")  # 14 % until 2025-12-31
    assert tax.rate("FI", "reduced", date(2025, 12, 31)) == Decimal("0.14")
    assert tax.rate("LU", "standard", date(2023, 6, 1)) == Decimal("0.16")  # the 2023 cut
    assert tax.rate("CH", "standard", date(2023, 12, 31)) == Decimal("0.077")


def test_zero_rated_categories_and_unknowns():
    for category in ("zero", "exempt", "reverseCharge", "outOfScope"):
        assert tax.rate("US", category, ON) == 0
    with pytest.raises(InvalidValue, match="'reduced' VAT rate"):
        tax.rate("DK", "reduced", ON)  # Denmark has no reduced rate
    with pytest.raises(InvalidValue, match="taxCategory='luxury'"):
        tax.rate("DE", "luxury", ON)


def test_jurisdiction_names_the_tax():
    assert tax.jurisdiction("DE") == tax.Jurisdiction("DE", "VAT", True)
    assert tax.jurisdiction("CH") == tax.Jurisdiction("CH", "MWST", False)
    assert tax.jurisdiction("NO") == tax.Jurisdiction("NO", "MVA", False)
    assert tax.jurisdiction("US") is None


# --- place of supply -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("seller", "country", "vat_id", "expected"), [
    ("DE", "FR", "FR40303265045", tax.Supply("FR", "reverseCharge")),  # B2B, other member state
    ("DE", "GR", "EL094259216", tax.Supply("GR", "reverseCharge")),  # Greek VAT ids say EL
    ("DE", "DE", "DE136695976", tax.Supply("DE", "domestic")),  # B2B at home
    ("DE", "FR", "DE136695976", tax.Supply("DE", "domestic")),  # a German business with a French address
    ("DE", "FR", None, tax.Supply("FR", "destination")),  # B2C: the customer's country (OSS)
    ("DE", "DE", None, tax.Supply("DE", "domestic")),
    ("DE", "GB", None, tax.Supply("GB", "destination")),  # registered in GB: UK VAT
    ("DE", "US", None, tax.Supply("US", "outOfScope")),  # export of services
    ("DE", "GB", "XI123456782", tax.Supply("GB", "destination")),  # XI covers goods only
    (None, "FR", "FR40303265045", tax.Supply("FR", "domestic")),  # no seller profile: domestic to the customer
])
def test_place_of_supply(seller, country, vat_id, expected):
    assert tax.place_of_supply(seller, country, vat_id) == expected


def test_categories_under_each_rule():
    reverse = tax.Supply("FR", "reverseCharge")
    assert [reverse.category(c) for c in ("standard", "reduced", "zero", "exempt")] == [
        "reverseCharge", "reverseCharge", "zero", "exempt"]
    assert tax.Supply("US", "outOfScope").category("zero") == "outOfScope"  # BR-O-11: nothing else beside O
    assert tax.place_of_supply("DE", "FR", "FR40303265045", exempt=True).category("standard") == "exempt"
    assert tax.Supply("FR", "destination").category("reduced") == "reduced"


# --- the generator -------------------------------------------------------------------------------------------

def _account(country="DE", vat_id=None) -> BillingAccount:
    return BillingAccount(uuid.uuid4(), "ACC-000001", "Ada", uuid.uuid4(), "EUR", country, 1, "Europe/Berlin",
                          "active", T0, vat_id=vat_id)


def _offering(amount="9.99", tax_included=True) -> ProductOffering:
    oid = uuid.uuid4()
    price = Price(uuid.uuid4(), oid, "recurring", Money.of(amount, "EUR"), "month", None, Decimal(1), None, None,
                  tax_included=tax_included)
    return ProductOffering(oid, "Streaming", None, "active", "standard", (price,), T0)


def _invoice(acc, offerings, seller="DE", start=datetime(2026, 9, 30, 22, tzinfo=UTC)):
    products = [Product(uuid.uuid4(), acc.id, o.id, uuid.uuid4(), f"s{i}", "active", start, None, T0)
                for i, o in enumerate(offerings)]
    subject = Subscriptions(acc, products, {o.id: o for o in offerings})
    return generate(subject, cycle_period("2026-10", 1, "Europe/Berlin"), [], tax.rate, "half_up",
                    seller_country=seller)


def test_tax_inclusive_price_keeps_its_gross():
    draft = _invoice(_account(), [_offering()])
    # October and November in advance, each 9.99 incl. 19 %: net 9.99 / 1.19 = 8.394957… → 8.39
    assert [(line.gross.amount, line.net.amount) for line in draft.lines] == [
        (Decimal("9.99"), Decimal("8.39")), (Decimal("9.99"), Decimal("8.39"))]
    (group,) = draft.taxes
    # taxable 8.39 + 8.39 = 16.78; VAT = (9.99 - 8.39) × 2 = 3.20, not round(16.78 × 0.19) = round(3.1882) = 3.19
    assert (group.taxable.amount, group.tax.amount, group.country) == (Decimal("16.78"), Decimal("3.20"), "DE")
    assert draft.gross_total.amount == Decimal("19.98")  # 9.99 × 2


def test_inclusive_and_exclusive_lines_share_a_group():
    draft = _invoice(_account(), [_offering(), _offering("10.00", tax_included=False)])
    # inclusive 2 × 8.39, exclusive 2 × 10.00: taxable 36.78;
    # VAT = round(20.00 × 0.19) = 3.80 + 2 × (9.99 - 8.39) = 3.20 → 7.00 (round(36.78 × 0.19) = 6.99)
    assert (draft.net_total.amount, draft.tax_total.amount, draft.gross_total.amount) == (
        Decimal("36.78"), Decimal("7.00"), Decimal("43.78"))  # 2 × 9.99 + 2 × 11.90


def test_tax_inclusive_price_follows_the_customer_rate_and_is_net_at_zero():
    french = _invoice(_account("FR"), [_offering()])  # B2C in France: 20 %
    # 9.99 / 1.20 = 8.325 → 8.33 (half up); VAT 2 × (9.99 - 8.33) = 3.32
    assert [line.net.amount for line in french.lines] == [Decimal("8.33"), Decimal("8.33")]
    assert (french.tax_total.amount, french.gross_total.amount) == (Decimal("3.32"), Decimal("19.98"))
    business = _invoice(_account("FR", "FR40303265045"), [_offering()])  # reverse charge: the price is the net
    assert [(line.tax_category, line.tax_rate, line.net.amount) for line in business.lines] == [
        ("reverseCharge", Decimal(0), Decimal("9.99"))] * 2
    assert business.tax_total.amount == 0


def test_group_falls_back_to_the_standard_tax_beyond_the_en16931_tolerance():
    # 0.03 incl. 19 %: net 0.03 / 1.19 = 0.0252 → 0.03, so each line keeps a VAT of 0.00 where 0.03 × 0.19 would
    # be 0.0057. 50 lines (25 products, October and November): kept VAT 0.00, standard round(1.50 × 0.19) =
    # round(0.285) = 0.29, less than 1 unit away: kept. 1000 lines: standard round(30.00 × 0.19) = 5.70, 5.70
    # away from 0.00: the standard 5.70 applies (BR-CO-17 would refuse 0.00).
    offering = _offering("0.03")
    small = _invoice(_account(), [offering] * 25)
    assert (small.taxes[0].taxable.amount, small.tax_total.amount) == (Decimal("1.50"), Decimal("0.00"))
    large = _invoice(_account(), [offering] * 500)
    assert (large.taxes[0].taxable.amount, large.tax_total.amount) == (Decimal("30.00"), Decimal("5.70"))


def test_exempt_account_stays_exempt_with_its_country():
    acc = replace(_account("FR", "FR40303265045"), tax_exemption=[{"issuingJurisdiction": "FR", "reason": "NGO"}])
    draft = _invoice(acc, [_offering("10.00", tax_included=False)])
    assert {(t.tax_category, t.country) for t in draft.taxes} == {("exempt", "FR")}

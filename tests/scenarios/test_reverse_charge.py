"""EU place of supply for a German operator (the test seller, Hamburg, DE136695976), amounts worked out by hand.

Three customers subscribe to "Mobile M" (30.00 EUR a month in advance, tax category standard) on 2026-10-01 and
are billed for October on 2026-11-01 (October and November in advance, no usage):
- a French business with a valid French VAT id: reverse charge (EN 16931 AE, 0 %, "Reverse charge");
- the same French company without a VAT id: a consumer for VAT, French VAT 20 %;
- a German business with a German VAT id: domestic, German VAT 19 %.
Every invoice is also rendered as UBL and CII and validated (tests/scenarios/conftest.py): BR-AE-* included.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from openbss.billing.documents.context import document_of
from openbss.billing.documents.ubl import to_ubl
from openbss.seller import service as seller
from tests import factories
from tests.einvoicing import SELLER_FIELDS
from tests.scenarios.billing_steps import bill, invoice_of, totals, utc

OCT = date(2026, 10, 1)


def test_reverse_charge_french_vat_and_german_vat(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        seller.set_seller(u, SELLER_FIELDS)
        offering = factories.offering(u)
        with_vat_id = factories.account(u, "Fromagerie Dupont SA", country="FR", time_zone="Europe/Paris",
                                        vat_id="FR40303265045")
        without_vat_id = factories.account(u, "Fromagerie Dupont SA (no VAT id)", country="FR",
                                           time_zone="Europe/Paris")
        german = factories.account(u, "Hafenbau GmbH", vat_id="DE136695976")
        for n, acc in enumerate((with_vat_id, without_vat_id, german)):
            factories.subscribe(u, acc.id, offering.id, f"+3361234567{n}")

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))

    reverse = invoice_of(uow, with_vat_id.id, OCT)
    # net 30.00 (October) + 30.00 (November in advance) = 60.00; VAT 0: the buyer accounts for it in France
    assert totals(reverse) == (Decimal("60.00"), Decimal("0.00"), Decimal("60.00"))
    assert {(line.tax_category, line.tax_rate) for line in reverse.lines} == {("reverseCharge", Decimal(0))}
    assert [(t.tax_category, t.taxable.amount, t.tax.amount, t.country) for t in reverse.taxes] == [
        ("reverseCharge", Decimal("60.00"), Decimal("0.00"), "FR")]

    french = invoice_of(uow, without_vat_id.id, OCT)
    # 60.00 × 0.20 = 12.00 French VAT (B2C: the customer's country); gross 72.00
    assert totals(french) == (Decimal("60.00"), Decimal("12.00"), Decimal("72.00"))
    assert [(t.tax_category, t.tax_rate, t.country) for t in french.taxes] == [("standard", Decimal("0.2"), "FR")]

    domestic = invoice_of(uow, german.id, OCT)
    # 60.00 × 0.19 = 11.40 German VAT (B2B in the seller's own country); gross 71.40
    assert totals(domestic) == (Decimal("60.00"), Decimal("11.40"), Decimal("71.40"))
    assert [(t.tax_category, t.tax_rate, t.country) for t in domestic.taxes] == [("standard", Decimal("0.19"), "DE")]

    with uow() as u:
        doc = document_of(u, reverse.id)
        ubl = to_ubl(doc).decode()
    (group,) = doc.vat_groups
    assert (group.category, group.rate, group.exemption_reason, group.exemption_code) == (
        "AE", Decimal(0), "Reverse charge", "VATEX-EU-AE")
    assert (doc.seller.vat_id, doc.buyer.vat_id) == ("DE136695976", "FR40303265045")  # both VAT ids (BR-AE-02)
    assert "VATEX-EU-AE" in ubl and "FR40303265045" in ubl and "DE136695976" in ubl

"""A one-time activation fee and a promotion: 50 % off the monthly fee for the first 3 months.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) orders "Mobile M Welcome" on 2026-10-01: 30.00 EUR a
month ("monthly fee"), 25.00 once at activation, and the "Welcome offer" discount of 50 % on the monthly
fee for 3 bill periods from activation. October, November and December are discounted, January is full.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.money import Money
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, lines, totals, utc


def test_one_time_fee_and_three_discounted_months(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        offer = catalog.create_offering(u, NewOffering(name="Mobile M Welcome", prices=[
            NewPrice(kind="recurring", amount=Money.of("30.00", "EUR"), period="month", name="monthly fee"),
            NewPrice(kind="oneTime", amount=Money.of("25.00", "EUR"), name="activation fee"),
            NewPrice(kind="discount", amount=None, percentage=D("50"), applies_to="monthly fee",
                     duration_periods=3, name="Welcome offer"),
        ]))
        ada = factories.account(u)
        factories.subscribe(u, ada.id, offer.id, "+491511234567")

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    assert lines(october) == [
        ("oneTime", date(2026, 10, 1), date(2026, 10, 2), D("25.00")),  # activation fee, once
        ("recurring", date(2026, 10, 1), date(2026, 11, 1), D("30.00")),  # October
        ("discount", date(2026, 10, 1), date(2026, 11, 1), D("-15.00")),  # month 1: 30.00 × 50 % = 15.00 off
        ("recurring", date(2026, 11, 1), date(2026, 12, 1), D("30.00")),  # November in advance
        ("discount", date(2026, 11, 1), date(2026, 12, 1), D("-15.00")),  # month 2: 15.00 off
    ]
    assert october.lines[0].description == "Mobile M Welcome: activation fee, 2026-10-01"
    assert october.lines[2].description == "Welcome offer (50 % off Mobile M Welcome), 2026-10-01 to 2026-10-31"
    # 25.00 + 30.00 − 15.00 + 30.00 − 15.00 = 55.00; × 0.19 = 10.45; 55.00 + 10.45 = 65.45
    assert totals(october) == (D("55.00"), D("10.45"), D("65.45"))

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    assert lines(invoice_of(uow, ada.id, date(2026, 11, 1))) == [
        ("recurring", date(2026, 12, 1), date(2027, 1, 1), D("30.00")),  # December in advance
        ("discount", date(2026, 12, 1), date(2027, 1, 1), D("-15.00")),  # month 3: the last discounted one
    ]

    bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    january_in_advance = invoice_of(uow, ada.id, date(2026, 12, 1))
    assert lines(january_in_advance) == [
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), D("30.00")),  # month 4: full price, no discount line
    ]
    assert totals(january_in_advance) == (D("30.00"), D("5.70"), D("35.70"))  # 30.00 × 0.19 = 5.70


def test_a_promotion_code_given_at_order_time_discounts_three_months(engine, uow, clock, client):
    """Fibre 100 at 35.00 a month with the promotion FIBRE3 (50 % off for 3 periods): Bob orders with the
    code, Carla without; only Bob's first three months are discounted. Orders go through TMF622."""
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        offer = catalog.create_offering(u, NewOffering(name="Fibre 100", prices=[
            NewPrice(kind="recurring", amount=Money.of("35.00", "EUR"), period="month", name="monthly fee"),
            NewPrice(kind="discount", amount=None, percentage=D("50"), applies_to="monthly fee",
                     duration_periods=3, promotion_code="FIBRE3", name="Welcome promotion"),
        ]))
        bob, carla = factories.account(u, name="Bob"), factories.account(u, name="Carla")

    def order(account, line, **extra):
        item = {"id": "1", "action": "add", "productOffering": {"id": str(offer.id)},
                "product": {"productCharacteristic": [{"name": "serviceId", "value": line}]}, **extra}
        return client.post("/tmf-api/productOrderingManagement/v4/productOrder",
                           json={"billingAccount": {"id": str(account.id)}, "productOrderItem": [item]})

    wrong = order(bob, "FTTH-1", promotionCode="NOPE")
    assert wrong.status_code == 422 and "promotionCode='NOPE' is not a promotion" in wrong.json()["message"]
    assert order(bob, "FTTH-1", promotionCode="FIBRE3").status_code == 201
    assert order(carla, "FTTH-2").status_code == 201

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    assert lines(invoice_of(uow, bob.id, date(2026, 10, 1))) == [
        ("recurring", date(2026, 10, 1), date(2026, 11, 1), D("35.00")),  # October
        ("discount", date(2026, 10, 1), date(2026, 11, 1), D("-17.50")),  # month 1: 35.00 × 50 % = 17.50 off
        ("recurring", date(2026, 11, 1), date(2026, 12, 1), D("35.00")),  # November in advance
        ("discount", date(2026, 11, 1), date(2026, 12, 1), D("-17.50")),  # month 2
    ]
    carla_october = invoice_of(uow, carla.id, date(2026, 10, 1))
    assert [line.kind for line in carla_october.lines] == ["recurring", "recurring"]  # no code, no discount
    assert totals(carla_october) == (D("70.00"), D("13.30"), D("83.30"))  # 35.00 × 2; × 0.19 = 13.30

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    bill(engine, clock, "2026-12", utc(2027, 1, 1, 2))
    assert lines(invoice_of(uow, bob.id, date(2026, 11, 1)))[-1][3] == D("-17.50")  # December: month 3
    assert lines(invoice_of(uow, bob.id, date(2026, 12, 1))) == [
        ("recurring", date(2027, 1, 1), date(2027, 2, 1), D("35.00")),  # month 4: full price
    ]

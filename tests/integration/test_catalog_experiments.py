"""A pricing experiment: two variants of an offer, each targeted at a segment; orders count as uptake."""

from decimal import Decimal

from openbss.catalog import service as catalog
from openbss.catalog.cli import catalog_app
from openbss.catalog.model import Experiment
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.money import Money
from openbss.ordering.service import NewOrder, NewOrderItem, place_order
from openbss.party import service as party
from openbss.party.service import NewBillingAccount, NewCustomer


def _variant(u, name: str, variant: str, segment: str, fee: str):
    return catalog.create_offering(u, NewOffering(
        name=name, prices=[NewPrice(kind="recurring", amount=Money.of(fee, "EUR"), period="month")],
        segments=(segment,), experiment=Experiment("summer-price", variant, segment)))


def _customer(u, n: int, segment: str):
    c = party.create_customer(u, NewCustomer(name=f"Customer {n}", segment=segment))
    return party.create_billing_account(u, NewBillingAccount(c.id, f"Account {n}", "EUR", "DE", 1, "Europe/Berlin"))


def test_uptake_counts_each_variants_orders(uow, run_cli):
    with uow() as u:
        a = _variant(u, "Mobile M (A)", "A", "students", "25.00")
        b = _variant(u, "Mobile M (B)", "B", "young", "27.50")
        for n, (offer, segment) in enumerate([(a, "students"), (a, "students"), (a, "students"), (b, "young")]):
            acc = _customer(u, n, segment)
            place_order(u, NewOrder(acc.id, [NewOrderItem(offer.id, f"+4915100000{n:03d}")]))
        uptake = catalog.experiment_uptake(u, "summer-price")
    assert uptake["orders"] == 4
    assert {k: (v["orders"], v["share"]) for k, v in uptake["variants"].items()} == {
        "A": (3, Decimal("0.7500")),  # 3 of 4 orders
        "B": (1, Decimal("0.2500")),  # 1 of 4
    }

    result = run_cli(catalog_app, ["experiment", "summer-price"], env={"COLUMNS": "120"})
    missing = run_cli(catalog_app, ["experiment", "winter"])
    assert result.exit_code == 0, result.output
    assert "4 order(s)" in result.output and "75.0 %" in result.output and "25.0 %" in result.output
    assert missing.exit_code == 1 and "no experiment" in missing.output

"""Stored rate tables: import (YAML with a prefix CSV, JSON), immutable versions, the CLI, validation naming
the document path, and the catalog's link from a usage price (TMF620 pricingLogicAlgorithm)."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.core.errors import InvalidValue, NotFound
from openbss.core.money import Money
from openbss.rating import document, store
from openbss.rating.cli import rating_app

DATA = Path(__file__).resolve().parents[1] / "data" / "rating"
TABLE = DATA / "mobile.yaml"


def test_import_reads_the_prefix_file_and_keeps_versions(uow, tmp_path):
    with uow() as u:
        first, created = store.import_file(u, TABLE)
        again, created_again = store.import_file(u, TABLE)  # the same content: no new version
        table = store.load(u, first)
    assert (first.name, first.version, first.currency, created) == ("mobile-de", 1, "EUR", True)
    assert (again, created_again) == (first, False)
    assert table.zone_for("491701234").name == "Germany mobile"  # 49170 from mobile-prefixes.csv
    changed = tmp_path / "mobile.json"  # the stored document read back as JSON, with the French rate changed
    data = document.to_document(table) | {"name": "mobile-de"}
    data["zones"][2]["rates"][1]["price"] = "0.40"
    changed.write_text(json.dumps(data))
    with uow() as u:
        second, _ = store.import_file(u, changed)
        assert store.get_version(u, "mobile-de") == second and second.version == 2
        assert [v.version for v in store.versions(u, "mobile-de")] == [1, 2]
        assert store.list_tables(u) == [(second, 2)]
        old = store.load(u, store.get_version(u, "mobile-de", 1))
    at = datetime(2026, 12, 5, tzinfo=UTC)
    assert old.zones[2].rate_at("voice", at).price == Decimal("0.45")  # version 1 is kept as it was


@pytest.mark.parametrize("change, path", [
    (lambda d: d["zones"][0]["rates"][0].update(price="0.0000001"), "zones[0].rates[0].price"),
    (lambda d: d["zones"][0]["rates"][0].update(conectFee="0.1"), "zones[0].rates[0].conectFee"),
    (lambda d: d["zones"][1]["rates"][0]["bands"][0].update(days=["someday"]), "zones[1].rates[0].bands[0].days[0]"),
    (lambda d: d["zones"][1]["rates"][0]["bands"][0].update(start="18:00", end="08:00"),
     "zones[1].rates[0].bands[0].end"),
    (lambda d: d["zones"][2].update(prefixes=["49"]), "zones[2].prefixes[0]"),
    (lambda d: d["zones"][0].update(prefixes=["+49"]), "zones[0].prefixes[0]"),
    (lambda d: d.update(currency="EURO"), "currency"),
    (lambda d: d["zones"][2]["rates"][1]["validFor"].update(startDateTime="2026-11-01T00:00:00Z"), "zones[2].rates"),
])
def test_problems_name_their_path_in_the_document(change, path):
    data = document.to_document(document.load(TABLE)[1])
    change(data)
    with pytest.raises(InvalidValue) as err:
        document.parse(data)
    assert err.value.field == path


def test_a_prefix_file_problem_names_its_line(tmp_path):
    (tmp_path / "p.csv").write_text("prefix,zone\n4915,Germany mobile\n4916,Mars\n")
    (tmp_path / "t.yaml").write_text("currency: EUR\nprefixFile: p.csv\nzones: [{name: Germany mobile}]\n")
    with pytest.raises(InvalidValue) as err:
        document.load(tmp_path / "t.yaml")
    assert (err.value.field, err.value.value) == ("p.csv:3", "Mars")


def test_the_cli_imports_lists_and_shows(run_cli):
    imported = run_cli(rating_app, ["table", "import", str(TABLE), "--name", "mobile"])
    assert imported.exit_code == 0, imported.output
    assert "imported mobile version 1: 3 zone(s), 5 prefix(es), EUR" in imported.output
    listed = run_cli(rating_app, ["table", "list"])
    assert listed.exit_code == 0 and "mobile" in listed.output
    shown = run_cli(rating_app, ["table", "show", "mobile"])
    assert shown.exit_code == 0 and "zone Germany mobile: 49151, 49160, 49170" in shown.output
    missing = run_cli(rating_app, ["table", "show", "nope"])
    assert missing.exit_code == 1 and "nope" in missing.output


def test_a_bad_document_is_refused_by_the_cli_with_its_path(run_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncurrency: EUR\nzones: [{name: A, prefixes: ['1'], rates: [{usageType: voice}]}]\n")
    result = run_cli(rating_app, ["table", "import", str(bad)])
    assert result.exit_code == 1 and "zones[0].rates[0].price" in result.output


def usage_price(**kw):
    return NewPrice(kind="usage", amount=Money.of(kw.pop("amount", "0.10"), kw.pop("currency", "EUR")),
                    usage_type="voice", unit_size=Decimal(60), **kw)


@pytest.mark.parametrize("price, field", [
    (usage_price(rate_table="nope"), "productOfferingPrice[0].pricingLogicAlgorithm[0].name"),
    (usage_price(rate_table="mobile-de", currency="USD"), "productOfferingPrice[0].price.unit"),
    (usage_price(rate_table="mobile-de", usage_model="block"), "productOfferingPrice[0].usageModel"),
    (usage_price(rate_table="mobile-de", included_units=Decimal("0.5")), "productOfferingPrice[0].includedUnits"),
    (usage_price(rate_table="mobile-de", allowance_scope="family"), "productOfferingPrice[0].allowanceScope"),
    (usage_price(rollover=True), "productOfferingPrice[0].rollover"),  # rollover needs a rate table
])
def test_the_catalog_checks_a_rate_table_price(uow, price, field):
    with uow() as u:
        store.import_file(u, TABLE)
    with pytest.raises((InvalidValue, NotFound)) as err:
        with uow() as u:
            create_offering(u, NewOffering(name="Bad", prices=[price]))
    assert err.value.field == field


def test_a_rate_table_price_in_tmf620(client, uow):
    with uow() as u:
        store.import_file(u, TABLE)
    pla = [{"name": "mobile-de", "plaSpecId": "rateTable", "@type": "PricingLogicAlgorithm"}]
    r = client.post("/tmf-api/productCatalogManagement/v4/productOffering", json={
        "name": "Mobile Table", "lifecycleStatus": "active", "productOfferingPrice": [{
            "priceType": "usage", "usageType": "voice", "price": {"unit": "EUR", "value": 0.1},
            "unitOfMeasure": {"amount": 60, "units": "second"}, "includedUnits": 300, "rollover": True,
            "allowanceScope": "hierarchy", "pricingLogicAlgorithm": pla}]})
    assert r.status_code == 201, r.text
    price = r.json()["productOfferingPrice"][0]
    shown = client.get(price["href"].replace("http://testserver", "")).json()
    assert (shown["pricingLogicAlgorithm"], shown["rollover"], shown["allowanceScope"]) == (pla, True, "hierarchy")
    from tests.tmf_spec import spec_errors
    assert spec_errors("TMF620-ProductCatalog-v4.0.0", "ProductOfferingPrice", shown) == []
    wrong = {**pla[0], "plaSpecId": "python"}
    r = client.post("/tmf-api/productCatalogManagement/v4/productOffering", json={
        "name": "Mobile Other", "productOfferingPrice": [{
            "priceType": "usage", "usageType": "voice", "price": {"unit": "EUR", "value": 0.1},
            "pricingLogicAlgorithm": [wrong]}]})
    assert r.status_code == 422 and "plaSpecId" in r.json()["message"]

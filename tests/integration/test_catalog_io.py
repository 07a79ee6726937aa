"""Catalog as code: the sample file imports whole, round-trips, and a bad file imports nothing and points to
the line, path and value of each problem; the same through `openbss catalog import/export`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from openbss.catalog import service as catalog
from openbss.catalog.cli import catalog_app
from openbss.catalog.io import ImportProblem, export_yaml, import_yaml
from openbss.catalog.model import usage_charge
from openbss.core.money import Money
from openbss.db.uow import unit_of_work

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "catalog" / "sample.yaml"
MB = Decimal(1_000_000)


def offerings_by_name(u):
    items, _ = catalog.list_offerings(u, {}, 0, 100)
    return {o.name: o for o in items}


def test_the_sample_catalog_imports_whole(uow):
    with uow() as u:
        report = import_yaml(u, SAMPLE)
    assert report.problems == []
    assert (report.specifications, report.offerings, report.prices) == (2, 3, 9)
    with uow() as u:
        o = offerings_by_name(u)
        mobile, fibre, bundle = o["Mobile M"], o["Fibre 100"], o["Mobile + Fibre"]
        spec = catalog.get_specification(u, mobile.spec_id)
    assert spec.name == "Mobile line" and [c.name for c in spec.characteristics] == ["msisdn", "dataAllowance"]
    assert (bundle.is_bundle, bundle.bundled_offering_ids) == (True, (mobile.id, fibre.id))
    assert (mobile.segments, mobile.countries, mobile.channels) == (("consumer",), ("DE", "AT"), ("web", "shop"))
    data = next(p for p in mobile.prices if p.name == "Data")
    # 7000 MB used, 1000 MB included: 6000 MB chargeable, in tiers from the first chargeable MB
    # = 5000 MB × 0.01 + 1000 MB × 0.005 = 50.00 + 5.00 = 55.00
    assert usage_charge(data, 7000 * MB) == Money.of("55", "EUR")
    promo = next(p for p in fibre.prices if p.kind == "discount")
    assert (promo.percentage, promo.applies_to, promo.duration_periods, promo.promotion_code) == (
        Decimal(50), "Monthly fee", 3, "FIBRE3")
    (bundle_discount,) = bundle.prices
    assert (bundle_discount.percentage, bundle_discount.applies_to) == (Decimal(10), None)


@pytest.fixture
def empty_catalog(admin_url, template_url, engine):
    """A second fresh database beside the test's own, as the `engine` fixture makes them."""
    name = f"{engine.url.database}_empty"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_url}"')
    other = sa.create_engine(engine.url.set(database=name))
    yield other
    other.dispose()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_export_then_import_into_an_empty_catalog_exports_the_same(uow, empty_catalog):
    with uow() as u:
        import_yaml(u, SAMPLE)
    with uow() as u:
        first = export_yaml(u)
    assert "promotionCode: FIBRE3" in first and "bundledProductOffering:\n  - name: Mobile M" in first
    with unit_of_work(empty_catalog, actor="test") as u:
        assert import_yaml(u, first).ok
    with unit_of_work(empty_catalog, actor="test") as u:
        assert export_yaml(u) == first


BAD = """\
productOffering:
- name: Good one
  productOfferingPrice:
  - {name: Fee, priceType: recurring, price: {unit: EUR, value: 10}}
- name: Bad price
  productOfferingPrice:
  - name: Fee
    priceType: recurring
    price: {unit: EUR, value: -5}
- name: Bad tiers
  productOfferingPrice:
  - name: Data
    priceType: usage
    usageType: data
    usageModel: volume
    price: {unit: EUR, value: 0.01}
    tiers:
    - {from: 0, upTo: 100, unitPrice: 0.01}
    - {from: 200, unitPrice: 0.005}
- name: Bundle of nothing
  isBundle: true
  bundledProductOffering: [{name: Good one}, {name: Nowhere}]
- description: no name
"""


def test_a_bad_file_imports_nothing_and_names_file_line_path_and_value(uow):
    with uow() as u:
        report = import_yaml(u, BAD)
    assert report.problems == [
        ImportProblem("<text>", 9, "productOffering[1].productOfferingPrice[0].price.value", "-5",
                      "must not be negative"),
        ImportProblem("<text>", 19, "productOffering[2].productOfferingPrice[0].tiers[1].from", "200",
                      "must equal tiers[0].upTo (100): tiers are contiguous"),
        ImportProblem("<text>", 22, "productOffering[3].bundledProductOffering[1].name", "Nowhere",
                      "names no productOffering earlier in the file or in the catalog"),
        ImportProblem("<text>", 23, "productOffering[4].name", None, "is required"),
    ]
    assert str(report.problems[0]) == "<text>:9: productOffering[1].productOfferingPrice[0].price.value='-5' " \
                                      "must not be negative"
    assert (report.offerings, report.ok) == (0, False)
    with uow() as u:
        assert catalog.list_offerings(u, {}, 0, 10) == ([], 0)  # "Good one" was rolled back too


@pytest.mark.parametrize(
    "text, line, path, problem",
    [
        ("productOffering: [\n", 2, "", "is not valid YAML"),
        ("offerings: []\n", 1, "", "must be a mapping of productSpecification, productOffering"),
        ("productOffering: {name: x}\n", 1, "productOffering", "must be a list"),
    ],
)
def test_a_file_that_is_not_a_catalog_is_refused(uow, text, line, path, problem):
    with uow() as u:
        (p,) = import_yaml(u, text).problems
    assert (p.line, p.path) == (line, path) and p.problem.startswith(problem)


def test_an_offering_already_in_the_catalog_is_not_imported_twice(uow):
    with uow() as u:
        assert import_yaml(u, SAMPLE).ok
    with uow() as u:
        report = import_yaml(u, SAMPLE)
    assert report.problems[0] == ImportProblem(str(SAMPLE), 24, "productOffering[0].name", "Mobile M",
                                               "productOffering 'Mobile M' is already in the catalog")


def test_cli_imports_and_exports(run_cli, tmp_path):
    r = run_cli(catalog_app, ["import", str(SAMPLE)])
    assert r.exit_code == 0, r.output
    assert "imported 2 specification(s), 3 offering(s) with 9 price(s)" in r.output
    out = tmp_path / "catalog.yaml"
    r = run_cli(catalog_app, ["export", str(out)])
    assert r.exit_code == 0, r.output
    r = run_cli(catalog_app, ["export"])
    assert r.output == out.read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    r = run_cli(catalog_app, ["import", str(bad)])
    assert r.exit_code == 1
    assert f"{bad}:9: productOffering[1].productOfferingPrice[0].price.value='-5' must not be negative" in r.output
    assert "4 problem(s); nothing imported" in r.output

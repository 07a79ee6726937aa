"""TMF620 resources beyond the offering: specifications, standalone prices, categories, catalogs; merge-patch,
delete and lifecycle rules; bundles, discounts and tiers through the API; experiment uptake."""

from __future__ import annotations

import uuid

import pytest

from openbss.audit.service import trail
from openbss.catalog import service as catalog
from openbss.catalog.model import Experiment
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.errors import NotFound
from openbss.core.money import Money
from tests.tmf_spec import spec_errors

BASE = "/tmf-api/productCatalogManagement/v4"
SPEC = "TMF620-ProductCatalog-v4.0.0"
MERGE = {"Content-Type": "application/merge-patch+json"}
FEE = {"name": "Monthly fee", "priceType": "recurring", "price": {"unit": "EUR", "value": 30}}


def post(client, resource, body, status=201):
    r = client.post(f"{BASE}/{resource}", json=body)
    assert r.status_code == status, r.text
    return r.json()


def patch(client, resource, ident, body, status=200):
    r = client.patch(f"{BASE}/{resource}/{ident}", json=body, headers=MERGE)
    assert r.status_code == status, r.text
    return r.json()


def test_a_specification_with_characteristics(client):
    spec = post(client, "productSpecification", {
        "name": "Mobile line", "brand": "openbss",
        "productSpecCharacteristic": [
            {"name": "msisdn", "valueType": "string", "configurable": True, "minCardinality": 1},
            {"name": "speed", "valueType": "number", "productSpecCharacteristicValue": [
                {"value": 100, "unitOfMeasure": "Mbit/s", "isDefault": True}, {"value": 250}]},
        ]})
    assert spec_errors(SPEC, "ProductSpecification", spec) == []
    assert (spec["lifecycleStatus"], spec["productSpecCharacteristic"][1]["productSpecCharacteristicValue"]) == (
        "inDesign", [{"value": 100, "isDefault": True, "unitOfMeasure": "Mbit/s"}, {"value": 250, "isDefault": False}])
    # merge-patch: nested validFor merges key by key, null removes brand
    patched = patch(client, "productSpecification", spec["id"], {
        "brand": None, "lifecycleStatus": "active", "validFor": {"startDateTime": "2026-10-01T00:00:00Z"}})
    assert ("brand" in patched, patched["lifecycleStatus"], patched["validFor"]) == (
        False, "active", {"startDateTime": "2026-10-01T00:00:00Z"})
    assert client.get(f"{BASE}/productSpecification/{spec['id']}").json() == patched

    r = client.post(f"{BASE}/productSpecification", json={"name": "Dup", "productSpecCharacteristic": [
        {"name": "a"}, {"name": "a"}]})
    assert r.status_code == 422
    assert r.json()["message"] == ("productSpecCharacteristic[1].name='a' is used by another characteristic of "
                                   "this specification")


def test_an_offering_refers_to_a_local_or_an_external_specification(client):
    spec = post(client, "productSpecification", {"name": "Fibre line"})
    local = post(client, "productOffering", {"name": "Fibre", "productSpecification": {"id": spec["id"]}})
    assert local["productSpecification"] == {
        "id": spec["id"], "href": spec["href"], "@referredType": "ProductSpecification"}
    external = {"id": "9881", "href": "https://mycsp.com:8080/tmf-api/productCatalogManagement/v4/"
                "productSpecification/9881", "version": "1.1", "name": "Robotics999",
                "@referredType": "DeviceSpecification"}
    offer = post(client, "productOffering", {"name": "Robot", "productSpecification": external})
    assert offer["productSpecification"] == external
    r = client.post(f"{BASE}/productOffering", json={"name": "X", "productSpecification": {"id": str(uuid.uuid4())}})
    assert (r.status_code, r.json()["code"]) == (422, "INVALID_REFERENCE")
    # a specification in use cannot be deleted; an unused one can
    r = client.delete(f"{BASE}/productSpecification/{spec['id']}")
    assert r.status_code == 409 and "offering Fibre" in r.json()["message"]


def test_a_price_made_on_its_own_is_taken_by_an_offering_then_frozen_once_sold(client, uow):
    draft = post(client, "productOfferingPrice", {"name": "Recurring Charge", "priceType": "recurring"})
    assert (draft["lifecycleStatus"], draft["recurringChargePeriodType"], "price" in draft) == (
        "active", "month", False)
    assert spec_errors(SPEC, "ProductOfferingPrice", draft) == []
    # an offering cannot take a price without an amount
    r = client.post(f"{BASE}/productOffering", json={"name": "Mobile", "productOfferingPrice": [{"id": draft["id"]}]})
    assert r.status_code == 422
    assert r.json()["message"] == "productOfferingPrice[0].price=None is required on a recurring price"
    patch(client, "productOfferingPrice", draft["id"], {"price": {"unit": "EUR", "value": 25}})
    offer = post(client, "productOffering", {"name": "Mobile", "productOfferingPrice": [{"id": draft["id"]}]})
    assert [p["id"] for p in offer["productOfferingPrice"]] == [draft["id"]]
    # a second offering cannot take the same price
    r = client.post(f"{BASE}/productOffering", json={"name": "Other", "productOfferingPrice": [{"id": draft["id"]}]})
    assert r.status_code == 409

    # while in design the price may still change in place; once sold, only a new version changes the price
    patch(client, "productOfferingPrice", draft["id"], {"price": {"unit": "EUR", "value": 20}})
    patch(client, "productOffering", offer["id"], {"lifecycleStatus": "active"})
    r = client.patch(f"{BASE}/productOfferingPrice/{draft['id']}", json={"price": {"unit": "EUR", "value": 22}})
    assert r.status_code == 409
    assert r.json()["message"] == (
        f"productOfferingPrice {draft['id']} is on offering Mobile, which is active: amount cannot change in place; "
        "add a new price version with validFor instead")
    renamed = patch(client, "productOfferingPrice", draft["id"], {"name": "Base fee"})
    assert renamed["name"] == "Base fee"
    r = client.delete(f"{BASE}/productOfferingPrice/{draft['id']}")
    assert r.status_code == 409 and "end its validity" in r.json()["message"]

    # a new version: the old one ends where the new one starts, with the policy for existing subscribers
    patch(client, "productOfferingPrice", draft["id"], {"validFor": {"endDateTime": "2027-01-01T00:00:00Z"}})
    prices = client.get(f"{BASE}/productOffering/{offer['id']}").json()["productOfferingPrice"]
    new = {**FEE, "price": {"unit": "EUR", "value": 24}, "priceChangePolicy": "next_cycle",
           "validFor": {"startDateTime": "2027-01-01T00:00:00Z"}}
    offer = patch(client, "productOffering", offer["id"], {"productOfferingPrice": [*prices, new]})
    assert [(p["price"]["value"], p.get("priceChangePolicy")) for p in offer["productOfferingPrice"]] == [
        (20.0, None), (24.0, "next_cycle")]
    # a sold offering cannot drop a price
    r = client.patch(f"{BASE}/productOffering/{offer['id']}", json={"productOfferingPrice": []}, headers=MERGE)
    assert r.status_code == 409 and "cannot be removed" in r.json()["message"]
    with uow() as u:
        actions = [e["action"] for e in trail(u, uuid.UUID(draft["id"]))]
    assert actions[0] == "productOfferingPrice.created" and actions.count("productOfferingPrice.updated") == 4


def test_lifecycle_transitions_and_delete(client):
    offer = post(client, "productOffering", {"name": "Trial", "productOfferingPrice": [FEE]})
    assert offer["lifecycleStatus"] == "inDesign"
    patch(client, "productOffering", offer["id"], {"lifecycleStatus": "launched"})
    r = client.patch(f"{BASE}/productOffering/{offer['id']}", json={"lifecycleStatus": "inDesign"}, headers=MERGE)
    assert r.status_code == 409
    assert r.json()["message"] == (f"productOffering {offer['id']} is launched; it can move to active, retired, "
                                   "not inDesign")
    r = client.delete(f"{BASE}/productOffering/{offer['id']}")
    assert r.status_code == 409 and r.json()["message"].startswith(f"productOffering {offer['id']} is launched; "
                                                                   "retire it instead")
    assert patch(client, "productOffering", offer["id"], {"lifecycleStatus": "retired"})["lifecycleStatus"] == "retired"

    draft = post(client, "productOffering", {"name": "Never sold", "productOfferingPrice": [FEE]})
    assert client.delete(f"{BASE}/productOffering/{draft['id']}").status_code == 204
    assert client.get(f"{BASE}/productOffering/{draft['id']}").status_code == 404
    price_id = draft["productOfferingPrice"][0]["id"]
    assert client.get(f"{BASE}/productOfferingPrice/{price_id}").status_code == 404  # went with its offering


def test_bundle_discounts_and_tiers_through_the_api(client):
    mobile = post(client, "productOffering", {"name": "Mobile", "lifecycleStatus": "active", "productOfferingPrice": [
        FEE, {"name": "Data", "priceType": "usage", "usageModel": "graduated", "price": {"unit": "EUR", "value": 0.01},
              "unitOfMeasure": {"amount": 1000000, "units": "byte"}, "includedUnits": 1000000000,
              "tiers": [{"from": 0, "upTo": 5000000000, "unitPrice": 0.01}, {"from": 5000000000, "unitPrice": 0.005}]},
        {"name": "Activation", "priceType": "oneTime", "price": {"unit": "EUR", "value": 9.99}},
        {"name": "Gold", "priceType": "discount", "price": {"unit": "EUR", "value": 5}, "appliesTo": "Monthly fee",
         "customerSegment": "gold"},
    ]})
    assert spec_errors(SPEC, "ProductOffering", mobile) == []
    data = mobile["productOfferingPrice"][1]
    assert (data["usageModel"], data["includedUnits"], data["tiers"]) == ("graduated", 1000000000, [
        {"from": 0, "upTo": 5000000000, "unitPrice": 0.01}, {"from": 5000000000, "unitPrice": 0.005}])
    fibre = post(client, "productOffering", {"name": "Fibre", "lifecycleStatus": "active",
                                            "productOfferingPrice": [FEE]})
    bundle = post(client, "productOffering", {
        "name": "Mobile + Fibre", "isBundle": True, "lifecycleStatus": "active",
        "bundledProductOffering": [{"id": mobile["id"]}, {"id": fibre["id"]}],
        "marketSegment": [{"id": "consumer"}], "place": [{"id": "DE"}], "channel": [{"id": "web"}],
        "productOfferingPrice": [
            {"name": "Bundle discount", "priceType": "discount", "percentage": 10},
            {"name": "Welcome", "priceType": "discount", "percentage": 50, "applicationDuration": 3,
             "promotionCode": "WELCOME3", "requiresOffering": [{"id": fibre["id"]}]}]})
    assert spec_errors(SPEC, "ProductOffering", bundle) == []
    assert [b["id"] for b in bundle["bundledProductOffering"]] == [mobile["id"], fibre["id"]]
    assert bundle["marketSegment"] == [{"id": "consumer", "name": "consumer", "@referredType": "MarketSegment"}]
    welcome = bundle["productOfferingPrice"][1]
    assert (welcome["percentage"], welcome["applicationDuration"], welcome["promotionCode"],
            welcome["requiresOffering"][0]["id"]) == (50, 3, "WELCOME3", fibre["id"])

    r = client.post(f"{BASE}/productOffering", json={"name": "Half", "isBundle": True,
                                                      "bundledProductOffering": [{"id": mobile["id"]}]})
    assert r.json()["message"].endswith("must hold at least two offerings in a bundle")
    r = client.post(f"{BASE}/productOffering", json={"name": "Nested", "isBundle": True, "bundledProductOffering": [
        {"id": mobile["id"]}, {"id": bundle["id"]}]})
    assert r.status_code == 422 and "bundles do not nest" in r.json()["message"]
    r = client.delete(f"{BASE}/productOffering/{fibre['id']}")
    assert r.status_code == 409


@pytest.mark.parametrize(
    "params, expected",
    [({"priceType": "usage"}, ["Data"]), ({"priceType": "recurring", "fields": "priceType"}, ["Monthly fee"]),
     ({"name": "Data"}, ["Data"])],
)
def test_price_list_filters(client, params, expected):
    post(client, "productOffering", {"name": "M", "productOfferingPrice": [FEE, {
        "name": "Data", "priceType": "usage", "price": {"unit": "EUR", "value": 0.01},
        "unitOfMeasure": {"amount": 1000000, "units": "byte"}}]})
    r = client.get(f"{BASE}/productOfferingPrice", params=params)
    assert r.status_code == 200
    names = [p.get("name") for p in r.json()]
    if "fields" in params:
        assert set(r.json()[0]) == {"id", "href", "@type", "priceType"}
        names = ["Monthly fee"] if r.json()[0]["priceType"] == "recurring" else names
    assert names == expected


def test_id_and_last_update_filters_parse_their_values(client, clock):
    a = post(client, "productOffering", {"name": "A"})
    r = client.get(f"{BASE}/productOffering", params={"id": a["id"]})
    assert [o["id"] for o in r.json()] == [a["id"]]
    r = client.get(f"{BASE}/productOffering", params={"lastUpdate": "2026-10-01T09:00:00Z"})
    assert [o["id"] for o in r.json()] == [a["id"]]
    r = client.get(f"{BASE}/productOffering", params={"id": "nope"})
    assert (r.status_code, r.json()["message"]) == (422, "id='nope' is not a valid UUID")


def test_categories_and_catalogs(client):
    root = post(client, "category", {"name": "Mobile"})
    child = post(client, "category", {"name": "Prepaid", "parentId": root["id"]})
    assert spec_errors(SPEC, "Category", child) == []
    assert client.get(f"{BASE}/category/{root['id']}").json()["subCategory"][0]["id"] == child["id"]
    r = client.patch(f"{BASE}/category/{root['id']}", json={"parentId": child["id"]}, headers=MERGE)
    assert r.status_code == 422 and "its own ancestor" in r.json()["message"]
    cat = post(client, "catalog", {"name": "Consumer", "catalogType": "productCatalog",
                                   "category": [{"id": root["id"]}]})
    assert spec_errors(SPEC, "Catalog", cat) == []
    post(client, "productOffering", {"name": "P", "category": [{"id": child["id"]}]})
    r = client.delete(f"{BASE}/category/{child['id']}")
    assert r.status_code == 409 and r.json()["message"].endswith("is used by offering P")
    assert client.delete(f"{BASE}/catalog/{cat['id']}").status_code == 204
    assert client.get(f"{BASE}/catalog/{cat['id']}").status_code == 404


def test_experiment_uptake(uow):
    fee = NewPrice(kind="recurring", amount=Money.of("20", "EUR"), period="month")
    with uow() as u:
        variants = {
            v: catalog.create_offering(u, NewOffering(f"Student {v}", prices=[fee],
                                                      experiment=Experiment("student-price", v, "students")))
            for v in ("A", "B")
        }
        plain = catalog.create_offering(u, NewOffering("Plain", prices=[fee]))
    orders = [uuid.uuid4() for _ in range(4)]
    with uow() as u:
        for order, variant in zip(orders, "AABB", strict=True):
            catalog.record_experiment_order(u, variants[variant].id, order)
        catalog.record_experiment_order(u, variants["B"].id, orders[3])  # the same order again: counted once
        catalog.record_experiment_order(u, variants["B"].id, uuid.uuid4())
        catalog.record_experiment_order(u, plain.id, uuid.uuid4())  # not in an experiment: ignored
    with uow() as u:
        uptake = catalog.experiment_uptake(u, "student-price")
        with pytest.raises(NotFound):
            catalog.experiment_uptake(u, "nothing")
    assert uptake["orders"] == 5
    assert {v: (d["offering"], d["orders"], str(d["share"])) for v, d in uptake["variants"].items()} == {
        "A": ("Student A", 2, "0.4000"), "B": ("Student B", 3, "0.6000")}  # 2/5 and 3/5

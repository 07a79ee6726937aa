"""TMF620 through the API: an offering with its tariff inline, read back, listed, and refused when wrong."""

from __future__ import annotations

import uuid

import pytest

from openbss.audit.service import trail
from tests.tmf_spec import spec_errors

BASE = "/tmf-api/productCatalogManagement/v4"
SPEC = "TMF620-ProductCatalog-v4.0.0"

MOBILE_M = {
    "name": "Mobile M",
    "description": "10 GB, calls and texts by use",
    "taxCategory": "standard",
    "lifecycleStatus": "active",
    "productOfferingPrice": [
        {"name": "Monthly fee", "priceType": "recurring", "recurringChargePeriodType": "month",
         "price": {"unit": "EUR", "value": 30.00}},
        {"name": "Calls", "priceType": "usage", "price": {"unit": "EUR", "value": 0.0020},
         "unitOfMeasure": {"amount": 1, "units": "second"}, "usageType": "voice"},
        # usageType left out: the unit names it
        {"priceType": "usage", "price": {"unit": "EUR", "value": "0.0100"},
         "unitOfMeasure": {"amount": 1000000, "units": "byte"}},
    ],
}


def create(client, body=None, **changes):
    r = client.post(f"{BASE}/productOffering", json={**(body or MOBILE_M), **changes})
    assert r.status_code == 201, r.text
    return r.json()


def test_create_and_read_an_offering_with_its_tariff(client):
    r = client.post(f"{BASE}/productOffering", json=MOBILE_M)
    assert r.status_code == 201, r.text
    offer = r.json()
    assert r.headers["Location"] == offer["href"] == f"http://testserver{BASE}/productOffering/{offer['id']}"
    assert spec_errors(SPEC, "ProductOffering", offer) == []
    assert {k: offer[k] for k in ("@type", "name", "description", "lifecycleStatus", "taxCategory", "lastUpdate")} == {
        "@type": "ProductOffering", "name": "Mobile M", "description": "10 GB, calls and texts by use",
        "lifecycleStatus": "active", "taxCategory": "standard", "lastUpdate": "2026-10-01T09:00:00Z"}
    prices = [{k: v for k, v in p.items() if k not in ("id", "href")} for p in offer["productOfferingPrice"]]
    assert prices == [
        {"@referredType": "ProductOfferingPrice", "name": "Monthly fee", "priceType": "recurring",
         "lifecycleStatus": "active", "isBundle": False, "price": {"unit": "EUR", "value": 30.0},
         "recurringChargePeriodType": "month", "recurringChargePeriodLength": 1, "chargeTiming": "inAdvance"},
        {"@referredType": "ProductOfferingPrice", "name": "Calls", "priceType": "usage",
         "lifecycleStatus": "active", "isBundle": False, "price": {"unit": "EUR", "value": 0.002},
         "usageType": "voice", "usageModel": "perUnit", "unitOfMeasure": {"amount": 1, "units": "second"}},
        {"@referredType": "ProductOfferingPrice", "name": "data usage", "priceType": "usage",
         "lifecycleStatus": "active", "isBundle": False, "price": {"unit": "EUR", "value": 0.01},
         "usageType": "data", "usageModel": "perUnit", "unitOfMeasure": {"amount": 1000000, "units": "byte"}},
    ]

    assert client.get(f"{BASE}/productOffering/{offer['id']}").json() == offer
    calls = offer["productOfferingPrice"][1]
    r = client.get(calls["href"].removeprefix("http://testserver"))
    assert r.status_code == 200, r.text
    assert r.json() == {**{k: v for k, v in calls.items() if k != "@referredType"}, "@type": "ProductOfferingPrice",
                        "lastUpdate": "2026-10-01T09:00:00Z"}
    assert spec_errors(SPEC, "ProductOfferingPrice", r.json()) == []


def test_price_validity_round_trips(client):
    offer = create(client, productOfferingPrice=[
        {"priceType": "recurring", "price": {"unit": "EUR", "value": "30"},
         "validFor": {"startDateTime": "2026-01-01T00:00:00+01:00", "endDateTime": "2027-01-01T00:00:00Z"}}])
    (p,) = offer["productOfferingPrice"]
    assert p["recurringChargePeriodType"] == "month"  # the default for a recurring price
    assert p["validFor"] == {"startDateTime": "2025-12-31T23:00:00Z", "endDateTime": "2027-01-01T00:00:00Z"}


def test_list_pages_filters_and_fields(client):
    ids = [create(client, name=n)["id"] for n in ("Mobile S", "Mobile M", "Mobile L")]
    create(client, name="Mobile XL", lifecycleStatus="retired")

    r = client.get(f"{BASE}/productOffering", params={"offset": 1, "limit": 2})
    assert r.status_code == 200
    assert (r.headers["X-Total-Count"], r.headers["X-Result-Count"]) == ("4", "2")
    assert [o["id"] for o in r.json()] == ids[1:3]

    r = client.get(f"{BASE}/productOffering", params={"name": "Mobile M", "fields": "name"})
    assert r.json() == [{"id": ids[1], "href": f"http://testserver{BASE}/productOffering/{ids[1]}",
                         "@type": "ProductOffering", "name": "Mobile M"}]
    r = client.get(f"{BASE}/productOffering", params={"lifecycleStatus": "retired"})
    assert [o["name"] for o in r.json()] == ["Mobile XL"]

    r = client.get(f"{BASE}/productOffering", params={"colour": "red"})
    assert r.status_code == 422 and "colour='red'" in r.json()["message"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"price": {"unit": "EUR", "value": -0.5}},
         "productOfferingPrice[1].price.value='-0.5' must not be negative"),
        ({"usageType": "mms"}, "productOfferingPrice[1].usageType='mms' must be one of voice, sms, data"),
        ({"unitOfMeasure": {"amount": 1, "units": "byte"}},
         "productOfferingPrice[1].unitOfMeasure.units='byte' must be 'second' for usageType 'voice'"),
        ({"unitOfMeasure": {"amount": 0, "units": "second"}},
         "productOfferingPrice[1].unitOfMeasure.amount='0' must be greater than 0"),
        ({"price": {"unit": "EURO", "value": 1}}, "productOfferingPrice[1].price.unit='EURO' is not an ISO 4217"),
        ({"priceType": "setup"},
         "productOfferingPrice[1].priceType='setup' must be one of oneTime, recurring, usage, discount"),
        ({"priceType": "oneTime"}, "productOfferingPrice[1].usageType='voice' must be absent on a oneTime price"),
        ({"priceType": "recurring", "usageType": None, "unitOfMeasure": None},
         "productOfferingPrice[1]='recurring EUR' overlaps productOfferingPrice[0]"),
    ],
)
def test_a_bad_price_is_422_naming_the_field_and_nothing_is_written(client, change, message):
    prices = [MOBILE_M["productOfferingPrice"][0], {**MOBILE_M["productOfferingPrice"][1], **change}]
    r = client.post(f"{BASE}/productOffering", json={**MOBILE_M, "productOfferingPrice": prices})
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(message), r.json()["message"]
    assert client.get(f"{BASE}/productOffering").headers["X-Total-Count"] == "0"


def test_an_offering_is_designed_before_it_is_priced(client):
    r = client.post(f"{BASE}/productOffering", json={"name": "Nothing yet", "productOfferingPrice": []})
    assert r.status_code == 201
    assert (r.json()["lifecycleStatus"], r.json()["productOfferingPrice"] if "productOfferingPrice" in r.json()
            else []) == ("inDesign", [])


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "Mobile M", ',
        b'{"productOfferingPrice": []}',
        b'{"name": "Mobile M", "productOfferingPrice": [{"price": {"unit": "EUR", "value": 1}}]}',
        b'{"name": "M", "productOfferingPrice": [{"priceType": "usage", "price": {"unit": "EUR", "value": "x"}}]}',
    ],
    ids=["not-json", "no-name", "no-priceType", "value-not-a-number"],
)
def test_a_malformed_body_is_400(client, body):
    r = client.post(f"{BASE}/productOffering", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_BODY"


def test_unknown_ids_are_404(client):
    for path in ("productOffering/0190a1b2-0000-7000-8000-000000000000", "productOffering/nope",
                 "productOfferingPrice/0190a1b2-0000-7000-8000-000000000000"):
        r = client.get(f"{BASE}/{path}")
        assert r.status_code == 404, path


def test_creation_is_audited(client, uow):
    offer = create(client)
    with uow() as u:
        (entry,) = trail(u, uuid.UUID(offer["id"]))
    assert entry["action"] == "productOffering.created"
    assert [p["kind"] for p in entry["after"]["prices"]] == ["recurring", "usage", "usage"]

"""TMF622 orders and TMF637 products: an order with a billing account completes at once into active products,
or writes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from openbss.audit.service import trail
from openbss.ordering import service as ordering
from tests import factories

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
PRODUCTS = "/tmf-api/productInventory/v4/product"
MSISDN = "+491511234567"


@pytest.fixture
def shop(uow):
    """An EUR account and the Mobile M offering, built through the services."""
    with uow() as u:
        return factories.account(u), factories.offering(u)


def order_body(account_id, *items, start=None):
    body = {
        "billingAccount": {"id": str(account_id)},
        "productOrderItem": [
            {"id": str(n), "action": "add", "productOffering": {"id": str(offering_id)},
             "product": {"productCharacteristic": [{"name": "serviceId", "value": service_id}]}}
            for n, (offering_id, service_id) in enumerate(items, 1)
        ],
    }
    if start:
        body["requestedStartDate"] = start
    return body


def counts(client) -> tuple[str, str]:
    return client.get(ORDERS).headers["X-Total-Count"], client.get(PRODUCTS).headers["X-Total-Count"]


def test_an_order_completes_into_an_active_product(client, shop):
    account, offer = shop
    prices = {
        p.usage_type or p.kind: {
            "id": str(p.id), "href": f"http://testserver/tmf-api/productCatalogManagement/v4/productOfferingPrice/{p.id}",
            "@referredType": "ProductOfferingPrice"}
        for p in offer.prices
    }
    r = client.post(ORDERS, json=order_body(account.id, (offer.id, MSISDN)))
    assert r.status_code == 201, r.text
    order = r.json()
    assert r.headers["Location"] == order["href"] == f"http://testserver{ORDERS}/{order['id']}"
    assert (order["@type"], order["state"], order["orderDate"], order["completionDate"]) == (
        "ProductOrder", "completed", "2026-10-01T09:00:00Z", "2026-10-01T09:00:00Z")
    assert "requestedStartDate" not in order
    assert order["billingAccount"]["id"] == str(account.id)
    assert order["billingAccount"]["href"].endswith(f"/tmf-api/accountManagement/v4/billingAccount/{account.id}")
    (item,) = order["productOrderItem"]
    assert (item["id"], item["action"], item["state"], item["productOffering"]["id"]) == (
        "1", "add", "completed", str(offer.id))  # the client's item id
    assert item["product"]["productCharacteristic"] == [{"name": "serviceId", "valueType": "string", "value": MSISDN}]
    assert client.get(f"{ORDERS}/{order['id']}").json() == order

    r = client.get(item["product"]["href"].removeprefix("http://testserver"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": item["product"]["id"],
        "href": item["product"]["href"],
        "@type": "Product",
        "status": "active",
        "orderDate": "2026-10-01T09:00:00Z",
        "startDate": "2026-10-01T09:00:00Z",  # no requestedStartDate: starts when ordered (the clock)
        "productOffering": item["productOffering"],
        "billingAccount": order["billingAccount"],
        "productCharacteristic": [{"name": "serviceId", "valueType": "string", "value": MSISDN}],
        "productPrice": [  # the tariff it is charged now, in the account's currency
            {"priceType": "recurring", "recurringChargePeriod": "month",
             "price": {"dutyFreeAmount": {"unit": "EUR", "value": 30.0}}, "productOfferingPrice": prices["recurring"]},
            {"priceType": "usage", "unitOfMeasure": "1 second",
             "price": {"dutyFreeAmount": {"unit": "EUR", "value": 0.002}}, "productOfferingPrice": prices["voice"]},
            {"priceType": "usage", "unitOfMeasure": "1 message",
             "price": {"dutyFreeAmount": {"unit": "EUR", "value": 0.09}}, "productOfferingPrice": prices["sms"]},
            {"priceType": "usage", "unitOfMeasure": "1000000 byte",
             "price": {"dutyFreeAmount": {"unit": "EUR", "value": 0.01}}, "productOfferingPrice": prices["data"]},
        ],
        "relatedParty": [{"id": str(account.customer_id), "name": "Ada Lovelace", "role": "customer",
                          "@referredType": "Customer"}],
    }


def test_requested_start_is_the_product_start_in_utc(client, shop):
    account, offer = shop
    r = client.post(ORDERS, json=order_body(account.id, (offer.id, MSISDN), start="2026-10-10T00:00:00+02:00"))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["requestedStartDate"] == "2026-10-09T22:00:00Z"
    product = client.get(order["productOrderItem"][0]["product"]["href"].removeprefix("http://testserver")).json()
    assert product["startDate"] == "2026-10-09T22:00:00Z"


def test_lists_page_and_filter(client, shop, uow):
    account, offer = shop
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")
    for n in range(3):
        assert client.post(ORDERS, json=order_body(account.id, (offer.id, f"+4915100000{n}"))).status_code == 201
    r = client.post(ORDERS, json=order_body(other.id, (offer.id, "+49151999"), (offer.id, "DSL-0001")))
    assert r.status_code == 201, r.text
    assert [i["product"]["productCharacteristic"][0]["value"] for i in r.json()["productOrderItem"]] == [
        "+49151999", "DSL-0001"]  # items come back in the order sent

    r = client.get(ORDERS, params={"billingAccountId": str(account.id), "offset": 1, "limit": 1})
    assert (r.headers["X-Total-Count"], r.headers["X-Result-Count"]) == ("3", "1")
    r = client.get(PRODUCTS, params={"billingAccountId": str(other.id), "fields": "status"})
    assert r.headers["X-Total-Count"] == "2"
    assert [set(p) for p in r.json()] == [{"id", "href", "@type", "status"}] * 2
    assert client.get(PRODUCTS, params={"status": "active"}).headers["X-Total-Count"] == "5"
    assert client.get(PRODUCTS, params={"status": "terminated"}).json() == []
    assert client.get(ORDERS, params={"state": "completed"}).headers["X-Total-Count"] == "4"

    r = client.get(PRODUCTS, params={"billingAccountId": "not-an-id"})
    assert r.status_code == 422 and r.json()["message"] == "billingAccountId='not-an-id' is not a valid id"


def test_a_duplicate_active_service_id_is_409_and_writes_nothing(client, shop):
    account, offer = shop
    assert client.post(ORDERS, json=order_body(account.id, (offer.id, MSISDN))).status_code == 201
    # the first item is fine; the second names a number already in use, so neither is ordered
    r = client.post(ORDERS, json=order_body(account.id, (offer.id, "+491510000000"), (offer.id, MSISDN)))
    assert r.status_code == 409, r.text
    assert r.json()["message"].startswith(
        f"productOrderItem[1].product.productCharacteristic.serviceId='{MSISDN}' is already the service id of live "
        "product ")
    assert counts(client) == ("1", "1")


def item(offering_id, service_id=None, **extra) -> dict:
    product = {"productCharacteristic": [{"name": "serviceId", "value": service_id}]} if service_id is not None else {}
    return {"id": "1", "action": "add", "productOffering": {"id": str(offering_id)}, "product": product, **extra}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda a, o: order_body(a, (uuid.UUID(int=7), MSISDN)),
         "productOrderItem[0].productOffering.id='00000000-0000-0000-0000-000000000007': no productOffering with id"),
        (lambda a, o: order_body(a) | {"productOrderItem": [item(o)]},
         "productOrderItem[0].product.productCharacteristic.serviceId=None is required on an add item"),
        (lambda a, o: order_body(a) | {"productOrderItem": [item("bad", MSISDN)]},
         "productOrderItem[0].productOffering.id='bad' is not a valid id"),
        (lambda a, o: order_body(uuid.UUID(int=9), (o, MSISDN)),
         "billingAccount.id='00000000-0000-0000-0000-000000000009': no billingAccount with id"),
        (lambda a, o: order_body(a, (o, "  ")),
         "productOrderItem[0].product.productCharacteristic.serviceId='  ' must not be empty"),
        (lambda a, o: order_body(a, (o, 4915112)),
         "productOrderItem[0].product.productCharacteristic.serviceId=4915112 must be a string"),
        (lambda a, o: order_body(a, (o, MSISDN), (o, MSISDN)),
         f"productOrderItem[1].product.productCharacteristic.serviceId='{MSISDN}' is also ordered by "
         "productOrderItem[0]"),
        (lambda a, o: order_body(a), "productOrderItem=[] must hold at least one item"),
        (lambda a, o: order_body(a) | {"productOrderItem": [item(o, MSISDN, action="delete")]},
         "productOrderItem[0].product.id=None is required on a delete item"),
        (lambda a, o: order_body(a) | {"productOrderItem": [item(o, MSISDN, action="replace")]},
         "productOrderItem[0].action='replace' must be one of add, modify, delete, noChange"),
        (lambda a, o: order_body(a) | {"productOrderItem": [item(o, MSISDN), item(o, "+49151000")]},
         "productOrderItem[1].id='1' is also the id of productOrderItem[0]"),
        (lambda a, o: order_body(a) | {"productOrderItem": [{"id": "1", "action": "add", "product": {
            "productCharacteristic": [{"name": "serviceId", "value": MSISDN}]}}]},
         "productOrderItem[0].productOffering.id=None is required"),
    ],
    ids=["unknown-offering", "no-service-id", "offering-id-not-uuid", "unknown-account", "empty-service-id",
         "service-id-not-text", "same-service-id-twice", "no-items", "delete-without-product", "unknown-action",
         "same-item-id-twice", "add-without-offering"],
)
def test_bad_orders_are_422_naming_the_field_and_write_nothing(client, shop, make, message):
    account, offer = shop
    r = client.post(ORDERS, json=make(account.id, offer.id))
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(message), r.json()["message"]
    assert counts(client) == ("0", "0")


def test_an_offering_without_a_price_in_the_account_currency_is_422(client, shop, uow):
    _, offer = shop
    with uow() as u:
        swiss = factories.account(u, currency="CHF", country="CH", time_zone="Europe/Zurich")
    r = client.post(ORDERS, json=order_body(swiss.id, (offer.id, MSISDN)))
    assert r.status_code == 422
    assert r.json()["message"] == (
        f"productOrderItem[0].productOffering.id='{offer.id}' has no price in CHF, the currency of billing account "
        f"{swiss.number}")


def test_a_retired_offering_cannot_be_ordered(client, shop):
    account, _ = shop
    r = client.post("/tmf-api/productCatalogManagement/v4/productOffering", json={
        "name": "Old tariff", "lifecycleStatus": "retired",
        "productOfferingPrice": [{"priceType": "recurring", "price": {"unit": "EUR", "value": "9.99"}}]})
    old = r.json()["id"]
    r = client.post(ORDERS, json=order_body(account.id, (old, MSISDN)))
    assert r.status_code == 422
    assert r.json()["message"] == f"productOrderItem[0].productOffering.id='{old}' is retired, not orderable"


@pytest.mark.parametrize(
    "body",
    [b'{"billingAccount": ', b'{"billingAccount": {"id": "x"}}', b'{"productOrderItem": [], "relatedParty": [{"id": "x"}]}',
     b'{"billingAccount": {"id": "x"}, "productOrderItem": [], "requestedStartDate": "2026-10-10T00:00:00"}',
     b'{"billingAccount": {"id": "x"}, "productOrderItem": [{"id": "1", "action": ["add"]}]}'],
    ids=["not-json", "no-items", "party-without-type", "start-without-offset", "action-not-text"],
)
def test_a_malformed_order_is_400(client, body):
    r = client.post(ORDERS, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_BODY"


def test_unknown_ids_are_404(client):
    assert client.get(f"{ORDERS}/{uuid.UUID(int=1)}").status_code == 404
    assert client.get(f"{PRODUCTS}/{uuid.UUID(int=1)}").status_code == 404
    assert client.get(f"{PRODUCTS}/nope").status_code == 404


def test_find_active_product_covers_the_products_life_only(uow, shop):
    account, offer = shop
    start = datetime(2026, 10, 10, tzinfo=UTC)
    with uow() as u:
        product = factories.subscribe(u, account.id, offer.id, MSISDN, start)
    with uow() as u:
        assert ordering.find_active_product(u, MSISDN, datetime(2026, 10, 9, 23, 59, 59, tzinfo=UTC)) is None
        assert ordering.find_active_product(u, MSISDN, start) == product  # the start instant belongs to it
        assert ordering.find_active_product(u, MSISDN, datetime(2027, 3, 1, tzinfo=UTC)) == product
        assert ordering.find_active_product(u, "+491519999999", start) is None
        assert ordering.products_for_account(u, account.id) == [product]
    assert product.is_active_at(start) and not product.is_active_at(datetime(2026, 10, 1, tzinfo=UTC))


def test_order_and_products_are_audited(uow, shop):
    account, offer = shop
    with uow() as u:
        product = factories.subscribe(u, account.id, offer.id, MSISDN)
        order_entries = trail(u, product.order_id)
        (product_entry,) = trail(u, product.id)
    assert [(e["action"], e["actor"]) for e in order_entries] == [
        ("productOrder.created", "test"), ("productOrder.completed", "test")]
    assert (order_entries[0]["after"]["state"], order_entries[1]["after"]) == ("acknowledged", {"state": "completed"})
    assert product_entry["action"] == "product.created"
    assert product_entry["after"]["service_id"] == MSISDN


def test_an_ineligible_offering_is_refused_with_the_reason(client, shop):
    account, _ = shop  # a DE account of a customer without segment
    offering = {"name": "Web only", "lifecycleStatus": "active", "productOfferingPrice": [
        {"priceType": "recurring", "price": {"unit": "EUR", "value": "9.99"}}]}
    web = client.post("/tmf-api/productCatalogManagement/v4/productOffering",
                      json=offering | {"channel": [{"id": "web"}]}).json()["id"]
    french = client.post("/tmf-api/productCatalogManagement/v4/productOffering",
                         json=offering | {"place": [{"id": "FR"}]}).json()["id"]
    r = client.post(ORDERS, json=order_body(account.id, (french, MSISDN)))
    assert (r.status_code, r.json()["message"]) == (
        422, f"productOrderItem[0].productOffering.id='{french}' is sold in FR, not DE")
    r = client.post(ORDERS, json=order_body(account.id, (web, MSISDN)) | {"channel": [{"id": "shop"}]})
    assert (r.status_code, r.json()["message"]) == (
        422, f"productOrderItem[0].productOffering.id='{web}' is sold through web, not shop")
    assert counts(client) == ("0", "0")
    r = client.post(ORDERS, json=order_body(account.id, (web, MSISDN)) | {"channel": [{"id": "web"}]})
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == [{"id": "web", "@referredType": "Channel"}]

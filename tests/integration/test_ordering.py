"""TMF622 orders and TMF637 products: an order completes at once into active products, or writes nothing."""

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
    assert (item["action"], item["state"], item["productOffering"]["id"]) == ("add", "completed", str(offer.id))
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
        f"productOrderItem[1].product.productCharacteristic.serviceId='{MSISDN}' is already the service id of active "
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
         "productOrderItem[0].product.productCharacteristic=0 must hold exactly one serviceId"),
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
         "productOrderItem[0].action='delete' must be one of add"),
    ],
    ids=["unknown-offering", "no-service-id", "offering-id-not-uuid", "unknown-account", "empty-service-id",
         "service-id-not-text", "same-service-id-twice", "no-items", "not-add"],
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
    [b'{"billingAccount": ', b'{"billingAccount": {"id": "x"}}', b'{"productOrderItem": []}',
     b'{"billingAccount": {"id": "x"}, "productOrderItem": [], "requestedStartDate": "2026-10-10T00:00:00"}',
     b'{"billingAccount": {"id": "x"}, "productOrderItem": [{"id": "1"}]}'],
    ids=["not-json", "no-items", "no-account", "start-without-offset", "item-without-offering"],
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
        (order_entry,) = trail(u, product.order_id)
        (product_entry,) = trail(u, product.id)
    assert (order_entry["action"], order_entry["actor"]) == ("productOrder.created", "test")
    assert product_entry["action"] == "product.created"
    assert product_entry["after"]["service_id"] == MSISDN

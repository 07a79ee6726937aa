"""TMF622 beyond the happy path: captured orders, PATCH and DELETE, future-dated orders completed by the
scheduler, cancellation, modify / delete / noChange items, and items that fail when they fall due."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openbss.ordering import service as ordering
from tests import factories
from tests.tmf_spec import spec_errors

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
PRODUCTS = "/tmf-api/productInventory/v4/product"
MERGE = {"Content-Type": "application/merge-patch+json"}
MSISDN = "+491511234567"
START = datetime(2026, 10, 10, 8, tzinfo=UTC)  # the clock stands at 2026-10-01T09:00Z


@pytest.fixture
def shop(uow):
    with uow() as u:
        return factories.account(u), factories.offering(u), factories.offering(u, name="Mobile L", monthly="45.00")


def add(offering_id, service_id, label="1", **extra):
    return {"id": label, "action": "add", "productOffering": {"id": str(offering_id)},
            "product": {"productCharacteristic": [{"name": "serviceId", "value": service_id}]}, **extra}


def change(action, product_id, label="1", offering_id=None):
    item = {"id": label, "action": action, "product": {"id": str(product_id)}}
    if offering_id is not None:
        item["productOffering"] = {"id": str(offering_id)}
    return item


def post(client, account_id, *items, status=201, **extra):
    body = {"billingAccount": {"id": str(account_id)}, "productOrderItem": list(items), **extra}
    r = client.post(ORDERS, json=body)
    assert r.status_code == status, r.text
    return r.json()


def patch(client, path, body, status=200):
    r = client.patch(path, json=body, headers=MERGE)
    assert r.status_code == status, r.text
    return r.json()


def test_an_order_without_account_is_captured_and_submitted_by_patch(client, shop):
    account, offer, _ = shop
    # The CTK's order: no account, an item without offering, a party of another system
    r = client.post(ORDERS, json={"productOrderItem": [{"id": "123", "action": "add"}],
                                  "relatedParty": [{"id": "456-dd-df45", "@referredType": "Individual"}],
                                  "externalId": "crm-77", "priority": "1"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert spec_errors("TMF622-ProductOrder-v4.0.0", "ProductOrder", order) == []
    assert (order["state"], order["relatedParty"], order["productOrderItem"]) == (
        "acknowledged", [{"id": "456-dd-df45", "@referredType": "Individual"}],
        [{"id": "123", "action": "add", "state": "acknowledged"}])
    assert "billingAccount" not in order and client.get(PRODUCTS).json() == []
    path = f"{ORDERS}/{order['id']}"

    # submitting before the order is complete names what is missing and changes nothing
    r = client.patch(path, json={"state": "inProgress"}, headers=MERGE)
    assert (r.status_code, r.json()["message"]) == (422, "billingAccount=None is required to submit the order")

    done = patch(client, path, {"billingAccount": {"id": str(account.id)}, "productOrderItem": [add(offer.id, MSISDN)],
                                "state": "inProgress"})
    assert (done["state"], done["completionDate"], done["externalId"]) == ("completed", "2026-10-01T09:00:00Z", "crm-77")
    (item,) = done["productOrderItem"]
    product = client.get(f"{PRODUCTS}/{item['product']['id']}").json()
    assert product["status"] == "active"
    assert product["relatedParty"] == [  # the account's customer, then the parties the order named
        {"id": str(account.customer_id), "name": "Ada Lovelace", "role": "customer", "@referredType": "Customer"},
        {"id": "456-dd-df45", "@referredType": "Individual"}]
    assert client.get(path).json() == done


def test_patch_rules(client, shop):
    account, offer, _ = shop
    order = post(client, account.id, add(offer.id, MSISDN))
    path = f"{ORDERS}/{order['id']}"
    r = client.patch(path, json={"productOrderItem": [add(offer.id, "+49151000")]}, headers=MERGE)
    assert (r.status_code, r.json()["message"]) == (
        409, f"productOrder {order['id']} is completed; only an acknowledged order can change its items, billing "
             "account or dates")
    r = client.patch(path, json={"completionDate": "2026-01-01T00:00:00Z"}, headers=MERGE)
    assert r.status_code == 422 and r.json()["message"].startswith(
        "completionDate='2026-01-01T00:00:00Z' cannot be changed; patchable: billingAccount, productOrderItem")
    r = client.patch(path, json={"state": "completed"}, headers=MERGE)
    assert (r.status_code, r.json()["message"]) == (
        422, "state='completed' can only be set to inProgress or cancelled; fulfilment sets the others")
    r = client.patch(path, content=b'{"note": []}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.patch(path, content=b'{"note": ', headers=MERGE)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_BODY"
    # annotations may change in any state; null removes one (merge patch)
    assert patch(client, path, {"description": "porting", "note": [{"text": "call back"}]})["description"] == "porting"
    after = patch(client, path, {"description": None})
    assert "description" not in after and after["note"] == [{"text": "call back"}]
    assert client.patch(f"{ORDERS}/00000000-0000-0000-0000-000000000001", json={}, headers=MERGE).status_code == 404


def test_only_a_captured_order_can_be_deleted(client, shop):
    account, offer, _ = shop
    captured = client.post(ORDERS, json={"productOrderItem": [{"id": "1", "action": "add"}]}).json()
    assert client.delete(f"{ORDERS}/{captured['id']}").status_code == 204
    assert client.get(f"{ORDERS}/{captured['id']}").status_code == 404
    done = post(client, account.id, add(offer.id, MSISDN))
    r = client.delete(f"{ORDERS}/{done['id']}")
    assert (r.status_code, r.json()["message"]) == (
        409, f"productOrder {done['id']} is completed; only an acknowledged order can be deleted (cancel it instead)")


def test_a_future_dated_order_waits_for_its_start(client, shop, uow, clock):
    account, offer, _ = shop
    order = post(client, account.id, add(offer.id, MSISDN), requestedStartDate="2026-10-10T10:00:00+02:00")
    assert (order["state"], order["productOrderItem"][0]["state"]) == ("inProgress", "inProgress")
    product_path = f"{PRODUCTS}/{order['productOrderItem'][0]['product']['id']}"
    assert client.get(product_path).json()["status"] == "pendingActive"
    # the number is reserved: nobody else can order it meanwhile
    r = client.post(ORDERS, json={"billingAccount": {"id": str(account.id)}, "productOrderItem": [add(offer.id, MSISDN)]})
    assert r.status_code == 409

    with uow() as u:
        assert ordering.complete_due_orders(u, datetime(2026, 10, 10, 7, 59, 59, tzinfo=UTC)) == []
    clock.move_to(datetime(2026, 10, 10, 8, 5, tzinfo=UTC))  # the scheduler runs five minutes late
    with uow() as u:
        (done,) = ordering.complete_due_orders(u, clock.now())
        assert ordering.complete_due_orders(u, clock.now()) == []  # twice is harmless
        events = ordering.product_events(u, account.id, datetime(2027, 1, 1, tzinfo=UTC))
    assert (done.state, done.completed_at) == ("completed", clock.now())
    assert [(e.kind, e.at, e.details["orderId"]) for e in events] == [("activated", START, order["id"])]
    assert client.get(product_path).json()["status"] == "active"
    assert client.get(f"{ORDERS}/{order['id']}").json()["state"] == "completed"


def test_cancelling_a_waiting_order_frees_its_numbers(client, shop, uow):
    account, offer, _ = shop
    order = post(client, account.id, add(offer.id, MSISDN), requestedStartDate="2026-10-10T08:00:00Z")
    path = f"{ORDERS}/{order['id']}"
    cancelled = patch(client, path, {"state": "cancelled", "cancellationReason": "customer changed their mind"})
    assert (cancelled["state"], cancelled["cancellationDate"], cancelled["cancellationReason"]) == (
        "cancelled", "2026-10-01T09:00:00Z", "customer changed their mind")
    assert [i["state"] for i in cancelled["productOrderItem"]] == ["cancelled"]
    product = client.get(f"{PRODUCTS}/{order['productOrderItem'][0]['product']['id']}").json()
    # its life shrank to nothing: no day of it is ever billed, no usage is ever its own
    assert (product["status"], product["startDate"], product["terminationDate"]) == (
        "cancelled", "2026-10-10T08:00:00Z", "2026-10-10T08:00:00Z")
    with uow() as u:
        assert ordering.find_active_product(u, MSISDN, START) is None
        assert ordering.product_events(u, account.id, datetime(2027, 1, 1, tzinfo=UTC)) == []
    post(client, account.id, add(offer.id, MSISDN))  # the number is free again
    r = client.patch(path, json={"state": "cancelled"}, headers=MERGE)
    assert (r.status_code, r.json()["message"]) == (
        409, f"productOrder {order['id']} is cancelled; it cannot become pendingCancellation")


def test_modify_delete_and_no_change_items(client, shop, uow, clock):
    account, small, large = shop
    first = post(client, account.id, add(small.id, MSISDN), add(small.id, "+49151000", label="2"))
    p1, p2 = (i["product"]["id"] for i in first["productOrderItem"])
    clock.move_to(datetime(2026, 10, 10, 12, tzinfo=UTC))
    order = post(client, account.id, change("modify", p1, "a", large.id), change("delete", p2, "b"),
                 {"id": "c", "action": "noChange", "product": {"id": p1}}, status=422)
    assert order["message"] == f"productOrderItem[2].product.id='{p1}' is also named by productOrderItem[0]"
    order = post(client, account.id, change("modify", p1, "a", large.id), change("delete", p2, "b"))
    assert order["state"] == "completed"
    upgraded = client.get(f"{PRODUCTS}/{p1}").json()
    assert (upgraded["productOffering"]["id"], upgraded["productCharacteristic"][0]["value"]) == (str(large.id), MSISDN)
    ended = client.get(f"{PRODUCTS}/{p2}").json()
    assert (ended["status"], ended["terminationDate"]) == ("terminated", "2026-10-10T12:00:00Z")
    with uow() as u:
        events = ordering.product_events(u, account.id, datetime(2027, 1, 1, tzinfo=UTC))
    assert [(e.kind, str(e.product_id), e.at) for e in events] == [
        ("activated", p1, datetime(2026, 10, 1, 9, tzinfo=UTC)), ("activated", p2, datetime(2026, 10, 1, 9, tzinfo=UTC)),
        ("upgraded", p1, clock.now()), ("cancelled", p2, clock.now())]
    assert (events[2].from_offering_id, events[2].offering_id) == (small.id, large.id)

    r = post(client, account.id, change("delete", p2), status=409)
    assert r["message"] == f"product {p2} is terminated; it cannot become terminated"
    r = post(client, account.id, change("modify", p2, offering_id=small.id), status=409)
    assert r["message"] == f"product {p2} is terminated; only an active product can change its offering"
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")
    r = post(client, other.id, change("delete", p1), status=422)
    assert r["message"] == f"productOrderItem[0].product.id='{p1}' is a product of another billing account than " \
                           f"{other.number}"
    r = post(client, account.id, change("modify", p1, offering_id=large.id), status=422)
    assert r["message"] == f"productOrderItem[0].productOffering.id='{large.id}' is already the offering of product {p1}"


def test_a_due_item_that_can_no_longer_apply_fails_alone(client, shop, uow, clock):
    account, small, large = shop
    first = post(client, account.id, add(small.id, MSISDN), add(small.id, "+49151000", label="2"))
    p1, p2 = (i["product"]["id"] for i in first["productOrderItem"])
    order = post(client, account.id, change("modify", p1, "up", large.id), change("delete", p2, "end"),
                 requestedStartDate="2026-11-01T00:00:00Z")
    assert order["state"] == "inProgress"
    patch(client, f"{PRODUCTS}/{p1}", {"status": "terminated"})  # meanwhile, care ends product 1
    clock.move_to(datetime(2026, 11, 1, tzinfo=UTC))
    with uow() as u:
        (done,) = ordering.complete_due_orders(u, clock.now())
    assert done.state == "partial"
    assert [(i.label, i.state) for i in done.items] == [("up", "failed"), ("end", "completed")]
    assert done.notes == ({"author": "openbss", "date": "2026-11-01T00:00:00Z",
                           "text": f"productOrderItem up failed: product {p1} is terminated; only an active product "
                                   "can change its offering"},)
    assert client.get(f"{PRODUCTS}/{p1}").json()["productOffering"]["id"] == str(small.id)  # nothing half-applied


def test_list_filters_by_id_and_order_date(client, shop, clock):
    account, offer, _ = shop
    first = post(client, account.id, add(offer.id, MSISDN))
    clock.move_to(datetime(2026, 10, 2, 9, 0, 0, 123456, tzinfo=UTC))
    second = post(client, account.id, add(offer.id, "+49151000"), externalId="crm-2")
    assert [o["id"] for o in client.get(ORDERS, params={"id": first["id"]}).json()] == [first["id"]]
    assert second["orderDate"] == "2026-10-02T09:00:00.123456Z"
    assert [o["id"] for o in client.get(ORDERS, params={"orderDate": second["orderDate"]}).json()] == [second["id"]]
    assert [o["id"] for o in client.get(ORDERS, params={"externalId": "crm-2"}).json()] == [second["id"]]
    r = client.get(ORDERS, params={"orderDate": "yesterday"})
    assert (r.status_code, r.json()["message"]) == (422, "orderDate='yesterday' is not an ISO 8601 date-time")
    products = client.get(PRODUCTS, params={"id": second["productOrderItem"][0]["product"]["id"]}).json()
    assert [p["productCharacteristic"][0]["value"] for p in products] == ["+49151000"]


def test_order_changes_are_tmf688_events(client, shop, engine, uow, clock):
    import sqlalchemy as sa

    from openbss.events.tables import outbox_event

    account, offer, _ = shop
    captured = client.post(ORDERS, json={"productOrderItem": [{"id": "1", "action": "add"}]}).json()
    patch(client, f"{ORDERS}/{captured['id']}", {"billingAccount": {"id": str(account.id)},
                                                 "productOrderItem": [add(offer.id, MSISDN)], "state": "inProgress"})
    waiting = post(client, account.id, add(offer.id, "+49151000"), requestedStartDate="2026-10-10T08:00:00Z")
    clock.move_to(START)
    with uow() as u:
        ordering.complete_due_orders(u, START)
    dropped = client.post(ORDERS, json={"productOrderItem": [{"id": "1", "action": "add"}]}).json()
    assert client.delete(f"{ORDERS}/{dropped['id']}").status_code == 204
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox_event.c.resource_id, outbox_event.c.event_type, outbox_event.c.payload)
                            .where(outbox_event.c.resource_type == "productOrder").order_by(outbox_event.c.id)).all()
    assert [(str(r.resource_id), r.event_type) for r in rows] == [
        (captured["id"], "ProductOrderCreateEvent"),
        (captured["id"], "ProductOrderAttributeValueChangeEvent"),
        (captured["id"], "ProductOrderStateChangeEvent"),
        (waiting["id"], "ProductOrderCreateEvent"),
        (waiting["id"], "ProductOrderStateChangeEvent"),
        (dropped["id"], "ProductOrderCreateEvent"),
        (dropped["id"], "ProductOrderDeleteEvent"),
    ]
    # each carries the order as it committed
    assert [r.payload["event"]["productOrder"]["state"] for r in rows] == [
        "acknowledged", "completed", "completed", "inProgress", "completed", "acknowledged", "acknowledged"]
